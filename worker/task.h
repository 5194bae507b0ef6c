/* task.h — running one connector task on its own thread (DESIGN.md: tasks call blocking
 * libraries, so a thread each keeps one slow system from stalling the rest). */
#ifndef CD_TASK_H
#define CD_TASK_H

#include "plugin.h"

#include <jansson.h>
#include <pthread.h>

struct offstore;
struct statstore;

/* The worker's shared services, borrowed by every task. */
struct worker_ctx {
    json_t *wconf;
    struct offstore *offsets;
    struct statstore *status;
    const char *worker_id;
};

struct task;

/* Starts task id of connector conn on a new thread. conn_conf and task_conf are copied.
 * The task reports RUNNING/PAUSED/FAILED to the status store itself. */
struct task *task_launch(const struct worker_ctx *w, const struct connector_plugin *p,
                         const char *conn, int id, json_t *conn_conf, json_t *task_conf,
                         int paused);
void task_set_paused(struct task *t, int paused);
/* Asks the task to stop, waits up to timeout_ms, then frees it (a task that does not stop in
 * time is abandoned and frees itself when its thread ends). */
void task_shutdown(struct task *t, int timeout_ms);
json_t *task_config(const struct task *t); /* borrowed */
int task_failed(const struct task *t);

/* ---- for task_source.c / task_sink.c ---- */
/* task_ctx.put_keep: the put called task_put_keep, or task_put_keep_more. */
enum { PUT_KEEP_NONE = 0, PUT_KEEP_THIS, PUT_KEEP_MORE };

struct task_ctx {
    const struct worker_ctx *w;
    const struct connector_plugin *p;
    char *conn;
    int id;
    json_t *conn_conf;
    json_t *task_conf;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    volatile int stop;
    volatile int paused;
    int flush_final; /* the sink flush running is for a revocation or the stop */
    size_t batch_max; /* sink: most records per put, 0 = SINK_BATCH_MAX */
    int put_keep;     /* sink: what the put running asked to keep (PUT_KEEP_*) */
    int abandoned;
    int failed;
    char error[2048];
    pthread_t thread;
    struct errh *errh; /* errors.* handling for this task (errors.h) */
    struct converter *lazy_values; /* sink: converts pending values (task_record_value) */
};

/* Writes the task's state to the status store unless it was asked to stop. */
void task_report(struct task_ctx *t, const char *state, const char *trace);
/* Marks the task FAILED with "<what>: <error>" as its trace. */
void task_fail_with(struct task_ctx *t, const char *what);
/* Blocks while paused (reporting PAUSED, then RUNNING on resume). Returns 1 when stopping. */
int task_wait_unpaused(struct task_ctx *t);
/* Sleeps up to ms, returns early on stop. */
void task_sleep(struct task_ctx *t, int ms);

struct converter;
struct transform_chain;
struct errh;
/* The record path both task kinds share: key/value converters, the transform chain and the
 * error handler (also set as t->errh), from the connector and worker configs. 0, or -1 with
 * the task error set (the caller frees what was made). */
int task_open_pipeline(struct task_ctx *t, struct converter **kc, struct converter **vc,
                       struct transform_chain **chain, struct errh **errh);

void task_source_run(struct task_ctx *t);
void task_sink_run(struct task_ctx *t);

#endif
