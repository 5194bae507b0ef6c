/* task_sink.c — the sink task loop: consume (group connect-<name>), convert, put; every
 * offset.flush.interval.ms ask the connector what is durable (flush) and commit only that.
 * Partitions are paused with rd_kafka_pause_partitions, and rd_kafka_consumer_poll is used
 * because librdkafka 2.0.2's batch APIs can lose or repeat messages across pause/resume. */
#include "converter.h"
#include "errors.h"
#include "job_thread.h"
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
/* How long a poll waits for a first record: then the loop goes round (pause, commits, and the
 * put with no records of put_when_idle connectors). */
#define SNK_POLL_WAIT_MS 100
/* ... and after a batch with records, for a put_when_idle connector: the idle put then comes
 * soon after the stream pauses (it ends a JDBC COPY, a linger). */
#define SNK_LULL_WAIT_MS 10
/* Batches: one polled and converted, one put, and those a sink keeps (task_put_keep,
 * task_put_keep_more); each is allocated when first needed. */
#define SNK_WORKS (2 + CD_PUT_KEEP_MAX)

/* A message that failed conversion, reported to the error handler on the task thread. */
struct snk_fail {
    size_t idx;
    const char *stage, *cls;
    char err[1024];
};

/* One polled batch: its messages, then (after conversion) a record or NULL for each. */
struct snk_work {
    rd_kafka_message_t **msgs;
    struct cd_record **recs;
    struct snk_fail *fails;
    size_t n, nfail, max;
    size_t stale_n;  /* recs[0..stale_n) are records already put, for the converter to free */
    int converted;   /* recs[0..n) are the records of msgs[0..n) */
};

struct snk {
    struct task_ctx *t;
    void *state;
    rd_kafka_t *c;
    struct converter *kc, *vc;
    struct transform_chain *chain;
    int lazy; /* values reach put unconverted (lazy_json_values) */
    struct errh *errh;
    rd_kafka_topic_partition_list_t *assigned;
    rd_kafka_topic_partition_list_t *consumed; /* next offset per partition, after put */
    int paused_applied;
    int fatal;
    char *last_topic;
    /* the record path (see snk_step) */
    struct snk_work work[SNK_WORKS];
    struct snk_work *polling, *pending; /* pending: converted, not put yet */
    struct snk_work *held[CD_PUT_KEEP_MAX]; /* put, but kept for the sink (task_put_keep) */
    int nheld;
    size_t batch_max; /* records per batch */
    struct cd_record **put_recs;
    struct cd_job_thread *conv; /* converts conv_job while the task puts the batch before */
    struct snk_work *conv_job;
    int lull; /* the last step put records: see SNK_LULL_WAIT_MS */
    int64_t last_kick; /* snk_kick_fetcher */
    int kick_gap_ms;
};

static void work_release_held(struct snk *s);

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
    int frc = 0, commit = 1;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < s->consumed->cnt; i++) {
        rd_kafka_topic_partition_t *e = &s->consumed->elems[i];
        if (!parts || rd_kafka_topic_partition_list_find(parts, e->topic, e->partition))
            rd_kafka_topic_partition_list_add(offs, e->topic, e->partition)->offset = e->offset;
    }
    if (offs->cnt && s->t->p->flush) {
        frc = s->t->p->flush(s->state, s->t, offs);
        work_release_held(s); /* the sink is done with them, whatever flush says */
        if (frc) {
            task_log(s->t, 1, "flush failed, offsets not committed: %s", s->t->error);
            commit = 0;
        }
    }
    /* Records sent to the dead letter queue count as done only once it acknowledged them. */
    if (commit && offs->cnt && errh_flush(s->errh, 30000)) {
        task_log(s->t, 1, "offsets not committed: %s", s->t->error);
        commit = 0;
    }
    rd_kafka_topic_partition_list_t *ok = rd_kafka_topic_partition_list_new(offs->cnt + 1);
    for (int i = 0; commit && i < offs->cnt; i++)
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

/* Logs what a rebalance did, as Kafka Connect does ("topic-partition" list). */
static void log_parts(struct snk *s, const char *what, const rd_kafka_topic_partition_list_t *l)
{
    char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < l->cnt && n < sizeof(buf) - 1; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s-%d", i ? ", " : "", l->elems[i].topic,
                              l->elems[i].partition);
    task_log(s->t, LOG_INFO, "%s partitions: %s", what, l->cnt ? buf : "(none)");
}

static void snk_assign(struct snk *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    log_parts(s, "assigned", parts);
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

static void work_drop_revoked(struct snk_work *w, const rd_kafka_topic_partition_list_t *parts);

static void snk_revoke(struct snk *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    log_parts(s, "revoked", parts);
    s->t->flush_final = 1;
    snk_commit(s, parts);
    s->t->flush_final = 0;
    if (s->t->p->close)
        s->t->p->close(s->state, s->t, parts);
    list_remove(s->consumed, parts);
    list_remove(s->assigned, parts);
    if (s->pending)
        work_drop_revoked(s->pending, parts);
    if (s->polling)
        work_drop_revoked(s->polling, parts);
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
    /* librdkafka 2.0.2 stops fetching once the consumer's queue (all partitions together)
     * holds queued.min.messages, 100000 by default, and decides again only when its broker
     * thread next wakes up, up to a second later: a sink that drains 100000 records in less
     * than a second idled the rest of it (bursts once a second: JDBC 115k records/s in all,
     * InfluxDB 116k points/s; 232k and 209k with this). The prefetch is bounded by bytes
     * instead, so small records cannot pile up by count: 8 MB, an eighth of librdkafka's
     * default. Every fetch buffer a queued record points into stays allocated, and that was
     * most of a sink's memory: the JDBC benchmark's worker peaked at 126-159 MiB with 32 MB
     * and at 65-69 MiB with 8 MB, page-faulting half as much, as fast (snk_kick_fetcher
     * refetches when the queue runs dry). The worker config or a consumer.override. of the
     * connector may set either. */
    static const char *const prefetch[] = {"queued.min.messages", "1000000",
                                           "queued.max.messages.kbytes", "8192"};
    for (int i = 0; i < 4; i += 2) {
        char wkey[64];
        snprintf(wkey, sizeof(wkey), "consumer.%s", prefetch[i]);
        if (!json_object_get(t->w->wconf, wkey) && !json_object_get(t->w->wconf, prefetch[i]))
            json_object_set_new(o, prefetch[i], json_string(prefetch[i + 1]));
    }
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

/* A ListOffsets request for parts (their offsets are overwritten) goes through their leaders'
 * broker threads, which then also decide again what to fetch. Waits for the answer. */
static void snk_wake_leaders(struct snk *s, rd_kafka_topic_partition_list_t *parts)
{
    if (!parts->cnt)
        return;
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = -1; /* the latest offset: a timestamp of -1 */
    rd_kafka_offsets_for_times(s->c, parts, 100);
}

static void snk_apply_pause(struct snk *s)
{
    if (s->t->paused == s->paused_applied)
        return;
    s->paused_applied = s->t->paused;
    if (s->paused_applied) {
        rd_kafka_pause_partitions(s->c, s->assigned);
    } else {
        /* librdkafka 2.0.2 resumes in its main thread; the broker thread sees it only when it
         * next wakes up, up to a second later (a backlog of 1M records then started 1.0 s after
         * the REST resume, instead of 0.1 s). Waking it at once, with the fetcher's kick gap
         * back at its shortest, as after a fetch that brought records. */
        rd_kafka_resume_partitions(s->c, s->assigned);
        rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_copy(s->assigned);
        snk_wake_leaders(s, all);
        rd_kafka_topic_partition_list_destroy(all);
        s->kick_gap_ms = 5;
    }
    task_report(s->t, s->paused_applied ? "PAUSED" : "RUNNING", NULL);
}

static void orig_of(struct errh_orig *o, rd_kafka_message_t *m)
{
    errh_orig_from_msg(o, m);
}

/* Converts a consumed message into a record that borrows its bytes. Returns 1 with *out set,
 * 0 when a transform dropped it, -1 when it failed (f filled in for the error handler). */
static int snk_convert(struct snk *s, rd_kafka_message_t *m, struct cd_record **out,
                       struct snk_fail *f)
{
    char *err = f->err;
    const size_t errlen = sizeof(f->err);
    const char *stage = STAGE_KEY_CONVERTER, *cls = s->kc->plugin->class_name;
    struct cd_record *r = cd_record_new_borrowing(rd_kafka_topic_name(m->rkt));
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
    int rc = converter_to_connect(s->kc, r->topic, m->key, m->key_len, &r->key, err, errlen);
    if (!rc && s->lazy && m->payload) {
        r->value_pending = 1; /* the sink reads it, or converts it with task_record_value */
        *out = r;
        return 1;
    }
    if (!rc) {
        stage = STAGE_VALUE_CONVERTER;
        cls = s->vc->plugin->class_name;
        rc = converter_to_connect(s->vc, r->topic, m->payload, m->len, &r->value, err, errlen);
    }
    if (!rc) {
        stage = STAGE_TRANSFORMATION;
        rc = transform_chain_apply(s->chain, r, err, errlen, &cls);
        if (rc >= 0) {
            *out = rc ? r : NULL;
            if (!rc)
                cd_record_free(r);
            return rc;
        }
    }
    cd_record_free(r);
    f->stage = stage;
    f->cls = cls;
    return -1;
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
        s->t->put_keep = PUT_KEEP_NONE; /* a failed attempt keeps nothing */
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

/* ---------------- the record path, in two threads ----------------
 * Converting (JSON parsing, transforms) takes about as long as many a sink's put, so a
 * converter thread converts batch N+1 while the task thread puts batch N. The task thread
 * keeps all that touches the consumer, the connector and the error handler: polling (and with
 * it the rebalance callbacks), put, flush, commit and the dead letter queue. The converter
 * also frees the records it made once they were put, so that their blocks go back to its own
 * allocator cache (json_alloc.h). */

static void conv_free_stale(struct snk_work *w)
{
    for (size_t i = 0; i < w->stale_n; i++)
        cd_record_free(w->recs[i]);
    w->stale_n = 0;
}

static void work_convert(struct snk *s, struct snk_work *w)
{
    conv_free_stale(w);
    w->nfail = 0;
    for (size_t i = 0; i < w->n; i++) {
        w->recs[i] = NULL;
        if (snk_convert(s, w->msgs[i], &w->recs[i], &w->fails[w->nfail]) < 0)
            w->fails[w->nfail++].idx = i;
    }
}

static void conv_run(void *arg)
{
    struct snk *s = arg;
    work_convert(s, s->conv_job);
}

static void conv_submit(struct snk *s, struct snk_work *w)
{
    s->conv_job = w;
    cd_job_post(s->conv);
}

static void conv_wait(struct snk *s)
{
    cd_job_wait(s->conv);
}

static int conv_start(struct snk *s)
{
    s->conv = cd_job_thread_start(conv_run, s);
    return s->conv ? 0 : -1;
}

static void conv_stop(struct snk *s)
{
    cd_job_thread_stop(s->conv);
    s->conv = NULL;
}

/* librdkafka 2.0.2 stops fetching a partition while the consumer's queue holds
 * queued.max.messages.kbytes and decides again only when the broker thread next wakes up, up
 * to a second later; a sink that drains the queue faster idles until then (JDBC 174k rows/s
 * with two cores half idle). When the queue is empty although a partition's last fetch saw
 * messages beyond our position, a ListOffsets request wakes the leaders' broker threads, which
 * then fetch again. It waits for the answer (about a millisecond here). A kick that brings
 * nothing (the messages beyond may be aborted transactions' or control records) doubles the
 * gap to the next one, from 5 ms up to a second. */
static void snk_kick_fetcher(struct snk *s)
{
    int64_t now = task_now_ms();
    if (s->paused_applied || now - s->last_kick < s->kick_gap_ms || !s->assigned->cnt)
        return;
    s->last_kick = now;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(s->assigned);
    rd_kafka_topic_partition_list_t *lag = rd_kafka_topic_partition_list_new(pos->cnt);
    rd_kafka_position(s->c, pos);
    for (int i = 0; i < pos->cnt; i++) {
        int64_t lo, hi;
        const rd_kafka_topic_partition_t *p = &pos->elems[i];
        if (p->offset >= 0 &&
            !rd_kafka_get_watermark_offsets(s->c, p->topic, p->partition, &lo, &hi) &&
            hi > p->offset)
            rd_kafka_topic_partition_list_add(lag, p->topic, p->partition);
    }
    snk_wake_leaders(s, lag);
    rd_kafka_topic_partition_list_destroy(lag);
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Polls up to w->max messages into w, waiting up to wait_ms for the first one (and kicking
 * the fetcher first when none is there). */
static void work_poll(struct snk *s, struct snk_work *w, int wait_ms)
{
    size_t bytes = 0;
    while (w->n < w->max && bytes < SINK_BATCH_BYTES) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->c, 0);
        if (!m && !w->n && wait_ms) {
            int64_t kicked = s->last_kick;
            snk_kick_fetcher(s);
            m = rd_kafka_consumer_poll(s->c, wait_ms);
            /* kicked: did it help? A lull's short wait is too short to tell (a refetch can
             * take longer): judged by it, kicks would look useless and their gap grow to a
             * second, leaving a dry queue to librdkafka's own wakeups */
            if (kicked != s->last_kick && (m || wait_ms >= SNK_POLL_WAIT_MS))
                s->kick_gap_ms = m ? 5 : s->kick_gap_ms < 500 ? s->kick_gap_ms * 2 : 1000;
        }
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                task_log(s->t, 1, "consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        w->msgs[w->n++] = m;
        bytes += m->len + m->key_len;
    }
}

/* Failed conversions go to the error handler in order: -1 when one fails the task. */
static int work_report_failures(struct snk *s, struct snk_work *w)
{
    for (size_t k = 0; k < w->nfail; k++) {
        struct snk_fail *f = &w->fails[k];
        struct errh_orig o;
        orig_of(&o, w->msgs[f->idx]);
        if (errh_record_failed(s->errh, f->stage, f->cls, f->err, &o))
            return -1;
    }
    w->nfail = 0;
    return 0;
}

/* A batch whose records the sink is done with: its messages go, its records are left for the
 * converter to free. */
static void work_retire(struct snk_work *w)
{
    for (size_t i = 0; i < w->n; i++)
        rd_kafka_message_destroy(w->msgs[i]);
    w->stale_n = w->n;
    w->n = 0;
    w->converted = 0;
}

static void work_release_held(struct snk *s)
{
    for (int i = 0; i < s->nheld; i++)
        work_retire(s->held[i]);
    s->nheld = 0;
}

static int work_is_held(const struct snk *s, const struct snk_work *w)
{
    for (int i = 0; i < s->nheld; i++)
        if (s->held[i] == w)
            return 1;
    return 0;
}

/* Puts a converted batch (w NULL: none; put_when_idle connectors then get an empty put) and
 * counts each of its messages consumed, dropped and tolerated ones included. Its records stay
 * for the converter to free, or for the sink while it keeps them (task_put_keep). */
static int work_put(struct snk *s, struct snk_work *w)
{
    size_t n = w ? w->n : 0, nrec = 0;
    for (size_t i = 0; i < n; i++)
        if (w->recs[i])
            s->put_recs[nrec++] = w->recs[i];
    int called = nrec || (!n && s->t->p->put_when_idle);
    s->t->put_keep = PUT_KEEP_NONE;
    if (called && snk_put(s, s->put_recs, nrec))
        return -1;
    int keep = called ? s->t->put_keep : PUT_KEEP_NONE;
    if (called && keep != PUT_KEEP_MORE && (nrec || !keep))
        work_release_held(s);
    if (w && keep && nrec && s->nheld == CD_PUT_KEEP_MAX) {
        task_set_error(s->t, "the connector kept the records of more than %d puts",
                       CD_PUT_KEEP_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = w->msgs[i], *next = i + 1 < n ? w->msgs[i + 1] : NULL;
        if (next && next->rkt == m->rkt && next->partition == m->partition)
            continue; /* a partition's messages come in runs: the last of each run will do */
        snk_mark_consumed(s, m);
        snk_track_topic(s, rd_kafka_topic_name(m->rkt));
    }
    if (w && keep && nrec)
        s->held[s->nheld++] = w;
    else if (w)
        work_retire(w);
    return 0;
}

/* A rebalance took parts away: a batch polled or converted but not put yet drops their
 * messages, which belong to the partitions' next owner now. */
static void work_drop_revoked(struct snk_work *w, const rd_kafka_topic_partition_list_t *parts)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++) {
        rd_kafka_message_t *m = w->msgs[i];
        if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt),
                                               m->partition)) {
            if (w->converted)
                cd_record_free(w->recs[i]);
            rd_kafka_message_destroy(m);
            continue;
        }
        w->msgs[k] = m;
        if (w->converted)
            w->recs[k] = w->recs[i];
        k++;
    }
    w->n = k;
}

static int work_init(struct snk_work *w, size_t max)
{
    w->max = max;
    w->msgs = calloc(max, sizeof(*w->msgs));
    w->recs = calloc(max, sizeof(*w->recs));
    w->fails = calloc(max, sizeof(*w->fails));
    return w->msgs && w->recs && w->fails ? 0 : -1;
}

static void work_destroy(struct snk_work *w)
{
    conv_free_stale(w);
    for (size_t i = 0; i < w->n; i++) {
        if (w->converted)
            cd_record_free(w->recs[i]);
        rd_kafka_message_destroy(w->msgs[i]);
    }
    free(w->msgs);
    free(w->recs);
    free(w->fails);
    memset(w, 0, sizeof(*w));
}

/* A batch to poll into: neither cur (about to be put) nor one the sink keeps. NULL when
 * memory is short. */
static struct snk_work *work_free(struct snk *s, const struct snk_work *cur)
{
    for (int i = 0; i < SNK_WORKS; i++) {
        struct snk_work *w = &s->work[i];
        if (w == cur || work_is_held(s, w))
            continue;
        if (!w->max && work_init(w, s->batch_max)) {
            work_destroy(w);
            return NULL;
        }
        return w;
    }
    return NULL; /* cannot be: at most CD_PUT_KEEP_MAX are held */
}

/* Polls batch N+1 and has it converted while batch N is put. */
static int snk_step(struct snk *s)
{
    struct snk_work *cur = s->polling, *prev = s->pending;
    /* A converted batch waiting for its put is not held back for new records: a record that
     * came alone waited a whole poll here, then another before the idle put that ends a JDBC
     * COPY (a Postgres row 206 ms after its produce; 105 ms without the first wait, 13-17 ms
     * with the lull's shorter second). */
    int lull = s->t->p->put_when_idle && s->lull;
    work_poll(s, cur, prev ? 0 : lull ? SNK_LULL_WAIT_MS : SNK_POLL_WAIT_MS);
    s->lull = prev != NULL; /* with records polled, the next step has a prev anyway */
    if (cur->n)
        conv_submit(s, cur);
    int rc = 0;
    if (prev || (!cur->n && s->t->p->put_when_idle))
        rc = work_put(s, prev);
    s->pending = NULL;
    if (cur->n) {
        conv_wait(s);
        cur->converted = 1;
        if (!rc)
            rc = work_report_failures(s, cur);
        s->pending = cur;
        s->polling = work_free(s, cur);
        if (!s->polling) {
            task_set_error(s->t, "out of memory");
            rc = -1;
        }
    }
    return rc;
}

static void snk_loop(struct snk *s)
{
    struct task_ctx *t = s->t;
    int64_t interval = worker_int(t->w->wconf, "offset.flush.interval.ms");
    int64_t next_commit = task_now_ms() + interval;
    while (!t->stop) {
        snk_apply_pause(s);
        if (snk_step(s)) {
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
}

static void snk_close(struct snk *s)
{
    conv_stop(s);
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
    s->t->lazy_values = NULL;
    errh_free(s->errh);
    rd_kafka_topic_partition_list_destroy(s->assigned);
    rd_kafka_topic_partition_list_destroy(s->consumed);
    free(s->last_topic);
    for (int i = 0; i < SNK_WORKS; i++)
        work_destroy(&s->work[i]);
    free(s->put_recs);
}

/* Lazy values: the sink asks for them, the converter is plain JSON and no transform would
 * need the value first. */
static void snk_lazy_setup(struct snk *s)
{
    const struct converter_plugin *vp = s->vc->plugin;
    s->lazy = s->t->p->lazy_json_values && vp->plain_json && vp->plain_json(s->vc->state) &&
              transform_chain_len(s->chain) == 0;
    s->t->lazy_values = s->lazy ? s->vc : NULL;
    if (s->lazy)
        task_log(s->t, LOG_INFO, "the connector reads schemaless JSON values from their bytes; "
                 "the converter runs only for those it leaves to it");
}

int task_record_value(struct task_ctx *t, struct cd_record *r)
{
    if (r->value_pending <= 0)
        return r->value_pending ? 1 : 0;
    char err[1024];
    r->value_pending = 0;
    if (!converter_to_connect(t->lazy_values, r->topic, r->raw_value, r->raw_value_len,
                              &r->value, err, sizeof(err)))
        return 0;
    struct errh_orig o;
    orig_of(&o, r->rt_msg);
    if (errh_record_failed(t->errh, STAGE_VALUE_CONVERTER, t->lazy_values->plugin->class_name,
                           err, &o))
        return -1;
    r->value_pending = -1;
    return 1;
}

/* The two batches and the converter thread, sized by the connector's task_set_batch_max. */
static int snk_path_open(struct snk *s)
{
    snk_lazy_setup(s);
    size_t max = s->t->batch_max ? s->t->batch_max : SINK_BATCH_MAX;
    if (max > SINK_BATCH_LIMIT)
        max = SINK_BATCH_LIMIT;
    s->batch_max = max;
    s->put_recs = calloc(max, sizeof(*s->put_recs));
    s->polling = s->put_recs ? work_free(s, NULL) : NULL;
    if (!s->polling) {
        task_set_error(s->t, "out of memory");
        return -1;
    }
    if (conv_start(s)) {
        task_set_error(s->t, "cannot start the converter thread");
        return -1;
    }
    return 0;
}

void task_sink_run(struct task_ctx *t)
{
    struct snk s = {.t = t,
                    .kick_gap_ms = 5,
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
    if (snk_path_open(&s)) {
        task_fail_with(t, "the task could not start its converter thread");
    } else if (snk_subscribe(&s)) {
        task_fail_with(t, "the task could not subscribe");
    } else {
        task_report(t, t->paused ? "PAUSED" : "RUNNING", NULL);
        s.paused_applied = t->paused;
        snk_loop(&s);
    }
    snk_close(&s);
    t->p->task_stop(s.state, t);
}
