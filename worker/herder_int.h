/* herder_int.h — herder internals shared by herder.c (state, reconcile) and
 * herder_ops.c (REST operations). Only the herder thread touches struct hconn. */
#ifndef CD_HERDER_INT_H
#define CD_HERDER_INT_H

#include "herder.h"
#include "plugin.h"
#include "stores.h"
#include "task.h"
#include "worker.h"

#include <pthread.h>

struct hconn {
    char *name;
    json_t *config;                       /* the config the runtime was started with */
    const struct connector_plugin *p;     /* NULL when the class is unknown */
    char target[16];                      /* STARTED, PAUSED, STOPPED */
    const char *state;                    /* last connector state written */
    char *trace;
    json_t *task_configs;                 /* configs of the running tasks */
    struct task **tasks;
    int ntasks;
    struct hconn *next;
};

struct hevent;

struct herder {
    struct worker_ctx *w;
    struct cfgstore *cs;
    int distributed;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* queue non-empty, or a request completed */
    struct hevent *head, *tail;
    volatile int stopping;
    volatile int ready;
    struct hconn *conns;
};

struct hconn *herder_find(struct herder *h, const char *name);
void herder_reconcile(struct herder *h, const char *name);
void herder_restart_connector(struct herder *h, struct hconn *c);
void herder_restart_task(struct herder *h, struct hconn *c, int id);
/* Runs one REST operation on the herder thread. */
int herder_handle(struct herder *h, const struct herder_req *req, json_t **reply);
json_t *herder_status_json(struct herder *h, const char *name, json_t *config);
const char *herder_type_name(json_t *config);

#endif
