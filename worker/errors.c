/* errors.c — see errors.h. Mirrors Connect's RetryWithToleranceOperator, LogReporter and
 * DeadLetterQueueReporter. */
#include "errors.h"

#include "kafka.h"
#include "log.h"
#include "task.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct errh {
    struct task_ctx *t;
    int tolerate_all;
    int log_enable, log_messages;
    int64_t retry_timeout_ms, retry_delay_max_ms;
    char *dlq_topic; /* NULL = no DLQ (always NULL for source tasks) */
    int dlq_rf, dlq_context;
    rd_kafka_t *dlq;
    int dlq_failed; /* a DLQ write was refused: offsets must not be committed */
    char dlq_error[512];
    struct errh_counts counts;
};

static const char *conf_str(json_t *c, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(c, k));
    return v ? v : dflt;
}

static int conf_true(json_t *c, const char *k)
{
    return !strcasecmp(conf_str(c, k, "false"), "true");
}

struct errh *errh_new(struct task_ctx *t)
{
    struct errh *h = calloc(1, sizeof(*h));
    json_t *c = t->conn_conf;
    h->t = t;
    h->tolerate_all = !strcasecmp(conf_str(c, "errors.tolerance", "none"), "all");
    h->log_enable = conf_true(c, "errors.log.enable");
    h->log_messages = conf_true(c, "errors.log.include.messages");
    h->retry_timeout_ms = atoll(conf_str(c, "errors.retry.timeout", "0"));
    h->retry_delay_max_ms = atoll(conf_str(c, "errors.retry.delay.max.ms", "60000"));
    const char *dlq = conf_str(c, "errors.deadletterqueue.topic.name", "");
    if (t->p->type == PLUGIN_SINK && *dlq)
        h->dlq_topic = strdup(dlq);
    h->dlq_rf = atoi(conf_str(c, "errors.deadletterqueue.topic.replication.factor", "3"));
    h->dlq_context = conf_true(c, "errors.deadletterqueue.context.headers.enable");
    return h;
}

void errh_free(struct errh *h)
{
    if (!h)
        return;
    if (h->dlq) {
        rd_kafka_flush(h->dlq, 5000);
        rd_kafka_destroy(h->dlq);
    }
    free(h->dlq_topic);
    free(h);
}

struct errh_counts errh_counts(const struct errh *h)
{
    return h->counts;
}

void errh_orig_from_msg(struct errh_orig *o, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    *o = (struct errh_orig){.topic = rd_kafka_topic_name(m->rkt),
                            .partition = m->partition,
                            .offset = m->offset,
                            .timestamp = rd_kafka_message_timestamp(m, NULL),
                            .key = m->key,
                            .key_len = m->key_len,
                            .value = m->payload,
                            .value_len = m->len};
    if (!rd_kafka_message_headers(m, &hdrs))
        o->headers = hdrs;
}

/* "Error encountered in task c-0. Executing stage 'S' with class 'C', where consumed record
 * is {topic='t', partition=0, offset=5, timestamp=..., timestampType=CreateTime}." */
static void describe(struct errh *h, const char *stage, const char *cls,
                     const struct errh_orig *o, char *out, size_t n)
{
    int k = snprintf(out, n, "Error encountered in task %s-%d. Executing stage '%s' with class "
                     "'%s'", h->t->conn, h->t->id, stage, cls ? cls : "unknown");
    if (k < 0 || (size_t)k >= n || !o)
        return;
    if (h->t->p->type == PLUGIN_SINK)
        snprintf(out + k, n - (size_t)k, ", where consumed record is {topic='%s', partition=%d, "
                 "offset=%lld, timestamp=%lld, timestampType=CreateTime}.", o->topic ? o->topic : "",
                 (int)o->partition, (long long)o->offset, (long long)o->timestamp);
    else
        snprintf(out + k, n - (size_t)k, ", where source record is {topic='%s'}.",
                 o->topic ? o->topic : "");
}

static void log_failure(struct errh *h, const char *where, const char *msg,
                        const struct errh_orig *o)
{
    if (!h->log_messages || !o) {
        log_error(LOGS_TASK, "%s %s", where, msg);
        return;
    }
    int kl = o->key_len > 512 ? 512 : (int)o->key_len;
    int vl = o->value_len > 2048 ? 2048 : (int)o->value_len;
    log_error(LOGS_TASK, "%s %s Record key: '%.*s' value: '%.*s'", where, msg, kl,
              o->key ? (const char *)o->key : "", vl, o->value ? (const char *)o->value : "");
}

static void dlq_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct errh *h = opaque;
    if (m->err && !h->dlq_failed) {
        h->dlq_failed = 1;
        snprintf(h->dlq_error, sizeof(h->dlq_error), "writing to the dead letter queue %s failed: %s",
                 h->dlq_topic, rd_kafka_err2str(m->err));
    }
}

static int dlq_open(struct errh *h)
{
    char err[512];
    json_t *over = json_pack("{ss ss}", "enable.idempotence", "true", "acks", "all");
    const char *k;
    json_t *v;
    json_object_foreach(h->t->conn_conf, k, v) if (!strncmp(k, "producer.override.", 18))
        json_object_set(over, k + 18, v);
    rd_kafka_conf_t *conf = kafka_conf_new(h->t->w->wconf, "producer", over, err, sizeof(err));
    json_decref(over);
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, dlq_on_delivery);
        rd_kafka_conf_set_opaque(conf, h);
        h->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!h->dlq)
            rd_kafka_conf_destroy(conf);
    }
    if (h->dlq && kafka_topic_ensure(h->dlq, h->dlq_topic, 1, h->dlq_rf, NULL, err, sizeof(err)) > 0)
        return 0;
    task_set_error(h->t, "cannot open the dead letter queue %s: %s", h->dlq_topic, err);
    return -1;
}

static void add_hdr(rd_kafka_headers_t *hd, const char *name, const char *fmt, ...)
{
    char v[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    rd_kafka_header_add(hd, name, -1, v, -1);
}

static rd_kafka_headers_t *dlq_headers(struct errh *h, const char *stage, const char *cls,
                                       const char *exc, const char *msg,
                                       const struct errh_orig *o)
{
    rd_kafka_headers_t *hd = o->headers ? rd_kafka_headers_copy(o->headers) : rd_kafka_headers_new(10);
    if (!h->dlq_context)
        return hd;
    add_hdr(hd, "__connect.errors.topic", "%s", o->topic);
    add_hdr(hd, "__connect.errors.partition", "%d", (int)o->partition);
    add_hdr(hd, "__connect.errors.offset", "%lld", (long long)o->offset);
    add_hdr(hd, "__connect.errors.connector.name", "%s", h->t->conn);
    add_hdr(hd, "__connect.errors.task.id", "%d", h->t->id);
    add_hdr(hd, "__connect.errors.stage", "%s", stage);
    add_hdr(hd, "__connect.errors.class.name", "%s", cls ? cls : "");
    add_hdr(hd, "__connect.errors.exception.class.name", "%s", exc);
    add_hdr(hd, "__connect.errors.exception.message", "%s", msg);
    add_hdr(hd, "__connect.errors.exception.stacktrace", "%s: %s\n\tat connectd task %s-%d (%s)",
            exc, msg, h->t->conn, h->t->id, stage);
    return hd;
}

/* Writes the original record to the DLQ. The write is acknowledged asynchronously; errh_flush
 * waits for it before the runtime commits offsets past this record. */
static int dlq_send(struct errh *h, const char *stage, const char *cls, const char *exc,
                    const char *msg, const struct errh_orig *o)
{
    if (!h->dlq && dlq_open(h))
        return -1;
    rd_kafka_headers_t *hd = dlq_headers(h, stage, cls, exc, msg, o);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(h->dlq, RD_KAFKA_V_TOPIC(h->dlq_topic),
                                  RD_KAFKA_V_KEY(o->key, o->key_len),
                                  RD_KAFKA_V_VALUE((void *)o->value, o->value_len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_TIMESTAMP(o->timestamp > 0 ? o->timestamp : 0),
                                  RD_KAFKA_V_HEADERS(hd), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(h->dlq, 50);
    if (e) {
        rd_kafka_headers_destroy(hd);
        task_set_error(h->t, "cannot write to the dead letter queue %s: %s", h->dlq_topic,
                       rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(h->dlq, 0);
    h->counts.dlq++;
    return 0;
}

int errh_record_failed(struct errh *h, const char *stage, const char *class_name,
                       const char *msg, const struct errh_orig *orig)
{
    char where[1536];
    const char *exc = strcmp(stage, STAGE_TASK_PUT) ? "org.apache.kafka.connect.errors.DataException"
                                                    : "org.apache.kafka.connect.errors.ConnectException";
    h->counts.failed++;
    describe(h, stage, class_name, orig, where, sizeof(where));
    if (!h->tolerate_all) {
        task_set_error(h->t, "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded "
                       "in error handler\nCaused by: %s: %s\n%s", exc, msg, where);
        return -1;
    }
    if (h->log_enable)
        log_failure(h, where, msg, orig);
    h->counts.skipped++;
    if (h->dlq_topic && orig && dlq_send(h, stage, class_name, exc, msg, orig))
        return -1;
    return 0;
}

int errh_should_retry(struct errh *h, int64_t first_failure_ms, int attempt, int *delay_ms)
{
    int64_t delay = 300;
    for (int i = 0; i < attempt && delay < h->retry_delay_max_ms; i++)
        delay *= 2;
    if (delay > h->retry_delay_max_ms)
        delay = h->retry_delay_max_ms;
    *delay_ms = (int)delay;
    if (h->retry_timeout_ms > 0 && task_now_ms() + delay - first_failure_ms > h->retry_timeout_ms)
        return 0;
    h->counts.retried++;
    return 1;
}

int errh_flush(struct errh *h, int timeout_ms)
{
    if (!h)
        return 0;
    if (h->dlq && rd_kafka_flush(h->dlq, timeout_ms) && !h->dlq_failed) {
        h->dlq_failed = 1;
        snprintf(h->dlq_error, sizeof(h->dlq_error),
                 "records for the dead letter queue %s were not acknowledged in %d ms",
                 h->dlq_topic, timeout_ms);
    }
    if (h->dlq_failed) {
        task_set_error(h->t, "%s", h->dlq_error);
        return -1;
    }
    return 0;
}

int task_record_failed(struct task_ctx *t, const struct cd_record *r, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct errh_orig o;
    if (r->rt_msg)
        errh_orig_from_msg(&o, r->rt_msg);
    else
        o = (struct errh_orig){.topic = r->topic, .partition = r->partition, .offset = r->offset,
                               .timestamp = r->timestamp, .key = r->raw_key,
                               .key_len = r->raw_key_len, .value = r->raw_value,
                               .value_len = r->raw_value_len, .headers = r->headers};
    if (!t->errh) {
        task_set_error(t, "%s", msg);
        return -1;
    }
    return errh_record_failed(t->errh, STAGE_TASK_PUT, t->p->class_name, msg, &o);
}
