/* stores.c — config, status and offset stores (see stores.h). Each keeps an in-memory view
 * built only by its clog's apply callback, so local and remote writes take one path. */
#include "stores.h"
#include "json_alloc.h"

#include "clog.h"
#include "log.h"
#include "worker_config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_TIMEOUT_MS 30000

static int wint(json_t *w, const char *key, int dflt)
{
    const char *v = json_string_value(json_object_get(w, key));
    return v ? atoi(v) : dflt;
}

/* ================= config store ================= */

struct cfgstore {
    struct clog *log;
    pthread_mutex_t lock;
    json_t *state; /* name -> {"config","target","tasks","pending"} */
    cfgstore_notify_fn notify;
    void *opaque;
};

static json_t *cfg_entry(struct cfgstore *cs, const char *name)
{
    json_t *e = json_object_get(cs->state, name);
    if (!e) {
        e = json_object();
        json_object_set_new(cs->state, name, e);
    }
    return e;
}

/* "task-<name>-<n>": the name may itself contain dashes, so split at the last one. */
static int parse_task_key(const char *rest, char *name, size_t nlen)
{
    const char *dash = strrchr(rest, '-');
    if (!dash || dash == rest || (size_t)(dash - rest) >= nlen)
        return -1;
    memcpy(name, rest, (size_t)(dash - rest));
    name[dash - rest] = 0;
    return atoi(dash + 1);
}

static void cfg_apply_commit(json_t *e, json_t *value)
{
    int n = (int)json_integer_value(json_object_get(value, "tasks"));
    json_t *pending = json_object_get(e, "pending");
    json_t *tasks = json_array();
    for (int i = 0; i < n; i++) {
        char idx[16];
        snprintf(idx, sizeof(idx), "%d", i);
        json_t *t = json_object_get(pending, idx);
        if (!t)
            t = json_array_get(json_object_get(e, "tasks"), (size_t)i);
        json_array_append(tasks, t ? t : json_object());
    }
    json_object_set_new(e, "tasks", tasks);
    json_object_del(e, "pending");
}

static const char *cfg_apply_locked(struct cfgstore *cs, const char *key, json_t *value,
                                    char *name, size_t nlen)
{
    if (!strncmp(key, "connector-", 10)) {
        snprintf(name, nlen, "%s", key + 10);
        if (!value) {
            json_object_del(cs->state, name);
            return name;
        }
        json_object_set(cfg_entry(cs, name), "config", json_object_get(value, "properties"));
    } else if (!strncmp(key, "target-state-", 13)) {
        snprintf(name, nlen, "%s", key + 13);
        json_t *e = json_object_get(cs->state, name);
        const char *st = json_string_value(json_object_get(value, "state.v2"));
        if (!st)
            st = json_string_value(json_object_get(value, "state"));
        if (value && st)
            json_object_set_new(cfg_entry(cs, name), "target", json_string(st));
        else if (e)
            json_object_del(e, "target");
    } else if (!strncmp(key, "task-", 5)) {
        int idx = parse_task_key(key + 5, name, nlen);
        if (idx < 0 || !value)
            return NULL;
        json_t *e = cfg_entry(cs, name);
        json_t *pending = json_object_get(e, "pending");
        if (!pending)
            json_object_set_new(e, "pending", pending = json_object());
        char sidx[16];
        snprintf(sidx, sizeof(sidx), "%d", idx);
        json_object_set(pending, sidx, json_object_get(value, "properties"));
        return NULL; /* applied only by the commit record */
    } else if (!strncmp(key, "commit-", 7)) {
        snprintf(name, nlen, "%s", key + 7);
        if (value)
            cfg_apply_commit(cfg_entry(cs, name), value);
    } else
        return NULL; /* session-key, restart-connector-*, logger-cluster-*: not used yet */
    return name;
}

static void cfg_apply(void *opaque, const char *key, json_t *value)
{
    struct cfgstore *cs = opaque;
    char name[1024];
    pthread_mutex_lock(&cs->lock);
    const char *changed = cfg_apply_locked(cs, key, value, name, sizeof(name));
    pthread_mutex_unlock(&cs->lock);
    if (changed && cs->notify)
        cs->notify(cs->opaque, changed);
}

struct cfgstore *cfgstore_open(json_t *wconf, int distributed, const char *state_file,
                               cfgstore_notify_fn notify, void *opaque, char *err, size_t errlen)
{
    struct cfgstore *cs = calloc(1, sizeof(*cs));
    pthread_mutex_init(&cs->lock, NULL);
    cs->state = json_object();
    cs->notify = notify;
    cs->opaque = opaque;
    if (distributed)
        cs->log = clog_kafka_new(wconf, worker_str(wconf, "config.storage.topic"), 1,
                                 wint(wconf, "config.storage.replication.factor", 3), 1,
                                 cfg_apply, cs, err, errlen);
    else
        cs->log = clog_file_new(state_file, cfg_apply, cs, err, errlen);
    if (!cs->log) {
        cfgstore_close(cs);
        return NULL;
    }
    return cs;
}

void cfgstore_close(struct cfgstore *cs)
{
    if (!cs)
        return;
    clog_free(cs->log);
    json_decref(cs->state);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}

int cfgstore_read_to_end(struct cfgstore *cs, char *err, size_t errlen)
{
    return clog_read_to_end(cs->log, STORE_TIMEOUT_MS, err, errlen);
}

const char *cfgstore_cluster_id(struct cfgstore *cs)
{
    return clog_cluster_id(cs->log);
}

json_t *cfgstore_get(struct cfgstore *cs, const char *name)
{
    json_t *out = NULL;
    pthread_mutex_lock(&cs->lock);
    json_t *e = json_object_get(cs->state, name);
    if (e && json_object_get(e, "config")) {
        json_t *tasks = json_object_get(e, "tasks");
        json_t *target = json_object_get(e, "target");
        out = json_object();
        json_object_set_new(out, "config", json_deep_copy(json_object_get(e, "config")));
        json_object_set_new(out, "target", target ? json_deep_copy(target) : json_string("STARTED"));
        json_object_set_new(out, "tasks", tasks ? json_deep_copy(tasks) : json_array());
    }
    pthread_mutex_unlock(&cs->lock);
    return out;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted array of the keys of obj whose entries pass keep (NULL = all). */
static json_t *sorted_keys(json_t *obj, int (*keep)(json_t *))
{
    size_t n = json_object_size(obj), i = 0;
    const char **names = calloc(n + 1, sizeof(*names));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) if (!keep || keep(v)) names[i++] = k;
    qsort(names, i, sizeof(*names), name_cmp);
    json_t *arr = json_array();
    for (size_t j = 0; j < i; j++)
        json_array_append_new(arr, json_string(names[j]));
    free(names);
    return arr;
}

static int has_config(json_t *e)
{
    return json_object_get(e, "config") != NULL;
}

json_t *cfgstore_names(struct cfgstore *cs)
{
    pthread_mutex_lock(&cs->lock);
    json_t *arr = sorted_keys(cs->state, has_config);
    pthread_mutex_unlock(&cs->lock);
    return arr;
}

static int cfg_put(struct cfgstore *cs, const char *prefix, const char *name, json_t *value,
                   char *err, size_t errlen)
{
    char key[1100];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return clog_put(cs->log, key, value, 1, STORE_TIMEOUT_MS, err, errlen);
}

int cfgstore_put_connector(struct cfgstore *cs, const char *name, json_t *config, char *err,
                           size_t errlen)
{
    json_t *v = json_pack("{s:O}", "properties", config);
    int rc = cfg_put(cs, "connector-", name, v, err, errlen);
    json_decref(v);
    return rc;
}

int cfgstore_put_target(struct cfgstore *cs, const char *name, const char *target, char *err,
                        size_t errlen)
{
    /* STOPPED is written as state PAUSED so that older workers still understand it. */
    json_t *v = json_pack("{s:s s:s}", "state", strcmp(target, "STOPPED") ? target : "PAUSED",
                          "state.v2", target);
    int rc = cfg_put(cs, "target-state-", name, v, err, errlen);
    json_decref(v);
    return rc;
}

int cfgstore_put_tasks(struct cfgstore *cs, const char *name, json_t *task_configs, char *err,
                       size_t errlen)
{
    size_t i;
    json_t *t;
    json_array_foreach(task_configs, i, t)
    {
        char key[1100];
        snprintf(key, sizeof(key), "task-%s-%zu", name, i);
        json_t *v = json_pack("{s:O}", "properties", t);
        int rc = clog_put(cs->log, key, v, 1, STORE_TIMEOUT_MS, err, errlen);
        json_decref(v);
        if (rc)
            return rc;
    }
    json_t *v = json_pack("{s:i}", "tasks", (int)json_array_size(task_configs));
    int rc = cfg_put(cs, "commit-", name, v, err, errlen);
    json_decref(v);
    return rc;
}

int cfgstore_delete(struct cfgstore *cs, const char *name, char *err, size_t errlen)
{
    if (cfg_put(cs, "connector-", name, NULL, err, errlen))
        return -1;
    return cfg_put(cs, "target-state-", name, NULL, err, errlen);
}

/* ================= status store ================= */

struct statstore {
    struct clog *log;
    pthread_mutex_t lock;
    json_t *map; /* status key -> value */
    char *worker_id;
    int started; /* after startup, our own records are authoritative locally */
};

static void stat_apply(void *opaque, const char *key, json_t *value)
{
    struct statstore *ss = opaque;
    pthread_mutex_lock(&ss->lock);
    const char *wid = json_string_value(json_object_get(value, "worker_id"));
    /* Our own writes were applied locally when made; an echo could be older than them. */
    int own = ss->started && (!value || (wid && !strcmp(wid, ss->worker_id)));
    if (!own) {
        if (value)
            json_object_set(ss->map, key, value);
        else
            json_object_del(ss->map, key);
    }
    pthread_mutex_unlock(&ss->lock);
}

struct statstore *statstore_open(json_t *wconf, int distributed, const char *worker_id,
                                 char *err, size_t errlen)
{
    struct statstore *ss = calloc(1, sizeof(*ss));
    pthread_mutex_init(&ss->lock, NULL);
    ss->map = json_object();
    ss->worker_id = strdup(worker_id);
    if (distributed)
        ss->log = clog_kafka_new(wconf, worker_str(wconf, "status.storage.topic"),
                                 wint(wconf, "status.storage.partitions", 5),
                                 wint(wconf, "status.storage.replication.factor", 3), 0,
                                 stat_apply, ss, err, errlen);
    else
        ss->log = clog_file_new(NULL, stat_apply, ss, err, errlen);
    if (!ss->log) {
        statstore_close(ss);
        return NULL;
    }
    return ss;
}

void statstore_close(struct statstore *ss)
{
    if (!ss)
        return;
    clog_free(ss->log);
    json_decref(ss->map);
    free(ss->worker_id);
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

int statstore_read_to_end(struct statstore *ss, char *err, size_t errlen)
{
    int rc = clog_read_to_end(ss->log, STORE_TIMEOUT_MS, err, errlen);
    ss->started = 1;
    return rc;
}

static void stat_write(struct statstore *ss, const char *key, json_t *value)
{
    char err[256];
    pthread_mutex_lock(&ss->lock);
    if (value)
        json_object_set(ss->map, key, value);
    else
        json_object_del(ss->map, key);
    pthread_mutex_unlock(&ss->lock);
    if (clog_put(ss->log, key, value, 0, 0, err, sizeof(err)))
        log_warn(LOGS_STORE, "status %s not written: %s", key, err);
}

static void stat_put(struct statstore *ss, const char *key, const char *state, const char *trace)
{
    json_t *v = json_pack("{s:s s:o s:s s:i}", "state", state, "trace",
                          trace ? json_string(trace) : json_null(), "worker_id", ss->worker_id,
                          "generation", 1);
    stat_write(ss, key, v);
    json_decref(v);
}

void statstore_put_connector(struct statstore *ss, const char *name, const char *state,
                             const char *trace)
{
    char key[1100];
    snprintf(key, sizeof(key), "status-connector-%s", name);
    stat_put(ss, key, state, trace);
}

void statstore_put_task(struct statstore *ss, const char *name, int task, const char *state,
                        const char *trace)
{
    char key[1100];
    snprintf(key, sizeof(key), "status-task-%s-%d", name, task);
    stat_put(ss, key, state, trace);
}

void statstore_delete(struct statstore *ss, const char *name, int ntasks)
{
    char key[1100];
    snprintf(key, sizeof(key), "status-connector-%s", name);
    stat_write(ss, key, NULL);
    for (int i = 0; i < ntasks; i++) {
        snprintf(key, sizeof(key), "status-task-%s-%d", name, i);
        stat_write(ss, key, NULL);
    }
    statstore_reset_topics(ss, name);
}

json_t *statstore_get(struct statstore *ss, const char *name, int task)
{
    char key[1100];
    if (task < 0)
        snprintf(key, sizeof(key), "status-connector-%s", name);
    else
        snprintf(key, sizeof(key), "status-task-%s-%d", name, task);
    pthread_mutex_lock(&ss->lock);
    json_t *v = json_deep_copy(json_object_get(ss->map, key));
    pthread_mutex_unlock(&ss->lock);
    return v;
}

void statstore_put_topic(struct statstore *ss, const char *name, const char *topic, int task)
{
    char key[2200];
    snprintf(key, sizeof(key), "status-topic-%s:connector-%s", topic, name);
    pthread_mutex_lock(&ss->lock);
    int known = json_object_get(ss->map, key) != NULL;
    pthread_mutex_unlock(&ss->lock);
    if (known)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *v = json_pack("{s:{s:s s:s s:i s:I}}", "topic", "name", topic, "connector", name,
                          "task", task, "discoverTimestamp",
                          (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    stat_write(ss, key, v);
    json_decref(v);
}

/* Topic names of connector name's status-topic-* records; returns their keys too. */
static json_t *topic_keys(struct statstore *ss, const char *name, json_t *topics)
{
    char suffix[1100];
    snprintf(suffix, sizeof(suffix), ":connector-%s", name);
    size_t sl = strlen(suffix);
    json_t *keys = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(ss->map, k, v)
    {
        size_t kl = strlen(k);
        if (strncmp(k, "status-topic-", 13) || kl < sl + 13 || strcmp(k + kl - sl, suffix))
            continue;
        json_array_append_new(keys, json_string(k));
        if (topics)
            json_object_set_new(topics, json_string_value(
                                            json_object_get(json_object_get(v, "topic"), "name"))
                                    ?: "",
                                json_true());
    }
    return keys;
}

json_t *statstore_topics(struct statstore *ss, const char *name)
{
    json_t *set = json_object();
    pthread_mutex_lock(&ss->lock);
    json_decref(topic_keys(ss, name, set));
    pthread_mutex_unlock(&ss->lock);
    json_t *arr = sorted_keys(set, NULL);
    json_decref(set);
    return arr;
}

void statstore_reset_topics(struct statstore *ss, const char *name)
{
    pthread_mutex_lock(&ss->lock);
    json_t *keys = topic_keys(ss, name, NULL);
    pthread_mutex_unlock(&ss->lock);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) stat_write(ss, json_string_value(k), NULL);
    json_decref(keys);
}

int statstore_flush(struct statstore *ss)
{
    char err[256];
    return clog_flush(ss->log, 5000, err, sizeof(err));
}

/* ================= offset store ================= */

struct offstore {
    struct clog *log;
    pthread_mutex_t lock;
    json_t *map; /* canonical key -> {"name","partition","offset"} */
};

/* Canonical map key: the Connect key array with sorted object keys. malloc'd. */
static char *off_key(const char *name, json_t *partition)
{
    json_t *k = json_pack("[s O]", name, partition ? partition : json_null());
    char *s = cd_json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(k);
    return s;
}

static void off_apply(void *opaque, const char *key, json_t *value)
{
    struct offstore *os = opaque;
    json_t *k = json_loads(key, 0, NULL);
    const char *name = json_string_value(json_array_get(k, 0));
    if (!json_is_array(k) || json_array_size(k) != 2 || !name) {
        log_warn(LOGS_STORE, "offset record with unexpected key %s skipped", key);
        json_decref(k);
        return;
    }
    char *ck = off_key(name, json_array_get(k, 1));
    pthread_mutex_lock(&os->lock);
    if (value)
        json_object_set_new(os->map, ck,
                            json_pack("{s:s s:O s:O}", "name", name, "partition",
                                      json_array_get(k, 1), "offset", value));
    else
        json_object_del(os->map, ck);
    pthread_mutex_unlock(&os->lock);
    free(ck);
    json_decref(k);
}

struct offstore *offstore_open(json_t *wconf, int distributed, char *err, size_t errlen)
{
    struct offstore *os = calloc(1, sizeof(*os));
    pthread_mutex_init(&os->lock, NULL);
    os->map = json_object();
    if (distributed)
        os->log = clog_kafka_new(wconf, worker_str(wconf, "offset.storage.topic"),
                                 wint(wconf, "offset.storage.partitions", 25),
                                 wint(wconf, "offset.storage.replication.factor", 3), 0,
                                 off_apply, os, err, errlen);
    else
        os->log = clog_file_new(worker_str(wconf, "offset.storage.file.filename"), off_apply, os,
                                err, errlen);
    if (!os->log) {
        offstore_close(os);
        return NULL;
    }
    return os;
}

void offstore_close(struct offstore *os)
{
    if (!os)
        return;
    clog_free(os->log);
    json_decref(os->map);
    pthread_mutex_destroy(&os->lock);
    free(os);
}

int offstore_read_to_end(struct offstore *os, char *err, size_t errlen)
{
    return clog_read_to_end(os->log, STORE_TIMEOUT_MS, err, errlen);
}

json_t *offstore_get(struct offstore *os, const char *name, json_t *partition)
{
    char *ck = off_key(name, partition);
    pthread_mutex_lock(&os->lock);
    json_t *v = json_deep_copy(json_object_get(json_object_get(os->map, ck), "offset"));
    pthread_mutex_unlock(&os->lock);
    free(ck);
    return v;
}

int offstore_put(struct offstore *os, const char *name, json_t *entries, int timeout_ms,
                 char *err, size_t errlen)
{
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        json_t *k = json_pack("[s O]", name, json_array_get(e, 0));
        char *key = cd_json_dumps(k, JSON_COMPACT);
        json_t *off = json_array_get(e, 1);
        int rc = clog_put(os->log, key, json_is_null(off) ? NULL : off, 0, 0, err, errlen);
        free(key);
        json_decref(k);
        if (rc)
            return rc;
    }
    return clog_flush(os->log, timeout_ms, err, errlen);
}

json_t *offstore_list(struct offstore *os, const char *name)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&os->lock);
    const char *k;
    json_t *v;
    json_object_foreach(os->map, k, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name))
            continue;
        json_array_append_new(arr, json_pack("{s:O s:O}", "partition",
                                             json_object_get(v, "partition"), "offset",
                                             json_object_get(v, "offset")));
    }
    pthread_mutex_unlock(&os->lock);
    return arr;
}
