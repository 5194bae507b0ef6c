/* http.c — HttpSourceConnector: an HTTP endpoint (the seeds' Flask ingest apps, and the
 * Confluent REST Proxy produce API) whose 200 means "durable in Kafka".
 *
 * libmicrohttpd runs the listener on its own epoll thread. A finished request body becomes
 * records in a queue and its connection is suspended; the task thread hands the queue to the
 * runtime in poll(), and commit_record() (Kafka acknowledged, or a transform dropped the
 * record) fills in each record's partition and offset. When the last record of a request is
 * in, the connection is resumed and the reply lists them. If the task stops first, waiting
 * requests get 503: a request is never acknowledged without its records being in Kafka. */
#define _GNU_SOURCE
#include "http.h"
#include "json_alloc.h"

#include "deadline.h"
#include "log.h"
#include "plugin.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_LISTEN_THREADS 2

static int listeners_check(const char *v, char *err, size_t errlen);
static int regex_check(const char *v, char *err, size_t errlen);

static const struct cfg_def http_defs[] = {
    {"http.listeners", CFG_LIST, "http://0.0.0.0:8080", 0, CFG_HIGH,
     "Where the connector listens: http://host:port, or https://host:port with "
     "http.ssl.certificate.location and http.ssl.key.location.",
     "HTTP", 0, NULL, listeners_check},
    {"http.paths", CFG_LIST, "", 0, CFG_HIGH,
     "Request paths and the topic each writes to: /cow=cow,/sensor_data=sensors. REST Proxy "
     "paths (/topics/{topic}, /v3/clusters/{c}/topics/{topic}/records) work in addition.",
     "HTTP", 0, NULL, http_paths_check},
    {"http.key.field", CFG_STRING, "", 0, CFG_MEDIUM,
     "Field of each JSON record whose value becomes the record key; empty = null key.", "HTTP", 0,
     NULL, NULL},
    {"http.split.field", CFG_STRING, "", 0, CFG_MEDIUM,
     "Field holding an array: one record per element, with the other top-level fields copied "
     "in (the Sensor Logger app's payload shape).",
     "HTTP", 0, NULL, NULL},
    {"http.auth.token", CFG_PASSWORD, NULL, 0, CFG_HIGH,
     "When set, requests need the header Authorization: Bearer <token> (else 401).", "HTTP", 1,
     NULL, NULL},
    {"http.max.body.bytes", CFG_LONG, "33554432", 0, CFG_MEDIUM,
     "Largest request body accepted; larger ones get 413.", "HTTP", 0, NULL, NULL},
    {"http.proxy.topics.regex", CFG_STRING, ".*", 0, CFG_MEDIUM,
     "Topics the REST Proxy endpoints may write to (the whole name must match); others get 403.",
     "HTTP", 0, NULL, regex_check},
    {"http.max.inflight.records", CFG_LONG, "100000", 0, CFG_LOW,
     "Records accepted but not yet acknowledged by Kafka above which new requests get 429 "
     "with Retry-After.",
     "HTTP", 0, NULL, NULL},
    {"http.ssl.certificate.location", CFG_STRING, "", 0, CFG_MEDIUM,
     "PEM certificate (chain) of an https:// listener.", "TLS", 0, NULL, NULL},
    {"http.ssl.key.location", CFG_STRING, "", 0, CFG_MEDIUM,
     "PEM private key (unencrypted) of an https:// listener.", "TLS", 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

struct listener {
    int tls;
    char host[256];
    int port;
};

static int listener_parse(const char *v, struct listener *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    const char *rest = NULL;
    if (!strncmp(v, "http://", 7))
        rest = v + 7;
    else if (!strncmp(v, "https://", 8)) {
        rest = v + 8;
        l->tls = 1;
    }
    const char *colon = rest ? strrchr(rest, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t hl = colon ? (size_t)(colon - rest) : 0;
    if (!rest || !colon || (*end && strcmp(end, "/")) || port < 0 || port > 65535 ||
        hl >= sizeof(l->host)) {
        snprintf(err, errlen, "'%s' is not a listener URL such as http://0.0.0.0:8080", v);
        return -1;
    }
    if (hl >= 2 && rest[0] == '[' && rest[hl - 1] == ']') {
        rest++;
        hl -= 2;
    }
    memcpy(l->host, rest, hl);
    l->port = (int)port;
    return 0;
}

static int listeners_check(const char *v, char *err, size_t errlen)
{
    struct listener l;
    if (strchr(v, ',')) {
        snprintf(err, errlen, "one listener per connector (create another connector for more)");
        return -1;
    }
    return listener_parse(v, &l, err, errlen);
}

static int regex_check(const char *v, char *err, size_t errlen)
{
    regex_t re;
    int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char m[200];
        regerror(rc, &re, m, sizeof(m));
        snprintf(err, errlen, "invalid regular expression: %s", m);
        return -1;
    }
    regfree(&re);
    return 0;
}

static json_t *http_task_configs(json_t *conf, int max_tasks)
{
    if (max_tasks > 1)
        log_warn(LOGS_CONNECTOR, "HttpSourceConnector runs one task per listener; tasks.max=%d "
                                 "is reduced to 1", max_tasks);
    json_t *arr = json_array();
    json_array_append_new(arr, json_deep_copy(conf));
    return arr;
}

enum { RS_READ = 0, RS_WAIT, RS_DONE, RS_ABORTED };

struct hreq;

/* Where one record of a request landed; the record's opaque points here. */
struct rec_tag {
    struct hreq *req;
    int32_t partition;
    int64_t offset;
    rd_kafka_resp_err_t err; /* why Kafka does not have the record (0 = it has, or dropped) */
};

struct hreq {
    struct hsrc *s;
    struct MHD_Connection *conn;
    char *topic;
    int kind, proxy, v3;
    char *body;
    size_t len, cap;
    int status; /* an error found before the body ended (0 = none) */
    char msg[512];
    int n, ndone, taken;
    struct cd_record **recs; /* not yet handed to the runtime: recs[taken..n) */
    struct rec_tag *tags;
    int state, orphan;
    struct hreq *qnext;        /* ready queue */
    struct hreq *wprev, *wnext; /* waiting list (state RS_WAIT) */
};

struct hsrc {
    struct task_ctx *t;
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hreq *qhead, *qtail; /* requests with records not yet polled */
    struct hreq *waiting;
    long inflight, max_inflight;
    /* A record failed with a retriable error (Kafka unreachable) and none was acknowledged
     * since: while records are in flight, new requests get 503 at once. */
    int kafka_down;
    rd_kafka_resp_err_t down_err;
    int woken; /* delivery reports wait for the runtime: poll returns at once */
    char *paths, *key_field, *split_field, *token, *cert_pem, *key_pem;
    size_t max_body;
    regex_t proxy_re;
    int have_re;
};

static void hreq_free(struct hreq *q)
{
    if (!q)
        return;
    for (int i = q->taken; q->recs && i < q->n; i++)
        cd_record_free(q->recs[i]);
    free(q->recs);
    free(q->tags);
    free(q->topic);
    free(q->body);
    free(q);
}

static void wait_unlink(struct hsrc *s, struct hreq *q)
{
    if (q->wprev)
        q->wprev->wnext = q->wnext;
    else if (s->waiting == q)
        s->waiting = q->wnext;
    if (q->wnext)
        q->wnext->wprev = q->wprev;
    q->wprev = q->wnext = NULL;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                  const char *retry_after)
{
    char *txt = cd_json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* REST Proxy style error body: {"error_code": <status>01-style code, "message": ...}. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    json_t *b = json_pack("{s:i s:s}", "error_code", (int)status * 100 + 1, "message", msg);
    return reply_json(c, status, b, status == 429 || status == 503 ? "1" : NULL);
}

static void set_status(struct hreq *q, int status, const char *fmt, const char *arg)
{
    q->status = status;
    snprintf(q->msg, sizeof(q->msg), fmt, arg);
}

/* Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
static int token_ok(const char *header, const char *token)
{
    char want[1024];
    int n = snprintf(want, sizeof(want), "Bearer %s", token);
    if (!header || n < 0 || (size_t)n >= sizeof(want) || strlen(header) != (size_t)n)
        return 0;
    unsigned char d = 0;
    for (int i = 0; i < n; i++)
        d |= (unsigned char)(header[i] ^ want[i]);
    return d == 0;
}

static int proxy_topic_allowed(struct hsrc *s, const char *topic)
{
    regmatch_t m;
    return s->have_re && !regexec(&s->proxy_re, topic, 1, &m, 0) && m.rm_so == 0 &&
           (size_t)m.rm_eo == strlen(topic);
}

/* First call of a request: auth, path, method, content type, announced size. */
static void hreq_route(struct hsrc *s, struct hreq *q, const char *url, const char *method)
{
    struct MHD_Connection *c = q->conn;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (s->token && *s->token && !token_ok(auth, s->token))
        return set_status(q, 401, "%s", auth ? "invalid bearer token" : "missing bearer token");
    q->topic = http_route_topic(s->paths, url);
    if (!q->topic) {
        q->topic = http_proxy_topic(url, &q->v3);
        q->proxy = q->topic != NULL;
        if (q->proxy && !proxy_topic_allowed(s, q->topic))
            return set_status(q, 403, "writing to topic %s is not allowed here", q->topic);
    }
    if (!q->topic)
        return set_status(q, 404, "no route for %s", url);
    if (strcmp(method, "POST"))
        return set_status(q, 405, "method %s is not allowed: use POST", method);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    q->kind = http_content_kind(ct, q->proxy);
    if (q->v3 && q->kind == HK_JSON)
        q->kind = HK_V3;
    if (q->kind < 0 || (q->v3 && q->kind != HK_V3))
        return set_status(q, 415, "unsupported Content-Type %s", ct ? ct : "(none)");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > s->max_body)
        return set_status(q, 413, "the body is larger than http.max.body.bytes (%s)", cl);
}

static void hreq_append(struct hsrc *s, struct hreq *q, const char *data, size_t n)
{
    if (q->status)
        return; /* the body of a request already refused is read and dropped */
    if (q->len + n > s->max_body) {
        set_status(q, 413, "the body is larger than http.max.body.bytes%s", "");
        free(q->body);
        q->body = NULL;
        q->len = q->cap = 0;
        return;
    }
    if (q->len + n > q->cap) {
        q->cap = (q->len + n) * 2 > s->max_body ? s->max_body : (q->len + n) * 2;
        q->body = realloc(q->body, q->cap);
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
}

static json_t *bytes_schema(void)
{
    return json_pack("{s:s s:b}", "type", "bytes", "optional", 1);
}

static struct cd_record *item_record(struct hreq *q, struct http_item *it, int i)
{
    struct cd_record *r = cd_record_new(q->topic);
    r->key.value = it->key;
    r->key.schema = it->key_bytes ? bytes_schema() : NULL;
    r->value.value = it->value;
    r->value.schema = it->value_bytes ? bytes_schema() : NULL;
    it->key = it->value = NULL;
    r->partition = it->partition;
    q->tags[i].req = q;
    q->tags[i].partition = -1;
    q->tags[i].offset = -1;
    r->opaque = &q->tags[i];
    return r;
}

/* 200 when Kafka has every record (or a transform dropped it); else 503 when every failure
 * was retriable (Kafka unreachable: retrying the request later should work), 500 otherwise. */
static unsigned offsets_status(const struct hreq *q)
{
    unsigned status = 200;
    for (int i = 0; i < q->n; i++) {
        if (!q->tags[i].err)
            continue;
        if (http_kafka_error_code(q->tags[i].err) != 50003)
            return 500;
        status = 503;
    }
    return status;
}

/* A record Kafka did not take: REST Proxy v2's {error_code, error}, with partition and offset
 * null on the REST Proxy paths (as it answers them). */
static json_t *record_error(const struct hreq *q, const struct rec_tag *g)
{
    json_t *o = json_pack("{s:i s:s}", "error_code", http_kafka_error_code(g->err), "error",
                          rd_kafka_err2str(g->err));
    if (q->proxy) {
        json_object_set_new(o, "partition", json_null());
        json_object_set_new(o, "offset", json_null());
    }
    return o;
}

/* The common answer, {"offsets":[{"partition":0,"offset":12},...]}, written directly: with
 * one record per request, building it with jansson was a good part of the listener's
 * user-space time (a dozen allocations per request). */
static enum MHD_Result reply_offsets_plain(struct hreq *q)
{
    size_t cap = 16 + (size_t)q->n * 64, len = 0;
    char *txt = malloc(cap);
    if (!txt)
        return MHD_NO;
    len += (size_t)snprintf(txt, cap, "{\"offsets\":[");
    for (int i = 0; i < q->n; i++) {
        const struct rec_tag *g = &q->tags[i];
        const char *sep = i ? "," : "";
        /* -1: the record was dropped by a transform (or tolerated), so it has no offset */
        if (g->offset < 0)
            len += (size_t)snprintf(txt + len, cap - len, "%s{\"partition\":null,\"offset\":null}",
                                    sep);
        else
            len += (size_t)snprintf(txt + len, cap - len, "%s{\"partition\":%d,\"offset\":%lld}",
                                    sep, (int)g->partition, (long long)g->offset);
    }
    len += (size_t)snprintf(txt + len, cap - len, "]}");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(q->conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_offsets(struct hreq *q)
{
    unsigned status = offsets_status(q);
    const char *retry = status == 503 ? "1" : NULL;
    if (q->v3 && q->tags[0].err) {
        struct rec_tag *g = &q->tags[0];
        return reply_json(q->conn, status,
                          json_pack("{s:i s:s}", "error_code", http_kafka_error_code(g->err),
                                    "message", rd_kafka_err2str(g->err)),
                          retry);
    }
    if (q->v3) {
        struct rec_tag *g = &q->tags[0];
        return reply_json(q->conn, 200,
                          json_pack("{s:i s:s s:i s:I}", "error_code", 200, "topic_name", q->topic,
                                    "partition_id", (int)g->partition, "offset",
                                    (json_int_t)g->offset),
                          NULL);
    }
    if (!q->proxy && status == 200)
        return reply_offsets_plain(q);
    json_t *offs = json_array();
    for (int i = 0; i < q->n; i++) {
        struct rec_tag *g = &q->tags[i];
        if (g->err) {
            json_array_append_new(offs, record_error(q, g));
            continue;
        }
        /* -1: the record was dropped by a transform (or tolerated), so it has no offset */
        json_t *o = g->offset < 0 ? json_pack("{s:n s:n}", "partition", "offset")
                                  : json_pack("{s:i s:I}", "partition", (int)g->partition,
                                              "offset", (json_int_t)g->offset);
        if (q->proxy) {
            json_object_set_new(o, "error_code", json_null());
            json_object_set_new(o, "error", json_null());
        }
        json_array_append_new(offs, o);
    }
    json_t *b = json_pack("{s:o}", "offsets", offs);
    if (q->proxy) {
        json_object_set_new(b, "key_schema_id", json_null());
        json_object_set_new(b, "value_schema_id", json_null());
    }
    return reply_json(q->conn, status, b, retry);
}

/* The body is complete: parse it, queue its records and suspend until Kafka has them. */
static enum MHD_Result hreq_submit(struct hsrc *s, struct hreq *q)
{
    struct http_item *items;
    char err[512];
    int n = http_parse_body(q->kind, q->body ? q->body : "", q->len, s->split_field,
                            s->key_field, &items, err, sizeof(err));
    free(q->body);
    q->body = NULL;
    if (n < 0)
        return reply_error(q->conn, 400, err);
    if (q->v3 && n != 1) {
        http_items_free(items, n);
        return reply_error(q->conn, 400, "a v3 request holds one record");
    }
    q->tags = calloc((size_t)(n ? n : 1), sizeof(*q->tags));
    q->n = n;
    if (n == 0) {
        free(items);
        return reply_offsets(q);
    }
    pthread_mutex_lock(&s->mu);
    int full = s->inflight > 0 && s->inflight + n > s->max_inflight;
    /* Kafka looks unreachable and a request already probes it: do not pile up more. */
    int down = s->kafka_down && s->inflight > 0;
    rd_kafka_resp_err_t down_err = s->down_err;
    pthread_mutex_unlock(&s->mu);
    if (full || down) {
        http_items_free(items, n);
        if (down) {
            snprintf(err, sizeof(err), "Kafka is unreachable (%s); retry later",
                     rd_kafka_err2str(down_err));
            return reply_error(q->conn, 503, err);
        }
        return reply_error(q->conn, 429, "too many records waiting for Kafka; retry later");
    }
    q->recs = calloc((size_t)n, sizeof(*q->recs));
    for (int i = 0; i < n; i++)
        q->recs[i] = item_record(q, &items[i], i);
    http_items_free(items, n);
    /* Suspend before the records become visible, so a resume can never come first. */
    MHD_suspend_connection(q->conn);
    pthread_mutex_lock(&s->mu);
    q->state = RS_WAIT;
    s->inflight += n;
    if (s->qtail)
        s->qtail->qnext = q;
    else
        s->qhead = q;
    s->qtail = q;
    q->wnext = s->waiting;
    if (s->waiting)
        s->waiting->wprev = q;
    s->waiting = q;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct hsrc *s = cls;
    struct hreq *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof(*q));
        q->s = s;
        q->conn = c;
        *con_cls = q;
        hreq_route(s, q, url, method);
        return MHD_YES;
    }
    if (*upload_size) {
        hreq_append(s, q, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->state == RS_READ)
        return q->status ? reply_error(c, (unsigned)q->status, q->msg) : hreq_submit(s, q);
    if (q->state == RS_ABORTED)
        return reply_error(c, 503, "the connector stopped before Kafka acknowledged the records");
    return reply_offsets(q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct hsrc *s = cls;
    struct hreq *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    int keep = q->state == RS_WAIT; /* records still travel: commit_record frees it */
    if (keep)
        q->orphan = 1;
    pthread_mutex_unlock(&s->mu);
    if (!keep)
        hreq_free(q);
}

static int http_poll(void *state, struct task_ctx *t, struct cd_record **recs, int max,
                     int timeout_ms)
{
    struct hsrc *s = state;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    if (!s->qhead && !s->woken) {
        /* The runtime serves delivery reports (and so the waiting requests' replies) between
         * polls: http_wake ends the wait when some arrive. The short wait with records in
         * Kafka's hands is only a safety net. */
        long wait_ms = s->inflight > 0 ? 10 : timeout_ms;
        struct timespec until;
        cd_deadline(&until, wait_ms);
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    s->woken = 0;
    while (s->qhead && n < max) {
        struct hreq *q = s->qhead;
        while (q->taken < q->n && n < max)
            recs[n++] = q->recs[q->taken++];
        if (q->taken == q->n) {
            free(q->recs);
            q->recs = NULL;
            s->qhead = q->qnext;
            if (!s->qhead)
                s->qtail = NULL;
            q->qnext = NULL;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* One record of a request is settled: in Kafka, dropped, or failed with err. When it is the
 * request's last, the connection is resumed and answered. */
static void record_done(struct hsrc *s, const struct cd_record *r, rd_kafka_resp_err_t err)
{
    struct rec_tag *g = r->opaque;
    struct MHD_Connection *resume = NULL;
    pthread_mutex_lock(&s->mu);
    struct hreq *q = g->req;
    g->partition = r->partition;
    g->offset = r->offset;
    g->err = err;
    if (err && http_kafka_error_code(err) == 50003) {
        s->kafka_down = 1;
        s->down_err = err;
    } else if (r->offset >= 0) {
        s->kafka_down = 0;
    }
    s->inflight--;
    if (++q->ndone == q->n && q->state == RS_WAIT) {
        q->state = RS_DONE;
        wait_unlink(s, q);
        if (q->orphan)
            hreq_free(q);
        else
            resume = q->conn;
    }
    pthread_mutex_unlock(&s->mu);
    /* Outside our lock: the connection stays suspended (so alive) until this call. */
    if (resume)
        MHD_resume_connection(resume);
}

static void http_commit(void *state, struct task_ctx *t, const struct cd_record *r)
{
    record_done(state, r, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void http_wake(void *state)
{
    struct hsrc *s = state;
    pthread_mutex_lock(&s->mu);
    s->woken = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Every broker connection is down: while a request's records already wait for Kafka (they
 * probe it until message.timeout.ms), new requests get 503 at once. */
static void http_kafka_unreachable(void *state, struct task_ctx *t, rd_kafka_resp_err_t err)
{
    struct hsrc *s = state;
    pthread_mutex_lock(&s->mu);
    s->kafka_down = 1;
    s->down_err = err;
    pthread_mutex_unlock(&s->mu);
}

/* Kafka will not have r: its request's reply says so (500/503) instead of failing the task. */
static int http_record_failed(void *state, struct task_ctx *t, const struct cd_record *r,
                              rd_kafka_resp_err_t err)
{
    task_log(t, LOG_DEBUG, "a record for topic %s was not stored: %s", r->topic,
             rd_kafka_err2str(err));
    record_done(state, r, err);
    return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, k, m);
    fclose(f);
    fclose(m);
    return buf;
}

static char *conf_dup(json_t *conf, const char *k)
{
    const char *v = cfg_get_str(conf, http_defs, k);
    return strdup(v ? v : "");
}

static int http_tls_load(struct hsrc *s, json_t *conf)
{
    char err[512];
    const char *cert = cfg_get_str(conf, http_defs, "http.ssl.certificate.location");
    const char *key = cfg_get_str(conf, http_defs, "http.ssl.key.location");
    if (!cert || !*cert || !key || !*key) {
        task_set_error(s->t, "http.listeners: an https:// listener needs "
                             "http.ssl.certificate.location and http.ssl.key.location");
        return CD_ERR_CONFIG;
    }
    s->cert_pem = read_file(cert, err, sizeof(err));
    s->key_pem = s->cert_pem ? read_file(key, err, sizeof(err)) : NULL;
    if (!s->key_pem) {
        task_set_error(s->t, "http.ssl: %s", err);
        return CD_ERR_CONFIG;
    }
    return 0;
}

static int http_listen(struct hsrc *s, json_t *conf)
{
    char err[512];
    struct listener l;
    if (listener_parse(cfg_get_str(conf, http_defs, "http.listeners"), &l, err, sizeof(err))) {
        task_set_error(s->t, "http.listeners: %s", err);
        return CD_ERR_CONFIG;
    }
    if (l.tls && http_tls_load(s, conf))
        return CD_ERR_CONFIG;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", l.port);
    int gai = getaddrinfo(*l.host ? l.host : NULL, port, &hints, &ai);
    if (gai) {
        task_set_error(s->t, "http.listeners: cannot resolve %s: %s", l.host, gai_strerror(gai));
        return CD_ERR_CONFIG;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (l.tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {l.tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    /* A connection's memory pool is 16 KB instead of MHD's 32 KB: MHD clears the used part of
     * it for every request on a keep-alive connection (one record per request: 45k-47k ->
     * 47k-49.5k records/s in alternating runs). Headers up to about 15 KB still fit (nginx and
     * Apache allow 8 KB per line); larger ones get 431. Bodies stream through it either way.
     * Two listener threads (each with its own epoll set): with one record per request the
     * single thread was the busiest of the worker (about 85% of a core, mostly syscalls). */
    s->d = MHD_start_daemon(flags, (uint16_t)l.port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_LISTEN_THREADS,
                            MHD_OPTION_ARRAY, tls,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        task_set_error(s->t, "cannot listen on %s:%d (port in use, or bad TLS files?)",
                       l.host, l.port);
        return CD_ERR_FATAL;
    }
    task_log(s->t, LOG_INFO, "listening on %s://%s:%d", l.tls ? "https" : "http", l.host,
             l.port);
    return 0;
}

static void http_stop(void *state, struct task_ctx *t);

static int http_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct hsrc *s = calloc(1, sizeof(*s));
    s->t = t;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->paths = conf_dup(conf, "http.paths");
    s->key_field = conf_dup(conf, "http.key.field");
    s->split_field = conf_dup(conf, "http.split.field");
    s->token = conf_dup(conf, "http.auth.token");
    s->max_body = (size_t)cfg_get_int(conf, http_defs, "http.max.body.bytes", 33554432);
    s->max_inflight = (long)cfg_get_int(conf, http_defs, "http.max.inflight.records", 100000);
    s->have_re = !regcomp(&s->proxy_re, cfg_get_str(conf, http_defs, "http.proxy.topics.regex"),
                          REG_EXTENDED);
    *state = s;
    int rc = http_listen(s, conf);
    if (rc) {
        http_stop(s, t);
        *state = NULL;
    }
    return rc;
}

/* Runs after the runtime handed back every acknowledged record: what still waits will never
 * be acknowledged, so those requests get 503. */
static void http_stop(void *state, struct task_ctx *t)
{
    struct hsrc *s = state;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int nresume = 0;
    for (struct hreq *q = s->waiting; q; q = q->wnext)
        nresume++;
    struct MHD_Connection **conns = calloc((size_t)nresume + 1, sizeof(*conns));
    int k = 0;
    while (s->waiting) {
        struct hreq *q = s->waiting;
        wait_unlink(s, q);
        q->state = RS_ABORTED;
        if (q->orphan)
            hreq_free(q);
        else
            conns[k++] = q->conn;
    }
    s->qhead = s->qtail = NULL;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < k; i++)
        MHD_resume_connection(conns[i]);
    free(conns);
    if (s->d) {
        if (k) {
            struct timespec ts = {0, 200 * 1000000L}; /* let the 503 replies go out */
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(s->d);
    }
    if (s->have_re)
        regfree(&s->proxy_re);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->paths);
    free(s->key_field);
    free(s->split_field);
    free(s->token);
    free(s->cert_pem);
    free(s->key_pem);
    free(s);
}

static const char *const http_aliases[] = {"HttpSourceConnector", "HttpSource", NULL};

/* Clients wait for the answer: a request whose records Kafka cannot take gets its 503 within
 * about 30 s (librdkafka's default is 300 s; producer.override.message.timeout.ms changes
 * it). librdkafka notices timed-out records when the broker thread wakes for a reconnect, so
 * the reconnect backoff is capped at 1 s (default 10 s): the 503 comes close to the timeout and
 * requests succeed again soon after Kafka is back. Each request waits for its records' acks,
 * so linger.ms is 0.2 instead of librdkafka's 5 (it takes fractions): one record per request
 * over 64 keep-alive connections makes 7k records/s at 5, 30k at 1, 42k-46k at 0.2, and 100
 * per request is the same at all three. Not 0: librdkafka 2.0.2 then wakes its broker thread
 * for every record and sends a produce request each time (17k). */
static const char *const http_producer_defaults[] = {
    "message.timeout.ms", "30000", "reconnect.backoff.max.ms", "1000", "linger.ms", "0.2", NULL};

const struct connector_plugin http_source_plugin = {
    .class_name = "io.connectd.http.HttpSourceConnector",
    .aliases = http_aliases,
    .type = PLUGIN_SOURCE,
    .version = CD_VERSION,
    .config = http_defs,
    .task_configs = http_task_configs,
    .task_start = http_start,
    .task_stop = http_stop,
    .poll = http_poll,
    .commit_record = http_commit,
    .record_failed = http_record_failed,
    .kafka_unreachable = http_kafka_unreachable,
    .wake = http_wake,
    .producer_defaults = http_producer_defaults,
};
