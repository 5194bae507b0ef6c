/* clog.c — see clog.h */
#include "clog.h"
#include "deadline.h"
#include "json_alloc.h"

#include "kafka.h"
#include "log.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct clog {
    clog_apply_fn apply;
    void *opaque;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Kafka backend */
    char *topic;
    rd_kafka_t *producer;
    rd_kafka_t *reader;
    pthread_t thread;
    int thread_started;
    volatile int stopping;
    int nparts;
    int64_t *read_pos; /* next offset to read, per partition */
    char *cluster_id;
    /* file backend */
    int is_file;
    char *path;
    json_t *map;
    int dirty;
};

/* A sync put waits on one of these; the delivery report fills it. */
struct delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct clog *c = opaque;
    struct delivery *d = m->_private;
    if (m->err)
        log_warn(LOGS_STORE, "write to %s failed: %s", c->topic, rd_kafka_err2str(m->err));
    if (!d)
        return;
    pthread_mutex_lock(&c->lock);
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
    d->done = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void apply_message(struct clog *c, const rd_kafka_message_t *m)
{
    if (!m->key) {
        log_warn(LOGS_STORE, "%s [%d] offset %lld: record without key skipped", c->topic,
                 (int)m->partition, (long long)m->offset);
        return;
    }
    char *key = strndup(m->key, m->key_len);
    json_t *value = NULL;
    if (m->payload && m->len) {
        json_error_t je;
        value = json_loadb(m->payload, m->len, JSON_DECODE_ANY, &je);
        if (!value) {
            log_warn(LOGS_STORE, "%s [%d] offset %lld: key %s has invalid JSON, skipped: %s",
                     c->topic, (int)m->partition, (long long)m->offset, key, je.text);
            free(key);
            return;
        }
    }
    c->apply(c->opaque, key, value);
    json_decref(value);
    free(key);
}

static void *reader_main(void *arg)
{
    struct clog *c = arg;
    while (!c->stopping) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->reader, 50);
        rd_kafka_poll(c->producer, 0);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn(LOGS_STORE, "reading %s: %s", c->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        apply_message(c, m);
        pthread_mutex_lock(&c->lock);
        if (m->partition >= 0 && m->partition < c->nparts)
            c->read_pos[m->partition] = m->offset + 1;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *new_client(json_t *wconf, const char *role, json_t *over, rd_kafka_type_t type,
                              struct clog *c, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = kafka_conf_new(wconf, role, over, err, errlen);
    if (!conf)
        return NULL;
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, c);
    char e[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, e, sizeof(e));
    if (!rk) {
        snprintf(err, errlen, "cannot create Kafka %s: %s", role, e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static int open_kafka(struct clog *c, json_t *wconf, int partitions, int replication,
                      int must_partitions, char *err, size_t errlen)
{
    json_t *pover = json_pack("{ss ss}", "enable.idempotence", "true", "acks", "all");
    char gid[96];
    snprintf(gid, sizeof(gid), "connectd-store-reader-%d-%p", (int)getpid(), (void *)c);
    /* A short fetch wait: brokers that do not answer a fetch early when data arrives (the
     * embedded mock) would otherwise delay every read-back of our own writes by 500 ms. A
     * short fetch error backoff: the first fetch of a just-assigned partition often fails
     * while its leader is being looked up, and the default 500 ms wait delayed startup. */
    json_t *cover = json_pack("{ss ss ss ss ss ss}", "enable.auto.commit", "false",
                              "enable.auto.offset.store", "false", "group.id", gid,
                              "auto.offset.reset", "earliest", "fetch.wait.max.ms", "50",
                              "fetch.error.backoff.ms", "20");
    c->producer = new_client(wconf, "producer", pover, RD_KAFKA_PRODUCER, c, err, errlen);
    c->reader = c->producer ? new_client(wconf, "consumer", cover, RD_KAFKA_CONSUMER, c, err, errlen)
                            : NULL;
    json_decref(pover);
    json_decref(cover);
    if (!c->reader)
        return -1;
    json_t *tconf = json_pack("{ss}", "cleanup.policy", "compact");
    c->nparts = kafka_topic_ensure(c->producer, c->topic, partitions, replication, tconf, err, errlen);
    json_decref(tconf);
    if (c->nparts < 0)
        return -1;
    if (must_partitions > 0 && c->nparts != must_partitions) {
        snprintf(err, errlen,
                 "Topic '%s' supplied via the 'config.storage.topic' property is required to have "
                 "a single partition in order to guarantee consistency of connector "
                 "configurations, but found %d partitions.",
                 c->topic, c->nparts);
        return -1;
    }
    c->cluster_id = kafka_cluster_id(c->producer, 5000);
    c->read_pos = calloc((size_t)c->nparts, sizeof(*c->read_pos));
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(c->nparts);
    for (int p = 0; p < c->nparts; p++)
        rd_kafka_topic_partition_list_add(parts, c->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    /* Learn the partition leaders first: a partition assigned before its leader is known
     * waits librdkafka's fixed 500 ms offset-query retry before it is read. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->reader, c->topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rkt && !rd_kafka_metadata(c->reader, 0, rkt, &md, 5000))
        rd_kafka_metadata_destroy(md);
    rd_kafka_resp_err_t e = rd_kafka_assign(c->reader, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (e) {
        snprintf(err, errlen, "cannot read topic %s: %s", c->topic, rd_kafka_err2str(e));
        return -1;
    }
    if (pthread_create(&c->thread, NULL, reader_main, c)) {
        snprintf(err, errlen, "cannot start reader thread");
        return -1;
    }
    c->thread_started = 1;
    return 0;
}

static struct clog *clog_alloc(clog_apply_fn apply, void *opaque)
{
    struct clog *c = calloc(1, sizeof(*c));
    c->apply = apply;
    c->opaque = opaque;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    return c;
}

struct clog *clog_kafka_new(json_t *worker_conf, const char *topic, int partitions,
                            int replication, int must_partitions, clog_apply_fn apply,
                            void *opaque, char *err, size_t errlen)
{
    struct clog *c = clog_alloc(apply, opaque);
    c->topic = strdup(topic);
    if (open_kafka(c, worker_conf, partitions, replication, must_partitions, err, errlen)) {
        clog_free(c);
        return NULL;
    }
    return c;
}

static int file_load(struct clog *c, char *err, size_t errlen)
{
    json_error_t je;
    if (access(c->path, F_OK))
        return 0; /* first start: nothing to replay */
    json_t *j = json_load_file(c->path, 0, &je);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "cannot read %s: %s (line %d)", c->path, je.text, je.line);
        json_decref(j);
        return -1;
    }
    json_decref(c->map);
    c->map = j;
    return 0;
}

struct clog *clog_file_new(const char *path, clog_apply_fn apply, void *opaque, char *err,
                           size_t errlen)
{
    struct clog *c = clog_alloc(apply, opaque);
    c->is_file = 1;
    c->map = json_object();
    c->path = path ? strdup(path) : NULL;
    if (c->path && file_load(c, err, errlen)) {
        clog_free(c);
        return NULL;
    }
    return c;
}

static int wait_read_to(struct clog *c, const int64_t *end, int timeout_ms, char *err,
                        size_t errlen)
{
    struct timespec ts;
    cd_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    for (int p = 0; p < c->nparts && !rc; p++)
        while (c->read_pos[p] < end[p] && !rc)
            if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT) {
                snprintf(err, errlen, "timed out reading %s partition %d to offset %lld",
                         c->topic, p, (long long)end[p]);
                rc = -1;
            }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int clog_read_to_end(struct clog *c, int timeout_ms, char *err, size_t errlen)
{
    if (c->is_file) {
        pthread_mutex_lock(&c->lock);
        const char *k;
        json_t *v;
        json_object_foreach(c->map, k, v) c->apply(c->opaque, k, v);
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    int64_t *end = calloc((size_t)c->nparts, sizeof(*end));
    int rc = 0;
    for (int p = 0; p < c->nparts && !rc; p++) {
        int64_t lo, hi;
        /* Asked through the producer: on the reader's connection each query would wait
         * behind an in-flight fetch (fetch.wait.max.ms) for every partition. */
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(c->producer, c->topic, p, &lo, &hi, timeout_ms);
        if (e) {
            snprintf(err, errlen, "cannot read end offsets of %s: %s", c->topic,
                     rd_kafka_err2str(e));
            rc = -1;
        }
        end[p] = hi;
    }
    if (!rc)
        rc = wait_read_to(c, end, timeout_ms, err, errlen);
    free(end);
    return rc;
}

static int file_write(struct clog *c, char *err, size_t errlen)
{
    if (!c->path || !c->dirty)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    if (json_dump_file(c->map, tmp, JSON_INDENT(1)) || rename(tmp, c->path)) {
        snprintf(err, errlen, "cannot write %s: %s", c->path, strerror(errno));
        return -1;
    }
    c->dirty = 0;
    return 0;
}

static int file_put(struct clog *c, const char *key, json_t *value, int sync, char *err,
                    size_t errlen)
{
    pthread_mutex_lock(&c->lock);
    if (value)
        json_object_set(c->map, key, value);
    else
        json_object_del(c->map, key);
    c->dirty = 1;
    c->apply(c->opaque, key, value);
    int rc = sync ? file_write(c, err, errlen) : 0;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static int wait_delivery(struct clog *c, struct delivery *d, int timeout_ms, char *err,
                         size_t errlen)
{
    struct timespec ts;
    cd_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&c->lock);
    while (!d->done)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
            break;
    int done = d->done;
    pthread_mutex_unlock(&c->lock);
    if (!done) {
        snprintf(err, errlen, "timed out writing to %s", c->topic);
        return -1;
    }
    if (d->err) {
        snprintf(err, errlen, "write to %s failed: %s", c->topic, rd_kafka_err2str(d->err));
        return -1;
    }
    return 0;
}

int clog_put(struct clog *c, const char *key, json_t *value, int sync, int timeout_ms, char *err,
             size_t errlen)
{
    if (c->is_file)
        return file_put(c, key, value, sync, err, errlen);
    char *payload = value ? cd_json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    struct delivery *d = sync ? calloc(1, sizeof(*d)) : NULL;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        c->producer, RD_KAFKA_V_TOPIC(c->topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(payload, payload ? strlen(payload) : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    free(payload);
    int rc = 0;
    if (e) {
        snprintf(err, errlen, "cannot write to %s: %s", c->topic, rd_kafka_err2str(e));
        rc = -1;
    } else if (sync) {
        rd_kafka_poll(c->producer, 0);
        rc = wait_delivery(c, d, timeout_ms, err, errlen);
        if (!rc) {
            int64_t *end = calloc((size_t)c->nparts, sizeof(*end));
            end[d->partition] = d->offset + 1;
            rc = wait_read_to(c, end, timeout_ms, err, errlen);
            free(end);
        }
    }
    /* An undelivered record still points at d: keep it allocated (tiny, only on timeout). */
    if (d && (d->done || e))
        free(d);
    return rc;
}

int clog_flush(struct clog *c, int timeout_ms, char *err, size_t errlen)
{
    if (c->is_file) {
        pthread_mutex_lock(&c->lock);
        int rc = file_write(c, err, errlen);
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    rd_kafka_resp_err_t e = rd_kafka_flush(c->producer, timeout_ms);
    if (e) {
        snprintf(err, errlen, "flushing writes to %s: %s", c->topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

const char *clog_cluster_id(struct clog *c)
{
    return c->cluster_id;
}

void clog_free(struct clog *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        c->stopping = 1;
        pthread_join(c->thread, NULL);
    }
    if (c->producer) {
        rd_kafka_flush(c->producer, 5000);
        rd_kafka_destroy(c->producer);
    }
    if (c->reader) {
        rd_kafka_consumer_close(c->reader);
        rd_kafka_destroy(c->reader);
    }
    if (c->is_file) {
        char err[256];
        if (file_write(c, err, sizeof(err)))
            log_error(LOGS_STORE, "%s", err);
    }
    json_decref(c->map);
    free(c->read_pos);
    free(c->topic);
    free(c->path);
    free(c->cluster_id);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}
