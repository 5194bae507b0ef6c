/* task.c — task threads: lifecycle, status reporting, the plugin-facing task_* API. */
#define _GNU_SOURCE
#include "task.h"

#include "converter.h"
#include "deadline.h"
#include "errors.h"
#include "log.h"
#include "stores.h"
#include "transform.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t task_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *task_connector_name(const struct task_ctx *t)
{
    return t->conn;
}

int task_id(const struct task_ctx *t)
{
    return t->id;
}

int task_stopping(const struct task_ctx *t)
{
    return t->stop;
}

void task_set_batch_max(struct task_ctx *t, size_t n)
{
    t->batch_max = n;
}

void task_put_keep(struct task_ctx *t)
{
    t->put_keep = PUT_KEEP_THIS;
}

void task_put_keep_more(struct task_ctx *t)
{
    t->put_keep = PUT_KEEP_MORE;
}

int task_flush_final(const struct task_ctx *t)
{
    return t->flush_final;
}

void task_set_error(struct task_ctx *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof(t->error), fmt, ap);
    va_end(ap);
}

void task_log(const struct task_ctx *t, int level, const char *fmt, ...)
{
    if (!log_enabled(LOGS_CONNECTOR, level))
        return;
    char msg[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOGS_CONNECTOR, level, "[connector %s task %d] %s", t->conn, t->id, msg);
}

json_t *task_offset_get(struct task_ctx *t, json_t *source_partition)
{
    return offstore_get(t->w->offsets, t->conn, source_partition);
}

void task_report(struct task_ctx *t, const char *state, const char *trace)
{
    if (t->stop)
        return; /* the herder owns the status from here on */
    statstore_put_task(t->w->status, t->conn, t->id, state, trace);
}

void task_fail_with(struct task_ctx *t, const char *what)
{
    char trace[2600];
    snprintf(trace, sizeof(trace), "%s: %s", what, t->error[0] ? t->error : "unknown error");
    log_error(LOGS_TASK, "[connector %s task %d] FAILED: %s", t->conn, t->id, trace);
    t->failed = 1;
    task_report(t, "FAILED", trace);
}

int task_wait_unpaused(struct task_ctx *t)
{
    if (!t->paused)
        return t->stop;
    task_report(t, "PAUSED", NULL);
    pthread_mutex_lock(&t->lock);
    while (t->paused && !t->stop)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
    if (!t->stop)
        task_report(t, "RUNNING", NULL);
    return t->stop;
}

void task_sleep(struct task_ctx *t, int ms)
{
    struct timespec ts;
    cd_deadline(&ts, ms);
    pthread_mutex_lock(&t->lock);
    while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&t->lock);
}

static void task_free(struct task_ctx *t)
{
    json_decref(t->conn_conf);
    json_decref(t->task_conf);
    free(t->conn);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}

static void *task_main(void *arg)
{
    struct task_ctx *t = arg;
    log_info(LOGS_TASK, "[connector %s task %d] starting", t->conn, t->id);
    if (t->p->type == PLUGIN_SOURCE)
        task_source_run(t);
    else
        task_sink_run(t);
    log_info(LOGS_TASK, "[connector %s task %d] stopped", t->conn, t->id);
    pthread_mutex_lock(&t->lock);
    int abandoned = t->abandoned;
    pthread_mutex_unlock(&t->lock);
    if (abandoned)
        task_free(t);
    return NULL;
}

struct task *task_launch(const struct worker_ctx *w, const struct connector_plugin *p,
                         const char *conn, int id, json_t *conn_conf, json_t *task_conf,
                         int paused)
{
    struct task_ctx *t = calloc(1, sizeof(*t));
    t->w = w;
    t->p = p;
    t->conn = strdup(conn);
    t->id = id;
    t->conn_conf = json_deep_copy(conn_conf);
    t->task_conf = json_deep_copy(task_conf);
    t->paused = paused;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    if (pthread_create(&t->thread, NULL, task_main, t)) {
        log_error(LOGS_TASK, "[connector %s task %d] cannot create thread", conn, id);
        statstore_put_task(w->status, conn, id, "FAILED", "cannot create task thread");
        task_free(t);
        return NULL;
    }
    return (struct task *)t;
}

void task_set_paused(struct task *task, int paused)
{
    struct task_ctx *t = (struct task_ctx *)task;
    pthread_mutex_lock(&t->lock);
    t->paused = paused;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

json_t *task_config(const struct task *task)
{
    return ((const struct task_ctx *)task)->task_conf;
}

int task_failed(const struct task *task)
{
    return ((const struct task_ctx *)task)->failed;
}

void task_shutdown(struct task *task, int timeout_ms)
{
    struct task_ctx *t = (struct task_ctx *)task;
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    struct timespec ts;
    cd_deadline(&ts, timeout_ms);
    if (!pthread_timedjoin_np(t->thread, NULL, &ts)) {
        task_free(t);
        return;
    }
    log_warn(LOGS_TASK, "[connector %s task %d] did not stop within %d ms; abandoning it", t->conn,
             t->id, timeout_ms);
    pthread_mutex_lock(&t->lock);
    t->abandoned = 1;
    pthread_detach(t->thread);
    pthread_mutex_unlock(&t->lock);
}

int task_open_pipeline(struct task_ctx *t, struct converter **kc, struct converter **vc,
                       struct transform_chain **chain, struct errh **errh)
{
    char err[1024];
    *kc = converter_new(t->conn_conf, t->w->wconf, "key.converter", err, sizeof(err));
    *vc = *kc ? converter_new(t->conn_conf, t->w->wconf, "value.converter", err, sizeof(err))
              : NULL;
    *chain = *vc ? transform_chain_new(t->conn_conf, err, sizeof(err)) : NULL;
    if (!*chain) {
        task_set_error(t, "%s", err);
        return -1;
    }
    *errh = t->errh = errh_new(t);
    return 0;
}
