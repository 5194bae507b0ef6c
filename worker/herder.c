/* herder.c — the herder thread: one queue of events (REST requests, config-store records);
 * it alone starts and stops tasks. Every decision is taken from the config store's view, so
 * a write takes effect when it is read back from the store, the same on every worker. */
#include "herder_int.h"

#include "connector_config.h"
#include "deadline.h"
#include "log.h"
#include "registry.h"
#include "worker_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REQUEST_TIMEOUT_S 90

enum hev_type { HEV_REQUEST, HEV_CONFIG };

struct hevent {
    enum hev_type type;
    char *name;             /* HEV_CONFIG: the connector; HEV_REQUEST: req.connector copy */
    struct herder_req req;  /* HEV_REQUEST: a copy owned by the event */
    json_t *reply;
    int status;
    int done;
    int abandoned;          /* the caller timed out; the herder frees the event */
    struct hevent *next;
};

json_t *herder_error(int status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:i s:s}", "error_code", status, "message", msg);
}

static void event_free(struct hevent *e)
{
    free(e->name);
    json_decref(e->req.body);
    json_decref(e->reply);
    free(e);
}

static void enqueue(struct herder *h, struct hevent *e)
{
    pthread_mutex_lock(&h->lock);
    if (h->tail)
        h->tail->next = e;
    else
        h->head = e;
    h->tail = e;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void on_config_record(void *opaque, const char *name)
{
    struct herder *h = opaque;
    struct hevent *e = calloc(1, sizeof(*e));
    e->type = HEV_CONFIG;
    e->name = strdup(name);
    enqueue(h, e);
}

static int call_direct(struct herder *h, const struct herder_req *req, json_t **reply)
{
    if (req->op == HOP_HEALTH) {
        *reply = h->ready ? json_pack("{s:s s:s}", "status", "healthy", "message",
                                      "Worker has completed startup and is ready to handle "
                                      "requests.")
                          : json_pack("{s:s s:s}", "status", "starting", "message",
                                      "Worker is still starting up.");
        return h->ready ? 200 : 503;
    }
    const char *cid = cfgstore_cluster_id(h->cs);
    *reply = json_pack("{s:s s:s s:o}", "version", CD_VERSION, "commit", CD_COMMIT,
                       "kafka_cluster_id", cid ? json_string(cid) : json_null());
    return 200;
}

int herder_call(struct herder *h, const struct herder_req *req, json_t **reply)
{
    *reply = NULL;
    if (req->op == HOP_HEALTH || req->op == HOP_ROOT)
        return call_direct(h, req, reply);
    struct hevent *e = calloc(1, sizeof(*e));
    e->type = HEV_REQUEST;
    e->req = *req;
    e->name = req->connector ? strdup(req->connector) : NULL;
    e->req.connector = e->name;
    e->req.body = json_incref(req->body);
    enqueue(h, e);
    struct timespec ts;
    cd_deadline(&ts, REQUEST_TIMEOUT_S * 1000);
    pthread_mutex_lock(&h->lock);
    while (!e->done)
        if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
            break;
    if (!e->done) {
        e->abandoned = 1;
        pthread_mutex_unlock(&h->lock);
        *reply = herder_error(500, "Request timed out");
        return 500;
    }
    pthread_mutex_unlock(&h->lock);
    int status = e->status;
    *reply = e->reply;
    e->reply = NULL;
    event_free(e);
    return status;
}

static void run_event(struct herder *h, struct hevent *e)
{
    if (e->type == HEV_CONFIG) {
        herder_reconcile(h, e->name);
        event_free(e);
        return;
    }
    json_t *reply = NULL;
    int status = herder_handle(h, &e->req, &reply);
    pthread_mutex_lock(&h->lock);
    e->status = status;
    e->reply = reply;
    e->done = 1;
    int abandoned = e->abandoned;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (abandoned)
        event_free(e);
}

static void *herder_main(void *arg)
{
    struct herder *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct hevent *e = h->head;
        if (!e) {
            pthread_cond_wait(&h->cond, &h->lock);
            continue;
        }
        h->head = e->next;
        if (!h->head)
            h->tail = NULL;
        pthread_mutex_unlock(&h->lock);
        run_event(h, e);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

struct hconn *herder_find(struct herder *h, const char *name)
{
    for (struct hconn *c = h->conns; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

const char *herder_type_name(json_t *config)
{
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    const struct connector_plugin *p = cls ? registry_find_connector(cls) : NULL;
    return !p ? "unknown" : p->type == PLUGIN_SINK ? "sink" : "source";
}

/* ---- reconcile: make the running tasks match the config store ---- */

static int grace_ms(struct herder *h)
{
    return (int)worker_int(h->w->wconf, "task.shutdown.graceful.timeout.ms");
}

static void stop_tasks(struct herder *h, struct hconn *c, int write_status)
{
    for (int i = 0; i < c->ntasks; i++) {
        task_shutdown(c->tasks[i], grace_ms(h));
        if (write_status)
            statstore_put_task(h->w->status, c->name, i, "UNASSIGNED", NULL);
    }
    free(c->tasks);
    c->tasks = NULL;
    c->ntasks = 0;
    json_decref(c->task_configs);
    c->task_configs = NULL;
}

static void set_state(struct herder *h, struct hconn *c, const char *state, const char *trace)
{
    if (c->state && !strcmp(c->state, state) && !trace && !c->trace)
        return;
    c->state = state;
    free(c->trace);
    c->trace = trace ? strdup(trace) : NULL;
    statstore_put_connector(h->w->status, c->name, state, trace);
    log_info(LOGS_HERDER, "connector %s is %s", c->name, state);
}

static void hconn_free(struct hconn *c)
{
    json_decref(c->config);
    json_decref(c->task_configs);
    free(c->tasks);
    free(c->trace);
    free(c->name);
    free(c);
}

static void remove_conn(struct herder *h, struct hconn *c)
{
    int ntasks = c->ntasks;
    stop_tasks(h, c, 0);
    statstore_delete(h->w->status, c->name, ntasks);
    for (struct hconn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    log_info(LOGS_HERDER, "connector %s deleted", c->name);
    hconn_free(c);
}

/* task.class as Kafka names it: the connector class with Connector replaced by Task. */
static void task_class(const char *cls, char *out, size_t n)
{
    size_t l = strlen(cls);
    if (l > 9 && !strcmp(cls + l - 9, "Connector"))
        snprintf(out, n, "%.*sTask", (int)(l - 9), cls);
    else
        snprintf(out, n, "%sTask", cls);
}

static json_t *desired_task_configs(struct hconn *c)
{
    int max = (int)cfg_get_int(c->config, connector_common_defs, "tasks.max", 1);
    json_t *tc = c->p->task_configs ? c->p->task_configs(c->config, max) : NULL;
    if (!tc) {
        tc = json_array();
        json_array_append_new(tc, json_deep_copy(c->config));
    }
    char cls[512];
    task_class(c->p->class_name, cls, sizeof(cls));
    size_t i;
    json_t *t;
    json_array_foreach(tc, i, t) json_object_set_new(t, "task.class", json_string(cls));
    return tc;
}

static void start_tasks(struct herder *h, struct hconn *c, json_t *committed)
{
    c->task_configs = json_deep_copy(committed);
    c->ntasks = (int)json_array_size(committed);
    c->tasks = calloc((size_t)c->ntasks + 1, sizeof(*c->tasks));
    for (int i = 0; i < c->ntasks; i++)
        c->tasks[i] = task_launch(h->w, c->p, c->name, i, c->config,
                                  json_array_get(committed, (size_t)i),
                                  !strcmp(c->target, "PAUSED"));
}

static void apply_target_to_tasks(struct hconn *c)
{
    int paused = !strcmp(c->target, "PAUSED");
    for (int i = 0; i < c->ntasks; i++)
        if (c->tasks[i])
            task_set_paused(c->tasks[i], paused);
}

static struct hconn *hconn_get(struct herder *h, const char *name)
{
    struct hconn *c = herder_find(h, name);
    if (!c) {
        c = calloc(1, sizeof(*c));
        c->name = strdup(name);
        c->next = h->conns;
        h->conns = c;
    }
    return c;
}

/* A config change restarts the connector: its tasks stop and the class is resolved again. */
static int apply_config(struct herder *h, struct hconn *c, json_t *config)
{
    if (c->config && json_equal(c->config, config))
        return 0;
    stop_tasks(h, c, 0);
    json_decref(c->config);
    c->config = json_deep_copy(config);
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    c->p = cls ? registry_find_connector(cls) : NULL;
    c->state = NULL;
    if (!c->p) {
        char trace[1024];
        snprintf(trace, sizeof(trace), "Failed to find any class that implements Connector and "
                 "which name matches %s", cls ? cls : "(none)");
        set_state(h, c, "FAILED", trace);
        return -1;
    }
    return 0;
}

void herder_reconcile(struct herder *h, const char *name)
{
    json_t *snap = cfgstore_get(h->cs, name);
    struct hconn *c = herder_find(h, name);
    if (!snap) {
        if (c)
            remove_conn(h, c);
        return;
    }
    c = hconn_get(h, name);
    snprintf(c->target, sizeof(c->target), "%s", json_string_value(json_object_get(snap, "target")));
    if (apply_config(h, c, json_object_get(snap, "config"))) {
        json_decref(snap);
        return;
    }
    json_t *committed = json_object_get(snap, "tasks");
    json_t *desired = !strcmp(c->target, "STOPPED") ? json_array() : desired_task_configs(c);
    char err[512];
    /* Leader's job (every worker is its own leader until the group protocol lands). Tasks
     * start when the commit record comes back, so every worker starts the same configs. */
    if (!json_equal(desired, committed)) {
        int rc = cfgstore_put_tasks(h->cs, name, desired, err, sizeof(err));
        json_decref(desired);
        if (!rc) {
            json_decref(snap);
            return;
        }
        log_error(LOGS_HERDER, "connector %s: cannot write task configs: %s", name, err);
    } else
        json_decref(desired);
    if (!c->task_configs || !json_equal(c->task_configs, committed)) {
        stop_tasks(h, c, 0);
        if (strcmp(c->target, "STOPPED"))
            start_tasks(h, c, committed);
    }
    apply_target_to_tasks(c);
    set_state(h, c,
              !strcmp(c->target, "STARTED") ? "RUNNING"
              : !strcmp(c->target, "PAUSED") ? "PAUSED"
                                              : "STOPPED",
              NULL);
    json_decref(snap);
}

void herder_restart_task(struct herder *h, struct hconn *c, int id)
{
    if (id < 0 || id >= c->ntasks)
        return;
    statstore_put_task(h->w->status, c->name, id, "RESTARTING", NULL);
    task_shutdown(c->tasks[id], grace_ms(h));
    c->tasks[id] = task_launch(h->w, c->p, c->name, id, c->config,
                               json_array_get(c->task_configs, (size_t)id),
                               !strcmp(c->target, "PAUSED"));
}

void herder_restart_connector(struct herder *h, struct hconn *c)
{
    statstore_put_connector(h->w->status, c->name, "RESTARTING", NULL);
    c->state = NULL; /* so that the state is written again */
    if (!c->p) {     /* a failed connector resolves its class again */
        json_decref(c->config);
        c->config = NULL;
    }
    herder_reconcile(h, c->name);
}

/* ---- lifecycle ---- */

struct herder *herder_new(struct herder_opts *o, char *err, size_t errlen)
{
    struct herder *h = calloc(1, sizeof(*h));
    h->w = o->w;
    h->distributed = o->distributed;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->cs = cfgstore_open(h->w->wconf, o->distributed, o->state_file, on_config_record, h, err,
                          errlen);
    if (!h->cs || cfgstore_read_to_end(h->cs, err, errlen)) {
        cfgstore_close(h->cs);
        free(h);
        return NULL;
    }
    o->cs = h->cs;
    pthread_create(&h->thread, NULL, herder_main, h);
    /* Records read so far queued a reconcile each: the thread starts them in order. */
    return h;
}

int herder_put_connector(struct herder *h, json_t *config, char *err, size_t errlen)
{
    json_t *reply = NULL;
    const char *name = json_string_value(json_object_get(config, "name"));
    struct herder_req req = {.op = HOP_CONFIG_PUT, .connector = name, .body = config};
    int status = herder_call(h, &req, &reply);
    if (status >= 300)
        snprintf(err, errlen, "%s",
                 json_string_value(json_object_get(reply, "message")) ?: "failed");
    json_decref(reply);
    return status >= 300 ? -1 : 0;
}

void herder_set_ready(struct herder *h)
{
    h->ready = 1;
}

void herder_free(struct herder *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    while (h->conns) {
        struct hconn *c = h->conns;
        h->conns = c->next;
        stop_tasks(h, c, 1);
        statstore_put_connector(h->w->status, c->name, "UNASSIGNED", NULL);
        hconn_free(c);
    }
    while (h->head) {
        struct hevent *e = h->head;
        h->head = e->next;
        event_free(e);
    }
    cfgstore_close(h->cs);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}
