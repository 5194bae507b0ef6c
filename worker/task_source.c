/* task_source.c — the source task loop: poll the connector, convert, produce; a record's
 * source offset becomes committable only once it and every record produced before it were
 * acknowledged by Kafka (one FIFO in produce order), and reaches the offset store on the
 * offset.flush.interval.ms cadence. */
#include "converter.h"
#include "errors.h"
#include "json_alloc.h"
#include "kafka.h"
#include "log.h"
#include "stores.h"
#include "task.h"
#include "topic_creation.h"
#include "transform.h"
#include "worker_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_POLL_MAX 1000
#define SRC_MAX_INFLIGHT 50000

struct inflight {
    struct cd_record *r;
    int acked;
    int skipped; /* dropped by a transform or tolerated: done without reaching Kafka */
    rd_kafka_resp_err_t err;
    struct inflight *next;
};

struct src {
    struct task_ctx *t;
    void *state;
    rd_kafka_t *producer;
    struct converter *kc, *vc;
    struct transform_chain *chain;
    struct errh *errh;
    struct topic_creation *tc; /* NULL = topics are not created by this connector */
    struct inflight *head, *tail;
    int ninflight;
    json_t *committable; /* canonical partition key -> [partition, offset] */
    char *last_topic;    /* topic tracking: avoid a status lookup per record */
    json_t *last_part;   /* the source partition last seen, and its key in committable */
    char *last_key;
    int fatal;
};

static void src_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct inflight *f = m->_private;
    f->acked = 1;
    f->r->partition = m->partition; /* commit_record sees where the record landed */
    f->r->offset = m->err ? -1 : m->offset;
    f->err = m->err;
}

/* librdkafka's error events (served by rd_kafka_poll on the task thread). Without this
 * callback librdkafka would print them to stderr itself. */
static void src_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct src *s = opaque;
    task_log(s->t, LOG_WARN, "producer: %s", reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && s->state && s->t->p->kafka_unreachable)
        s->t->p->kafka_unreachable(s->state, s->t, (rd_kafka_resp_err_t)err);
}

/* librdkafka queued an event (a delivery report) on the producer's empty main queue. */
static void src_on_queue_event(rd_kafka_t *rk, void *opaque)
{
    struct src *s = opaque;
    s->t->p->wake(s->state);
}

/* Once the connector's state exists (until the producer is destroyed, before task_stop). */
static void src_enable_wake(struct src *s)
{
    if (!s->t->p->wake)
        return;
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(s->producer);
    rd_kafka_queue_cb_event_enable(q, src_on_queue_event, s);
    rd_kafka_queue_destroy(q);
}

static void src_track_topic(struct src *s, const char *topic)
{
    if (s->last_topic && !strcmp(s->last_topic, topic))
        return;
    free(s->last_topic);
    s->last_topic = strdup(topic);
    statstore_put_topic(s->t->w->status, s->t->conn, topic, s->t->id);
}

/* Remembers r's source offset as the latest of its partition. Records of one partition come
 * in runs, so the partition's canonical key is serialised only when the partition changes. */
static void src_note_offset(struct src *s, const struct cd_record *r)
{
    if (s->last_part != r->source_partition &&
        !(s->last_part && json_equal(s->last_part, r->source_partition))) {
        free(s->last_key);
        s->last_key = cd_json_dumps(r->source_partition, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(s->last_part);
        s->last_part = json_incref(r->source_partition);
    }
    json_t *e = json_object_get(s->committable, s->last_key);
    if (e)
        json_array_set(e, 1, r->source_offset);
    else
        json_object_set_new(s->committable, s->last_key,
                            json_pack("[O O]", s->last_part, r->source_offset));
}

/* A record Kafka will not have. The connector's record_failed may take charge of it (an HTTP
 * client is told); otherwise the task fails and the record is never handed to commit_record.
 * Returns 0 when the task goes on. */
static int src_record_failed(struct src *s, struct cd_record *r, rd_kafka_resp_err_t err)
{
    const struct connector_plugin *p = s->t->p;
    if (p->record_failed && err != RD_KAFKA_RESP_ERR__FATAL &&
        !p->record_failed(s->state, s->t, r, err))
        return 0;
    task_set_error(s->t, "failed to send record to topic %s: %s", r->topic, rd_kafka_err2str(err));
    s->fatal = 1;
    return -1;
}

/* Pops acknowledged records from the head of the FIFO. */
static void src_drain_acked(struct src *s)
{
    while (s->head && s->head->acked) {
        struct inflight *f = s->head;
        struct cd_record *r = f->r;
        /* a failure the connector took charge of counts as done, like a delivery */
        int done = f->err ? !s->fatal && !src_record_failed(s, r, f->err) : 1;
        if (done && r->source_partition && r->source_offset)
            src_note_offset(s, r);
        if (!f->err) {
            if (!f->skipped)
                src_track_topic(s, r->topic);
            if (s->t->p->commit_record)
                s->t->p->commit_record(s->state, s->t, r);
        }
        s->head = f->next;
        if (!s->head)
            s->tail = NULL;
        s->ninflight--;
        cd_record_free(r);
        free(f);
    }
}

static int src_flush_offsets(struct src *s)
{
    if (!json_object_size(s->committable))
        return 0;
    json_t *entries = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(s->committable, k, v) json_array_append(entries, v);
    char err[512];
    int timeout = (int)worker_int(s->t->w->wconf, "offset.flush.timeout.ms");
    int rc = offstore_put(s->t->w->offsets, s->t->conn, entries, timeout, err, sizeof(err));
    json_decref(entries);
    if (rc) {
        log_warn(LOGS_TASK, "[connector %s task %d] offset commit failed: %s", s->t->conn,
                 s->t->id, err);
        return -1;
    }
    json_object_clear(s->committable);
    return 0;
}

static void src_enqueue(struct src *s, struct inflight *f)
{
    if (s->tail)
        s->tail->next = f;
    else
        s->head = f;
    s->tail = f;
    s->ninflight++;
}

/* A record that will not reach Kafka still takes its place in the FIFO, so its source offset
 * is committed in order with the others. */
static void src_skip(struct src *s, struct cd_record *r)
{
    struct inflight *f = calloc(1, sizeof(*f));
    f->r = r;
    f->acked = f->skipped = 1;
    r->offset = -1;
    src_enqueue(s, f);
}

/* Transforms and converts r. Returns 1 when it is ready to produce, 0 when it was dropped or
 * tolerated (already queued as skipped), -1 on a fatal error. */
static int src_prepare(struct src *s, struct cd_record *r, void **k, size_t *kl, void **v,
                       size_t *vl)
{
    char err[1024];
    const char *stage = STAGE_TRANSFORMATION, *cls = NULL;
    *k = *v = NULL;
    *kl = *vl = 0;
    int rc = transform_chain_apply(s->chain, r, err, sizeof(err), &cls);
    if (rc == 1) {
        stage = STAGE_KEY_CONVERTER;
        cls = s->kc->plugin->class_name;
        rc = converter_from_connect(s->kc, r->topic, &r->key, k, kl, err, sizeof(err)) ? -1 : 1;
    }
    if (rc == 1) {
        stage = STAGE_VALUE_CONVERTER;
        cls = s->vc->plugin->class_name;
        rc = converter_from_connect(s->vc, r->topic, &r->value, v, vl, err, sizeof(err)) ? -1 : 1;
    }
    if (rc == 1)
        return 1;
    free(*k);
    *k = NULL;
    if (rc < 0) {
        struct errh_orig o = {.topic = r->topic, .partition = -1, .offset = -1,
                              .timestamp = r->timestamp};
        if (errh_record_failed(s->errh, stage, cls, err, &o)) {
            cd_record_free(r);
            return -1;
        }
    }
    src_skip(s, r);
    return 0;
}

static int src_produce(struct src *s, struct cd_record *r)
{
    void *k, *v;
    size_t kl, vl;
    if (!r->topic) {
        task_set_error(s->t, "the connector returned a record without a topic");
        cd_record_free(r);
        return -1;
    }
    int ready = src_prepare(s, r, &k, &kl, &v, &vl);
    if (ready <= 0)
        return ready;
    char err[512];
    if (topic_creation_ensure(s->tc, s->producer, r->topic, err, sizeof(err))) {
        task_set_error(s->t, "%s", err);
        free(k);
        free(v);
        cd_record_free(r);
        return -1;
    }
    struct inflight *f = calloc(1, sizeof(*f));
    f->r = r;
    /* The producer takes the headers: nothing reads them from the record after this (a copy
     * and a destroy per record were a tenth of the MQTT source's CPU). */
    rd_kafka_headers_t *h = r->headers;
    r->headers = NULL;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->producer, RD_KAFKA_V_TOPIC(r->topic),
            RD_KAFKA_V_PARTITION(r->partition >= 0 ? r->partition : RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_KEY(k, kl), RD_KAFKA_V_VALUE(v, vl), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_TIMESTAMP(r->timestamp > 0 ? r->timestamp : 0), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(f), RD_KAFKA_V_END);
        if (!e)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || s->t->stop) {
            free(k);
            free(v);
            if (h)
                rd_kafka_headers_destroy(h);
            if (s->t->p->record_failed && e != RD_KAFKA_RESP_ERR__FATAL) {
                /* refused at once (too large, unknown partition): reported in FIFO order */
                f->acked = 1;
                f->err = e;
                r->offset = -1;
                src_enqueue(s, f);
                return 0;
            }
            task_set_error(s->t, "cannot produce to %s: %s", r->topic, rd_kafka_err2str(e));
            free(f);
            cd_record_free(r);
            return -1;
        }
        rd_kafka_poll(s->producer, 50); /* backpressure: wait for room */
        src_drain_acked(s);
    }
    free(k); /* librdkafka copies the key; RD_KAFKA_MSG_F_FREE hands it the value only */
    src_enqueue(s, f);
    return 0;
}

/* Producer overrides: Kafka Connect's safe defaults and the plugin's producer_defaults (unless
 * the worker sets producer.<key>), then the connector's producer.override.*. */
static json_t *src_producer_overrides(const struct task_ctx *t, json_t *conn_conf)
{
    json_t *o = json_pack("{ss ss}", "enable.idempotence", "true", "acks", "all");
    const char *const *d = t->p->producer_defaults;
    for (; d && d[0] && d[1]; d += 2) {
        char wkey[256];
        snprintf(wkey, sizeof(wkey), "producer.%s", d[0]);
        if (!json_object_get(t->w->wconf, wkey))
            json_object_set_new(o, d[0], json_string(d[1]));
    }
    const char *k;
    json_t *v;
    json_object_foreach(conn_conf, k, v) if (!strncmp(k, "producer.override.", 18))
        json_object_set(o, k + 18, v);
    return o;
}

static int src_open(struct src *s)
{
    char err[1024];
    struct task_ctx *t = s->t;
    if (task_open_pipeline(t, &s->kc, &s->vc, &s->chain, &s->errh))
        return -1;
    err[0] = '\0';
    s->tc = topic_creation_new(t->conn_conf, t->w->wconf, err, sizeof(err));
    if (!s->tc && err[0]) {
        task_set_error(t, "%s", err);
        return -1;
    }
    json_t *over = src_producer_overrides(t, t->conn_conf);
    rd_kafka_conf_t *conf = kafka_conf_new(t->w->wconf, "producer", over, err, sizeof(err));
    json_decref(over);
    if (!conf) {
        task_set_error(t, "%s", err);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, src_on_delivery);
    rd_kafka_conf_set_error_cb(conf, src_on_error);
    rd_kafka_conf_set_opaque(conf, s);
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!s->producer) {
        rd_kafka_conf_destroy(conf);
        task_set_error(t, "cannot create producer: %s", err);
        return -1;
    }
    return 0;
}

static int src_poll_once(struct src *s, struct cd_record **recs)
{
    int n = s->t->p->poll(s->state, s->t, recs, SRC_POLL_MAX, 100);
    if (n == CD_ERR_RETRIABLE) {
        task_sleep(s->t, 500);
        return 0;
    }
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (src_produce(s, recs[i])) { /* recs[i] is freed already */
            for (int j = i + 1; j < n; j++)
                cd_record_free(recs[j]);
            return -1;
        }
    return 0;
}

static void src_loop(struct src *s)
{
    struct task_ctx *t = s->t;
    struct cd_record **recs = calloc(SRC_POLL_MAX, sizeof(*recs));
    int64_t interval = worker_int(t->w->wconf, "offset.flush.interval.ms");
    int64_t next_flush = task_now_ms() + interval;
    while (!t->stop && !s->fatal) {
        if (t->paused && task_wait_unpaused(t))
            break;
        if (s->ninflight >= SRC_MAX_INFLIGHT)
            rd_kafka_poll(s->producer, 50);
        else if (src_poll_once(s, recs)) {
            task_fail_with(t, "the task's poll failed");
            break;
        }
        rd_kafka_poll(s->producer, 0);
        src_drain_acked(s);
        if (task_now_ms() >= next_flush) {
            src_flush_offsets(s);
            next_flush = task_now_ms() + interval;
        }
    }
    if (s->fatal)
        task_fail_with(t, "producing failed");
    free(recs);
}

static void src_close(struct src *s)
{
    if (s->producer) {
        int grace = (int)worker_int(s->t->w->wconf, "task.shutdown.graceful.timeout.ms");
        rd_kafka_flush(s->producer, grace);
        rd_kafka_poll(s->producer, 0);
        src_drain_acked(s);
        src_flush_offsets(s);
        /* Records never acknowledged are dropped here; their offsets were not committed, so
         * they are produced again after a restart (at-least-once). */
        while (s->head) {
            s->head->acked = 1;
            s->head->err = RD_KAFKA_RESP_ERR__DESTROY;
            s->fatal = 1;
            src_drain_acked(s);
        }
        rd_kafka_destroy(s->producer);
    }
    converter_free(s->kc);
    converter_free(s->vc);
    transform_chain_free(s->chain);
    topic_creation_free(s->tc);
    s->t->errh = NULL;
    errh_free(s->errh);
    json_decref(s->committable);
    json_decref(s->last_part);
    free(s->last_key);
    free(s->last_topic);
}

void task_source_run(struct task_ctx *t)
{
    struct src s = {.t = t, .committable = json_object()};
    if (src_open(&s)) {
        task_fail_with(t, "the task could not be configured");
        src_close(&s);
        return;
    }
    if (t->p->task_start(t, t->task_conf, &s.state)) {
        task_fail_with(t, "the task failed to start");
        src_close(&s);
        return;
    }
    src_enable_wake(&s);
    task_report(t, t->paused ? "PAUSED" : "RUNNING", NULL);
    src_loop(&s);
    src_close(&s);
    t->p->task_stop(s.state, t);
}
