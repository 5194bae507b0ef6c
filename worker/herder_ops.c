/* herder_ops.c — the REST operations, run on the herder thread. Status codes and messages
 * follow Kafka Connect (reference/kafka-connect.md §1). */
#include "herder_int.h"
#include "json_alloc.h"

#include "config.h"
#include "log.h"
#include "offsets_admin.h"
#include "registry.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRBUF 1024

static json_t *connector_info(struct herder *h, const char *name, json_t *snap, int with_tasks)
{
    json_t *config = json_object_get(snap, "config");
    json_t *tasks = json_array();
    size_t n = with_tasks ? json_array_size(json_object_get(snap, "tasks")) : 0;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tasks, json_pack("{s:s s:i}", "connector", name, "task", (int)i));
    return json_pack("{s:s s:O s:o s:s}", "name", name, "config", config, "tasks", tasks, "type",
                     herder_type_name(config));
}

static json_t *task_state_json(struct herder *h, const char *name, int id)
{
    json_t *st = statstore_get(h->w->status, name, id);
    json_t *out = json_pack("{s:s s:s}", "state",
                            st ? json_string_value(json_object_get(st, "state")) : "UNASSIGNED",
                            "worker_id",
                            st ? json_string_value(json_object_get(st, "worker_id"))
                               : h->w->worker_id);
    if (id >= 0)
        json_object_set_new(out, "id", json_integer(id));
    const char *trace = json_string_value(json_object_get(st, "trace"));
    if (trace && *trace)
        json_object_set_new(out, "trace", json_string(trace));
    json_decref(st);
    return out;
}

json_t *herder_status_json(struct herder *h, const char *name, json_t *snap)
{
    json_t *tasks = json_array();
    size_t n = json_array_size(json_object_get(snap, "tasks"));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tasks, task_state_json(h, name, (int)i));
    return json_pack("{s:s s:o s:o s:s}", "name", name, "connector", task_state_json(h, name, -1),
                     "tasks", tasks, "type", herder_type_name(json_object_get(snap, "config")));
}

static int op_list(struct herder *h, const struct herder_req *r, json_t **reply)
{
    json_t *names = cfgstore_names(h->cs);
    if (!r->expand_status && !r->expand_info) {
        *reply = names;
        return 200;
    }
    json_t *out = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        json_t *snap = cfgstore_get(h->cs, name);
        if (!snap)
            continue;
        json_t *e = json_object();
        if (r->expand_status)
            json_object_set_new(e, "status", herder_status_json(h, name, snap));
        if (r->expand_info)
            json_object_set_new(e, "info", connector_info(h, name, snap, 1));
        json_object_set_new(out, name, e);
        json_decref(snap);
    }
    json_decref(names);
    *reply = out;
    return 200;
}

/* Checks a connector config as Kafka does before writing it. Returns 0 or an HTTP status
 * with *reply set. config is an object of strings that includes "name". */
static int check_config(json_t *config, json_t **reply)
{
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (!cls || !*cls) {
        char *dump = cd_json_dumps(config, JSON_COMPACT);
        *reply = herder_error(400, "Connector config %s contains no connector type", dump);
        free(dump);
        return 400;
    }
    char *msg = connector_validate_message(config);
    if (msg) {
        *reply = herder_error(400, "%s", msg);
        free(msg);
        return 400;
    }
    return 0;
}

/* Stringifies body as the connector config for name; fills *reply and returns a status on
 * error. */
static json_t *config_from_body(json_t *body, const char *name, int *status, json_t **reply)
{
    char err[ERRBUF];
    if (!json_is_object(body)) {
        *status = 400;
        *reply = herder_error(400, "Connector configuration must be a JSON object");
        return NULL;
    }
    json_t *config = cfg_stringify(body, err, sizeof(err));
    const char *cname = json_string_value(json_object_get(config, "name"));
    if (!config) {
        *status = 400;
        *reply = herder_error(400, "%s", err);
    } else if (cname && strcmp(cname, name)) {
        *status = 400;
        *reply = herder_error(400,
                              "Connector name configuration (%s) doesn't match connector name in "
                              "the URL (%s)",
                              cname, name);
        json_decref(config);
        config = NULL;
    } else
        json_object_set_new(config, "name", json_string(name));
    return config;
}

static int store_failed(const char *err, json_t **reply)
{
    *reply = herder_error(500, "%s", err);
    return 500;
}

static const char *initial_target(json_t *body, int *bad)
{
    const char *s = json_string_value(json_object_get(body, "initial_state"));
    *bad = 0;
    if (!s || !strcmp(s, "RUNNING"))
        return "STARTED";
    if (!strcmp(s, "PAUSED") || !strcmp(s, "STOPPED"))
        return s;
    *bad = 1;
    return NULL;
}

static int op_create(struct herder *h, const struct herder_req *r, json_t **reply)
{
    json_t *body = r->body;
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *jconf = json_object_get(body, "config");
    if (!json_is_object(body) || !jconf) {
        *reply = herder_error(400, "Request body must be a JSON object with \"name\" and "
                                   "\"config\" fields");
        return 400;
    }
    if (!name) /* Kafka takes the name from the config when the top-level one is missing */
        name = json_string_value(json_object_get(jconf, "name"));
    if (!name || !*name || strchr(name, '/')) {
        *reply = herder_error(400, "Connector name must be a non-empty string without '/'");
        return 400;
    }
    int status = 0, bad;
    const char *target = initial_target(body, &bad);
    if (bad) {
        *reply = herder_error(400, "Invalid initial_state: must be one of RUNNING, PAUSED, STOPPED");
        return 400;
    }
    json_t *config = config_from_body(jconf, name, &status, reply);
    if (!config)
        return status;
    json_t *snap = cfgstore_get(h->cs, name);
    char err[ERRBUF];
    if (snap) {
        *reply = herder_error(409, "Connector %s already exists", name);
        status = 409;
    } else if (!(status = check_config(config, reply))) {
        if ((strcmp(target, "STARTED") && cfgstore_put_target(h->cs, name, target, err, sizeof(err))) ||
            cfgstore_put_connector(h->cs, name, config, err, sizeof(err)))
            status = store_failed(err, reply);
        else {
            json_t *s = json_pack("{s:O}", "config", config);
            *reply = connector_info(h, name, s, 0);
            json_decref(s);
            status = 201;
        }
    }
    json_decref(snap);
    json_decref(config);
    return status;
}

static int not_found(const char *name, json_t **reply)
{
    *reply = herder_error(404, "Connector %s not found", name);
    return 404;
}

static int write_config(struct herder *h, const char *name, json_t *config, int created,
                        json_t **reply)
{
    char err[ERRBUF];
    int status = check_config(config, reply);
    if (status)
        return status;
    if (cfgstore_put_connector(h->cs, name, config, err, sizeof(err)))
        return store_failed(err, reply);
    json_t *snap = cfgstore_get(h->cs, name);
    *reply = connector_info(h, name, snap, !created);
    json_decref(snap);
    return created ? 201 : 200;
}

static int op_config_put(struct herder *h, const struct herder_req *r, json_t **reply)
{
    int status = 0;
    json_t *config = config_from_body(r->body, r->connector, &status, reply);
    if (!config)
        return status;
    json_t *snap = cfgstore_get(h->cs, r->connector);
    status = write_config(h, r->connector, config, !snap, reply);
    json_decref(snap);
    json_decref(config);
    return status;
}

static int op_config_patch(struct herder *h, const struct herder_req *r, json_t *snap,
                           json_t **reply)
{
    if (!json_is_object(r->body)) {
        *reply = herder_error(400, "Connector configuration patch must be a JSON object");
        return 400;
    }
    json_t *merged = json_deep_copy(json_object_get(snap, "config"));
    const char *k;
    json_t *v;
    json_object_foreach(r->body, k, v) if (json_is_null(v)) json_object_del(merged, k);
    json_t *patch = json_object();
    json_object_foreach(r->body, k, v) if (!json_is_null(v)) json_object_set(patch, k, v);
    int status = 0;
    json_t *strs = config_from_body(patch, r->connector, &status, reply);
    if (strs) {
        json_object_update(merged, strs);
        status = write_config(h, r->connector, merged, 0, reply);
    }
    json_decref(strs);
    json_decref(patch);
    json_decref(merged);
    return status;
}

static int op_tasks(struct herder *h, const struct herder_req *r, json_t *snap, json_t **reply)
{
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *out = r->op == HOP_TASKS ? json_array() : json_object();
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        if (r->op == HOP_TASKS) {
            json_array_append_new(out, json_pack("{s:{s:s s:i} s:O}", "id", "connector",
                                                 r->connector, "task", (int)i, "config", t));
        } else {
            char key[1100];
            snprintf(key, sizeof(key), "%s-%zu", r->connector, i);
            json_object_set(out, key, t);
        }
    }
    *reply = out;
    return 200;
}

static int op_task_status(struct herder *h, const struct herder_req *r, json_t *snap,
                          json_t **reply)
{
    json_t *st = statstore_get(h->w->status, r->connector, r->task);
    int known = r->task >= 0 && (size_t)r->task < json_array_size(json_object_get(snap, "tasks"));
    if (!st && !known) {
        *reply = herder_error(404, "No status found for task %s-%d", r->connector, r->task);
        return 404;
    }
    json_decref(st);
    *reply = task_state_json(h, r->connector, r->task);
    return 200;
}

static int op_task_restart(struct herder *h, const struct herder_req *r, json_t **reply)
{
    struct hconn *c = herder_find(h, r->connector);
    if (!c || r->task < 0 || r->task >= c->ntasks) {
        *reply = herder_error(404, "Unknown task: %s-%d", r->connector, r->task);
        return 404;
    }
    herder_restart_task(h, c, r->task);
    return 204;
}

static int is_failed(struct herder *h, const char *name, int task)
{
    json_t *st = statstore_get(h->w->status, name, task);
    int failed = st && !strcmp(json_string_value(json_object_get(st, "state")) ?: "", "FAILED");
    json_decref(st);
    return failed;
}

/* Kafka's RestartRequest: connector if !onlyFailed || FAILED; a task if includeTasks &&
 * (!onlyFailed || FAILED). */
static int op_restart(struct herder *h, const struct herder_req *r, json_t *snap, json_t **reply)
{
    struct hconn *c = herder_find(h, r->connector);
    if (!c) {
        *reply = herder_error(404, "Unknown connector: %s", r->connector);
        return 404;
    }
    int conn = !r->only_failed || is_failed(h, c->name, -1);
    int ntasks = c->ntasks;
    int *tasks = calloc((size_t)ntasks + 1, sizeof(int));
    for (int i = 0; i < ntasks; i++)
        tasks[i] = r->include_tasks && (!r->only_failed || is_failed(h, c->name, i));
    json_t *status = NULL;
    if (r->include_tasks || r->only_failed) {
        status = herder_status_json(h, c->name, snap);
        if (conn)
            json_object_set_new(json_object_get(status, "connector"), "state",
                                json_string("RESTARTING"));
        for (int i = 0; i < ntasks; i++)
            if (tasks[i])
                json_object_set_new(json_array_get(json_object_get(status, "tasks"), (size_t)i),
                                    "state", json_string("RESTARTING"));
    }
    if (conn)
        herder_restart_connector(h, c);
    for (int i = 0; i < ntasks && (c = herder_find(h, r->connector)); i++)
        if (tasks[i])
            herder_restart_task(h, c, i);
    free(tasks);
    *reply = status;
    return status ? 202 : 204;
}

static int op_target(struct herder *h, const struct herder_req *r, const char *target,
                     json_t **reply)
{
    char err[ERRBUF];
    if (cfgstore_put_target(h->cs, r->connector, target, err, sizeof(err)))
        return store_failed(err, reply);
    return r->op == HOP_STOP ? 204 : 202;
}

static int op_delete(struct herder *h, const struct herder_req *r, json_t **reply)
{
    char err[ERRBUF];
    if (cfgstore_delete(h->cs, r->connector, err, sizeof(err)))
        return store_failed(err, reply);
    return 204;
}

static int op_topics(struct herder *h, const struct herder_req *r, json_t **reply)
{
    if (r->op == HOP_TOPICS_RESET) {
        statstore_reset_topics(h->w->status, r->connector);
        return 202;
    }
    *reply = json_pack("{s:{s:o}}", r->connector, "topics",
                       statstore_topics(h->w->status, r->connector));
    return 200;
}

static int op_offsets(struct herder *h, const struct herder_req *r, json_t *snap, json_t **reply)
{
    json_t *config = json_object_get(snap, "config");
    int sink = !strcmp(herder_type_name(config), "sink");
    if (r->op == HOP_OFFSETS_GET) {
        return sink ? offsets_sink_get(h->w, r->connector, config, reply)
                    : (*reply = json_pack("{s:o}", "offsets",
                                          offstore_list(h->w->offsets, r->connector)),
                       200);
    }
    if (strcmp(json_string_value(json_object_get(snap, "target")), "STOPPED")) {
        *reply = herder_error(400,
                              "Connectors must be in the STOPPED state before their offsets can "
                              "be modified. This can be done for the specified connector by "
                              "issuing a 'PUT' request to the '/connectors/%s/stop' endpoint",
                              r->connector);
        return 400;
    }
    return sink ? offsets_sink_alter(h->w, r->connector, config, r->op == HOP_OFFSETS_DELETE
                                                                     ? NULL
                                                                     : r->body,
                                     reply)
                : offsets_source_alter(h->w, r->connector,
                                       r->op == HOP_OFFSETS_DELETE ? NULL : r->body, reply);
}

/* Operations that need an existing connector. */
static int handle_existing(struct herder *h, const struct herder_req *r, json_t *snap,
                           json_t **reply)
{
    switch (r->op) {
    case HOP_GET:
        *reply = connector_info(h, r->connector, snap, 1);
        return 200;
    case HOP_CONFIG_GET:
        *reply = json_deep_copy(json_object_get(snap, "config"));
        return 200;
    case HOP_CONFIG_PATCH:
        return op_config_patch(h, r, snap, reply);
    case HOP_STATUS:
        *reply = herder_status_json(h, r->connector, snap);
        return 200;
    case HOP_TASKS:
    case HOP_TASKS_CONFIG:
        return op_tasks(h, r, snap, reply);
    case HOP_TASK_STATUS:
        return op_task_status(h, r, snap, reply);
    case HOP_TASK_RESTART:
        return op_task_restart(h, r, reply);
    case HOP_RESTART:
        return op_restart(h, r, snap, reply);
    case HOP_PAUSE:
        return op_target(h, r, "PAUSED", reply);
    case HOP_RESUME:
        return op_target(h, r, "STARTED", reply);
    case HOP_STOP:
        return op_target(h, r, "STOPPED", reply);
    case HOP_DELETE:
        return op_delete(h, r, reply);
    case HOP_TOPICS:
    case HOP_TOPICS_RESET:
        return op_topics(h, r, reply);
    default:
        return op_offsets(h, r, snap, reply);
    }
}

static int missing(const struct herder_req *r, json_t **reply)
{
    switch (r->op) {
    case HOP_STATUS:
        *reply = herder_error(404, "No status found for connector %s", r->connector);
        return 404;
    case HOP_TASK_STATUS:
        *reply = herder_error(404, "No status found for task %s-%d", r->connector, r->task);
        return 404;
    case HOP_TASK_RESTART:
    case HOP_RESTART:
        *reply = herder_error(404, "Unknown connector: %s", r->connector);
        return 404;
    case HOP_PAUSE:
    case HOP_RESUME:
    case HOP_STOP:
        *reply = herder_error(404, "Unknown connector %s", r->connector);
        return 404;
    default:
        return not_found(r->connector, reply);
    }
}

int herder_handle(struct herder *h, const struct herder_req *r, json_t **reply)
{
    if (r->op == HOP_LIST)
        return op_list(h, r, reply);
    if (r->op == HOP_CREATE)
        return op_create(h, r, reply);
    if (!r->connector) {
        *reply = herder_error(404, "Not found");
        return 404;
    }
    if (r->op == HOP_CONFIG_PUT)
        return op_config_put(h, r, reply);
    json_t *snap = cfgstore_get(h->cs, r->connector);
    int status = snap ? handle_existing(h, r, snap, reply) : missing(r, reply);
    json_decref(snap);
    return status;
}
