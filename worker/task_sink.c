/* task_sink.c — the sink task loop: consume (group connect-<name>), convert, put; every
 * offset.flush.interval.ms ask the connector what is durable (flush) and commit only that.
 * Partitions are paused with rd_kafka_pause_partitions, and rd_kafka_consumer_poll is used
 * because librdkafka 2.0.2's batch APIs can lose or repeat messages across pause/resume. */
#include "converter.h"
#include "errors.h"
#include "kafka.h"
#include "log.h"
#include "stores.h"
#include "task.h"
#include "transform.h"
#include "worker_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_BATCH_MAX 1000
#define SINK_BATCH_LIMIT 20000 /* task_set_batch_max at most */
#define SINK_BATCH_BYTES (4 << 20)

struct snk {
    struct task_ctx *t;
    void *state;
    rd_kafka_t *c;
    struct converter *kc, *vc;
    struct transform_chain *chain;
    struct errh *errh;
    rd_kafka_topic_partition_list_t *assigned;
    rd_kafka_topic_partition_list_t *consumed; /* next offset per partition, after put */
    int paused_applied;
    int fatal;
    char *last_topic;
};

static void snk_track_topic(struct snk *s, const char *topic)
{
    if (s->last_topic && !strcmp(s->last_topic, topic))
        return;
    free(s->last_topic);
    s->last_topic = strdup(topic);
    statstore_put_topic(s->t->w->status, s->t->conn, topic, s->t->id);
}

/* Flushes the connector and commits what it reports durable, limited to parts (NULL = all).
 * Returns the connector's flush result (CD_ERR_FATAL/CD_ERR_CONFIG fail the task). */
static int snk_commit(struct snk *s, const rd_kafka_topic_partition_list_t *parts)
{
    int frc = 0;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < s->consumed->cnt; i++) {
        rd_kafka_topic_partition_t *e = &s->consumed->elems[i];
        if (!parts || rd_kafka_topic_partition_list_find(parts, e->topic, e->partition))
            rd_kafka_topic_partition_list_add(offs, e->topic, e->partition)->offset = e->offset;
    }
    if (offs->cnt && s->t->p->flush && (frc = s->t->p->flush(s->state, s->t, offs))) {
        task_log(s->t, 1, "flush failed, offsets not committed: %s", s->t->error);
        offs->cnt = 0;
    }
    /* Records sent to the dead letter queue count as done only once it acknowledged them. */
    if (offs->cnt && errh_flush(s->errh, 30000)) {
        task_log(s->t, 1, "offsets not committed: %s", s->t->error);
        offs->cnt = 0;
    }
    rd_kafka_topic_partition_list_t *ok = rd_kafka_topic_partition_list_new(offs->cnt + 1);
    for (int i = 0; i < offs->cnt; i++)
        if (offs->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(ok, offs->elems[i].topic, offs->elems[i].partition)
                ->offset = offs->elems[i].offset;
    if (ok->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(s->c, ok, 0);
        if (e)
            task_log(s->t, 1, "offset commit failed: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(ok);
    rd_kafka_topic_partition_list_destroy(offs);
    return frc;
}

static void list_remove(rd_kafka_topic_partition_list_t *l,
                        const rd_kafka_topic_partition_list_t *rm)
{
    for (int i = 0; i < rm->cnt; i++)
        rd_kafka_topic_partition_list_del(l, rm->elems[i].topic, rm->elems[i].partition);
}

static void snk_assign(struct snk *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (s->t->p->open && s->t->p->open(s->state, s->t, l))
        task_log(s->t, 1, "open failed: %s", s->t->error);
    if (!strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE"))
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, l));
    else
        rd_kafka_assign(rk, l);
    for (int i = 0; i < l->cnt; i++)
        rd_kafka_topic_partition_list_add(s->assigned, l->elems[i].topic, l->elems[i].partition);
    if (s->paused_applied)
        rd_kafka_pause_partitions(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void snk_revoke(struct snk *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    s->t->flush_final = 1;
    snk_commit(s, parts);
    s->t->flush_final = 0;
    if (s->t->p->close)
        s->t->p->close(s->state, s->t, parts);
    list_remove(s->consumed, parts);
    list_remove(s->assigned, parts);
    if (!strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE"))
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

static void snk_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct snk *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        snk_assign(s, rk, parts);
    else
        snk_revoke(s, rk, parts);
}

static json_t *snk_consumer_overrides(struct task_ctx *t)
{
    char gid[1100];
    snprintf(gid, sizeof(gid), "connect-%s", t->conn);
    json_t *o = json_pack("{ss ss ss ss}", "group.id", gid, "enable.auto.commit", "false",
                          "enable.auto.offset.store", "false", "auto.offset.reset", "earliest");
    const char *k;
    json_t *v;
    json_object_foreach(t->conn_conf, k, v) if (!strncmp(k, "consumer.override.", 18))
        json_object_set(o, k + 18, v);
    return o;
}

static int snk_subscribe(struct snk *s)
{
    const char *topics = json_string_value(json_object_get(s->t->task_conf, "topics"));
    const char *regex = json_string_value(json_object_get(s->t->task_conf, "topics.regex"));
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    if (regex && *regex) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%s", regex[0] == '^' ? "" : "^", regex);
        rd_kafka_topic_partition_list_add(l, buf, RD_KAFKA_PARTITION_UA);
    } else if (topics) {
        char *copy = strdup(topics), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            char *end = tok + strlen(tok);
            while (end > tok && end[-1] == ' ')
                *--end = 0;
            if (*tok)
                rd_kafka_topic_partition_list_add(l, tok, RD_KAFKA_PARTITION_UA);
        }
        free(copy);
    }
    rd_kafka_resp_err_t e = l->cnt ? rd_kafka_subscribe(s->c, l) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        task_set_error(s->t, "cannot subscribe to topics '%s': %s", topics ? topics : regex,
                       rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int snk_open(struct snk *s)
{
    char err[1024];
    struct task_ctx *t = s->t;
    if (task_open_pipeline(t, &s->kc, &s->vc, &s->chain, &s->errh))
        return -1;
    json_t *over = snk_consumer_overrides(t);
    rd_kafka_conf_t *conf = kafka_conf_new(t->w->wconf, "consumer", over, err, sizeof(err));
    json_decref(over);
    if (!conf) {
        task_set_error(t, "%s", err);
        return -1;
    }
    rd_kafka_conf_set_rebalance_cb(conf, snk_rebalance);
    rd_kafka_conf_set_opaque(conf, s);
    s->c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!s->c) {
        rd_kafka_conf_destroy(conf);
        task_set_error(t, "cannot create consumer: %s", err);
        return -1;
    }
    rd_kafka_poll_set_consumer(s->c);
    return 0;
}

static void snk_apply_pause(struct snk *s)
{
    if (s->t->paused == s->paused_applied)
        return;
    s->paused_applied = s->t->paused;
    if (s->paused_applied)
        rd_kafka_pause_partitions(s->c, s->assigned);
    else
        rd_kafka_resume_partitions(s->c, s->assigned);
    task_report(s->t, s->paused_applied ? "PAUSED" : "RUNNING", NULL);
}

static void orig_of(struct errh_orig *o, rd_kafka_message_t *m)
{
    errh_orig_from_msg(o, m);
}

/* Converts a consumed message into a record that borrows its bytes. Returns 1 with *out set,
 * 0 when the record was dropped (by a transform, or tolerated as failed), -1 on a fatal error. */
static int snk_convert(struct snk *s, rd_kafka_message_t *m, struct cd_record **out)
{
    char err[1024];
    const char *stage = STAGE_KEY_CONVERTER, *cls = s->kc->plugin->class_name;
    struct cd_record *r = cd_record_new(rd_kafka_topic_name(m->rkt));
    rd_kafka_headers_t *hdrs;
    r->partition = m->partition;
    r->offset = m->offset;
    r->timestamp = rd_kafka_message_timestamp(m, NULL);
    r->raw_key = m->key;
    r->raw_key_len = m->key_len;
    r->raw_value = m->payload;
    r->raw_value_len = m->len;
    r->rt_msg = m;
    if (!rd_kafka_message_headers(m, &hdrs))
        r->headers = rd_kafka_headers_copy(hdrs); /* the original stays for the DLQ */
    int rc = converter_to_connect(s->kc, r->topic, m->key, m->key_len, &r->key, err, sizeof(err));
    if (!rc) {
        stage = STAGE_VALUE_CONVERTER;
        cls = s->vc->plugin->class_name;
        rc = converter_to_connect(s->vc, r->topic, m->payload, m->len, &r->value, err, sizeof(err));
    }
    if (!rc) {
        stage = STAGE_TRANSFORMATION;
        rc = transform_chain_apply(s->chain, r, err, sizeof(err), &cls);
        if (rc >= 0) {
            *out = rc ? r : NULL;
            if (!rc)
                cd_record_free(r);
            return rc;
        }
    }
    cd_record_free(r);
    struct errh_orig o;
    orig_of(&o, m);
    return errh_record_failed(s->errh, stage, cls, err, &o) ? -1 : 0;
}

/* Marks a consumed message done (its offset + 1 becomes committable after flush). Uses the
 * message, not the record: a transform may have renamed the record's topic. */
static void snk_mark_consumed(struct snk *s, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *e =
        rd_kafka_topic_partition_list_find(s->consumed, topic, m->partition);
    if (!e)
        e = rd_kafka_topic_partition_list_add(s->consumed, topic, m->partition);
    e->offset = m->offset + 1;
}

/* Puts a batch, retrying retriable failures with backoff (errors.retry.*) until success,
 * stop, or the retry timeout. */
static int snk_put(struct snk *s, struct cd_record **recs, size_t n)
{
    int64_t first = 0;
    for (int attempt = 0;; attempt++) {
        int rc = s->t->p->put(s->state, s->t, recs, n);
        if (rc == CD_OK)
            return 0;
        if (rc != CD_ERR_RETRIABLE || s->t->stop)
            return -1;
        if (!first)
            first = task_now_ms();
        int delay;
        if (!errh_should_retry(s->errh, first, attempt, &delay))
            return -1;
        task_log(s->t, 1, "put failed, retrying in %d ms: %s", delay, s->t->error);
        task_sleep(s->t, delay);
    }
}

/* Polls one batch, converts and transforms it, and puts what is left. Every polled message
 * counts as consumed once the put succeeded (dropped and tolerated ones included). */
static int snk_batch(struct snk *s, rd_kafka_message_t **msgs, struct cd_record **recs,
                     size_t max)
{
    size_t n = 0, nrec = 0, bytes = 0;
    int rc = 0;
    while (n < max && bytes < SINK_BATCH_BYTES) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->c, n ? 0 : 100);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                task_log(s->t, 1, "consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        msgs[n++] = m;
        bytes += m->len + m->key_len;
        rc = snk_convert(s, m, &recs[nrec]);
        if (rc < 0)
            break;
        nrec += (size_t)rc;
        rc = 0;
    }
    if (!rc && (nrec || (!n && s->t->p->put_when_idle)) && snk_put(s, recs, nrec))
        rc = -1;
    for (size_t i = 0; i < nrec; i++)
        cd_record_free(recs[i]);
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            snk_mark_consumed(s, msgs[i]);
            snk_track_topic(s, rd_kafka_topic_name(msgs[i]->rkt));
        }
        rd_kafka_message_destroy(msgs[i]);
    }
    return rc;
}

static void snk_loop(struct snk *s)
{
    struct task_ctx *t = s->t;
    size_t max = t->batch_max ? t->batch_max : SINK_BATCH_MAX;
    if (max > SINK_BATCH_LIMIT)
        max = SINK_BATCH_LIMIT;
    rd_kafka_message_t **msgs = calloc(max, sizeof(*msgs));
    struct cd_record **recs = calloc(max, sizeof(*recs));
    int64_t interval = worker_int(t->w->wconf, "offset.flush.interval.ms");
    int64_t next_commit = task_now_ms() + interval;
    while (!t->stop) {
        snk_apply_pause(s);
        if (snk_batch(s, msgs, recs, max)) {
            s->fatal = 1;
            task_fail_with(t, "the sink task failed to process records");
            break;
        }
        if (task_now_ms() >= next_commit) {
            int rc = snk_commit(s, NULL);
            if (rc == CD_ERR_FATAL || rc == CD_ERR_CONFIG) {
                s->fatal = 1;
                task_fail_with(t, "the sink task failed to flush");
                break;
            }
            next_commit = task_now_ms() + interval;
        }
    }
    free(msgs);
    free(recs);
}

static void snk_close(struct snk *s)
{
    if (s->c) {
        s->t->flush_final = 1;
        if (!s->fatal)
            snk_commit(s, NULL);
        rd_kafka_consumer_close(s->c);
        rd_kafka_destroy(s->c);
    }
    converter_free(s->kc);
    converter_free(s->vc);
    transform_chain_free(s->chain);
    s->t->errh = NULL;
    errh_free(s->errh);
    rd_kafka_topic_partition_list_destroy(s->assigned);
    rd_kafka_topic_partition_list_destroy(s->consumed);
    free(s->last_topic);
}

void task_sink_run(struct task_ctx *t)
{
    struct snk s = {.t = t,
                    .assigned = rd_kafka_topic_partition_list_new(8),
                    .consumed = rd_kafka_topic_partition_list_new(8)};
    if (snk_open(&s)) {
        task_fail_with(t, "the task could not be configured");
        snk_close(&s);
        return;
    }
    if (t->p->task_start(t, t->task_conf, &s.state)) {
        task_fail_with(t, "the task failed to start");
        s.fatal = 1;
        snk_close(&s);
        return;
    }
    if (snk_subscribe(&s)) {
        task_fail_with(t, "the task could not subscribe");
    } else {
        task_report(t, t->paused ? "PAUSED" : "RUNNING", NULL);
        s.paused_applied = t->paused;
        snk_loop(&s);
    }
    snk_close(&s);
    t->p->task_stop(s.state, t);
}
