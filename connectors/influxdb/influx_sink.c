/* influx_sink.c — InfluxDbSinkConnector: records → InfluxDB points over HTTP (libcurl).
 *
 * InfluxDB 1.x (POST /write?db=&rp=&precision=ns, basic auth) when influxdb.db is set;
 * InfluxDB 2.x (POST /api/v2/write?org=&bucket=&precision=ns, Authorization: Token) when
 * influxdb.org/influxdb.bucket are. Lines are buffered up to batch.size or linger.ms and sent
 * gzipped. Offsets of buffered lines are never reported durable: flush lowers them to the
 * first line InfluxDB has not acknowledged with a 2xx.
 *
 * Replies follow Telegraf's table: 413 → split in half and resend; 400/422 → InfluxDB kept the
 * good points of the batch, the rejected ones (found from the error text) go to
 * task_record_failed; 401/403 → fatal; 429/502/503/504 → back off, honouring Retry-After;
 * other 5xx and transport errors → retry. */
#define _GNU_SOURCE
#include "influx_line.h"
#include "log.h"
#include "plugin.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#define REPLY_MAX (1 << 20)      /* error bodies beyond this are cut */
#define RETRY_AFTER_MAX_MS 60000 /* a longer Retry-After is capped, as Telegraf does */
/* Pipelined writes in flight at most. With one, InfluxDB sat idle while it answered and
 * while the next batch was gzipped; two keep it busy (about 1.5x the points/s here). */
#define IFX_WRITES 2

static int url_check(const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
        snprintf(err, errlen, "Invalid value %s for configuration influxdb.url: expected an "
                 "http:// or https:// URL such as http://localhost:8086", v);
        return -1;
    }
    return 0;
}

static int positive_check(const char *v, char *err, size_t errlen)
{
    if (atoll(v) < 1) {
        snprintf(err, errlen, "Invalid value %s: must be at least 1", v);
        return -1;
    }
    return 0;
}

#define GRP_CONN "Connection"
#define GRP_MAP "Mapping"
#define GRP_WRITE "Writes"

static const struct cfg_def influx_defs[] = {
    {"influxdb.url", CFG_STRING, NULL, 1, CFG_HIGH,
     "The URL of the InfluxDB server, e.g. http://localhost:8086.", GRP_CONN, 0, NULL, url_check},
    {"influxdb.db", CFG_STRING, "", 0, CFG_HIGH,
     "InfluxDB 1.x: the database to write to. Setting it selects the 1.x API (POST /write). "
     "The database is created when it does not exist.",
     GRP_CONN, 0, NULL, NULL},
    {"influxdb.username", CFG_STRING, "", 0, CFG_MEDIUM,
     "InfluxDB 1.x: the user name (HTTP basic authentication); empty = no authentication.",
     GRP_CONN, 0, NULL, NULL},
    {"influxdb.password", CFG_PASSWORD, "", 0, CFG_MEDIUM, "InfluxDB 1.x: the user's password.",
     GRP_CONN, 1, NULL, NULL},
    {"influxdb.retention.policy", CFG_STRING, "", 0, CFG_LOW,
     "InfluxDB 1.x: the retention policy to write to; empty = the database's default.", GRP_CONN,
     0, NULL, NULL},
    {"influxdb.token", CFG_PASSWORD, "", 0, CFG_HIGH,
     "InfluxDB 2.x: the API token, sent as 'Authorization: Token ...'.", GRP_CONN, 1, NULL, NULL},
    {"influxdb.org", CFG_STRING, "", 0, CFG_HIGH,
     "InfluxDB 2.x: the organization. Setting influxdb.org and influxdb.bucket selects the 2.x "
     "API (POST /api/v2/write).",
     GRP_CONN, 0, NULL, NULL},
    {"influxdb.bucket", CFG_STRING, "", 0, CFG_HIGH, "InfluxDB 2.x: the bucket to write to.",
     GRP_CONN, 0, NULL, NULL},
    {"measurement.name.format", CFG_STRING, "${topic}", 0, CFG_MEDIUM,
     "The measurement name: ${topic} is the record's topic, ${value.<field>} a field of the "
     "value (that field is then not written as a field).",
     GRP_MAP, 0, NULL, NULL},
    {"tag.fields", CFG_LIST, "", 0, CFG_MEDIUM,
     "Fields of the value written as tags (nested ones as a.b). A 'tags' map in the value "
     "also becomes tags. Every other scalar is a field; nested objects are flattened with '.'.",
     GRP_MAP, 0, NULL, NULL},
    {"event.time.fieldname", CFG_STRING, "", 0, CFG_MEDIUM,
     "The field holding the point's time: epoch s, ms, us or ns (told apart by magnitude) or an "
     "ISO-8601 string. Empty = the Kafka record timestamp.",
     GRP_MAP, 0, NULL, NULL},
    {"influxdb.gzip.enable", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "Compress write requests with gzip.", GRP_WRITE, 0, NULL, NULL},
    {"batch.size", CFG_INT, "5000", 0, CFG_MEDIUM,
     "The most points sent in one write request.", GRP_WRITE, 0, NULL, positive_check},
    {"linger.ms", CFG_LONG, "1000", 0, CFG_LOW,
     "How long points may wait for a batch to fill before they are sent anyway.", GRP_WRITE, 0,
     NULL, NULL},
    {"influxdb.timeout.ms", CFG_INT, "30000", 0, CFG_LOW,
     "How long one write request may take before it is retried.", GRP_WRITE, 0, NULL,
     positive_check},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *conf_s(json_t *c, const char *k)
{
    const char *v = cfg_get_str(c, influx_defs, k);
    return v ? v : "";
}

static void add_error(json_t *errors, const char *key, const char *msg)
{
    json_t *a = json_object_get(errors, key);
    if (!a) {
        a = json_array();
        json_object_set_new(errors, key, a);
    }
    json_array_append_new(a, json_string(msg));
}

/* 2 = InfluxDB 2.x, 1 = 1.x, decided by which keys are set. */
static int api_version(json_t *conf)
{
    return *conf_s(conf, "influxdb.org") || *conf_s(conf, "influxdb.bucket") ||
                   *conf_s(conf, "influxdb.token")
               ? 2
               : 1;
}

static int influx_validate(json_t *conf, json_t *errors)
{
    int n = 0, v1 = *conf_s(conf, "influxdb.db") != 0;
    if (api_version(conf) == 2) {
        if (v1) {
            add_error(errors, "influxdb.db",
                      "influxdb.db selects InfluxDB 1.x (POST /write) but influxdb.org, "
                      "influxdb.bucket or influxdb.token select InfluxDB 2.x "
                      "(POST /api/v2/write): set only one of the two");
            n++;
        }
        static const char *const need[] = {"influxdb.org", "influxdb.bucket"};
        for (int i = 0; i < 2; i++)
            if (!*conf_s(conf, need[i])) {
                char msg[256];
                snprintf(msg, sizeof(msg), "InfluxDB 2.x (POST /api/v2/write, chosen because "
                         "influxdb.org, influxdb.bucket or influxdb.token is set) needs %s",
                         need[i]);
                add_error(errors, need[i], msg);
                n++;
            }
    } else if (!v1) {
        add_error(errors, "influxdb.db",
                  "set influxdb.db for InfluxDB 1.x (POST /write), or influxdb.org and "
                  "influxdb.bucket (and influxdb.token) for InfluxDB 2.x (POST /api/v2/write)");
        n++;
    }
    return n;
}

/* ---------------- task state ---------------- */

/* One buffered line, with what the DLQ needs of its record. */
struct ifx_line {
    size_t off, len;     /* in lines, without the '\n' */
    size_t raw;          /* in raw: key bytes, then value bytes */
    size_t key_len, val_len;
    int64_t offset, timestamp;
    int part;            /* index into parts */
    unsigned char has_key, has_val;
    unsigned char failed; /* handed to task_record_failed; its text is blanked */
};

/* A partition seen by this task; next = the first offset not yet taken into the buffer, so a
 * put retried by the runtime with the same records does not buffer them twice. */
struct ifx_part {
    char *topic;
    int32_t partition;
    int64_t next;
};

/* One HTTP request: its handle, body (gzipped or copied, so it stays valid while lines are
 * added or moved in the buffer) and reply. */
struct ifx_req {
    CURL *curl;
    struct influx_buf body, reply;
    char retry_after[64];
    size_t hi;  /* a pipelined write: lines [the previous write's hi or sent, hi) */
    int done;   /* the transfer finished with res; its reply is not acted on yet */
    CURLcode res;
};

struct ifx {
    struct task_ctx *t;
    int api;
    char *url;      /* base URL, no trailing slash */
    char *write_url;
    char *db;       /* 1.x: created on "database not found" */
    struct ifx_req sync;          /* writes waited for: retries, halves, CREATE DATABASE */
    struct ifx_req w[IFX_WRITES]; /* pipelined writes, a ring of nw from head, oldest first */
    int head, nw;
    CURLM *multi;
    struct curl_slist *headers;
    int gzip, batch_size;
    int64_t linger_ms, timeout_ms;
    struct influx_map map;
    char **tag_fields;
    char *measurement_fmt, *time_field;

    struct influx_buf lines; /* buffered lines, each ended by '\n' */
    struct influx_buf raw;   /* raw keys and values of buffered records */
    struct ifx_line *meta;
    size_t n, cap, sent;     /* lines [0, sent) are acknowledged by InfluxDB */
    int64_t first_ms;        /* when the oldest buffered line came */
    struct ifx_part *parts;
    int nparts, last_part;

    z_stream z;
    char retry_after[64]; /* of the reply being acted on */
    char error[2048]; /* the last error set, for logs and a sticky fatal error */
    int64_t retry_at; /* no write before this (monotonic ms) */
    int fatal;
};

/* task_set_error, keeping a copy: flush logs it, and a fatal one is repeated by later calls. */
static void set_error(struct ifx *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct ifx *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    task_set_error(s->t, "%s", s->error);
}

/* ---------------- HTTP ---------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct influx_buf *b = ud;
    size_t len = size * n;
    if (b->len < REPLY_MAX)
        influx_buf_add(b, p, len < REPLY_MAX - b->len ? len : REPLY_MAX - b->len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct ifx_req *s = ud;
    size_t len = size * n;
    if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        size_t v = len - 12 < sizeof(s->retry_after) - 1 ? len - 12 : sizeof(s->retry_after) - 1;
        memcpy(s->retry_after, p + 12, v);
        s->retry_after[v] = 0;
        s->retry_after[strcspn(s->retry_after, "\r\n")] = 0;
    }
    return len;
}

/* Aborts a transfer when the task is asked to stop. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct ifx *s = ud;
    return task_stopping(s->t);
}

static char *escaped_param(CURL *c, const char *v)
{
    char *e = curl_easy_escape(c, v, 0), *out = strdup(e ? e : "");
    curl_free(e);
    return out;
}

static void build_write_url(struct ifx *s, json_t *conf)
{
    struct influx_buf u = {0};
    const char *names[3], *keys[3];
    int n = 0;
    if (s->api == 2) {
        influx_buf_add(&u, s->url, strlen(s->url));
        influx_buf_add(&u, "/api/v2/write?precision=ns", 26);
        names[n] = "org", keys[n++] = "influxdb.org";
        names[n] = "bucket", keys[n++] = "influxdb.bucket";
    } else {
        influx_buf_add(&u, s->url, strlen(s->url));
        influx_buf_add(&u, "/write?precision=ns", 19);
        names[n] = "db", keys[n++] = "influxdb.db";
        if (*conf_s(conf, "influxdb.retention.policy"))
            names[n] = "rp", keys[n++] = "influxdb.retention.policy";
    }
    for (int i = 0; i < n; i++) {
        char *e = escaped_param(s->sync.curl, conf_s(conf, keys[i]));
        influx_buf_add(&u, "&", 1);
        influx_buf_add(&u, names[i], strlen(names[i]));
        influx_buf_add(&u, "=", 1);
        influx_buf_add(&u, e, strlen(e));
        free(e);
    }
    s->write_url = u.p;
}

/* Sets what every request shares: URL, headers, credentials, callbacks, timeouts. */
static int http_setup(struct ifx *s, json_t *conf)
{
    s->sync.curl = curl_easy_init();
    s->multi = curl_multi_init();
    if (!s->sync.curl || !s->multi)
        return -1;
    build_write_url(s, conf);
    s->headers = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
    s->headers = curl_slist_append(s->headers, "Expect:");
    if (s->gzip)
        s->headers = curl_slist_append(s->headers, "Content-Encoding: gzip");
    if (s->api == 2 && *conf_s(conf, "influxdb.token")) {
        char *h;
        if (asprintf(&h, "Authorization: Token %s", conf_s(conf, "influxdb.token")) < 0)
            return -1;
        s->headers = curl_slist_append(s->headers, h);
        free(h);
    }
    CURL *c = s->sync.curl;
    if (s->api == 1 && *conf_s(conf, "influxdb.username")) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, conf_s(conf, "influxdb.username"));
        curl_easy_setopt(c, CURLOPT_PASSWORD, conf_s(conf, "influxdb.password"));
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    for (int i = 0; i < IFX_WRITES; i++)
        if (!(s->w[i].curl = curl_easy_duphandle(c)))
            return -1;
    for (int i = -1; i < IFX_WRITES; i++) {
        struct ifx_req *q = i < 0 ? &s->sync : &s->w[i];
        curl_easy_setopt(q->curl, CURLOPT_WRITEDATA, &q->reply);
        curl_easy_setopt(q->curl, CURLOPT_HEADERDATA, q);
    }
    return 0;
}

/* Compresses in[0..len) into out. */
static int gzip_into(struct ifx *s, struct influx_buf *out, const char *in, size_t len)
{
    if (deflateReset(&s->z) != Z_OK)
        return -1;
    size_t bound = deflateBound(&s->z, (uLong)len);
    if (out->cap < bound) {
        free(out->p);
        out->p = malloc(bound);
        out->cap = out->p ? bound : 0;
        if (!out->p)
            return -1;
    }
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = (uInt)len;
    s->z.next_out = (Bytef *)out->p;
    s->z.avail_out = (uInt)bound;
    if (deflate(&s->z, Z_FINISH) != Z_STREAM_END)
        return -1;
    out->len = bound - s->z.avail_out;
    return 0;
}

/* Sets up one POST of body to url on q's handle. A write's body is gzipped or copied into
 * q->body, so it stays valid while the line buffer changes under a pipelined write. */
static int http_prepare(struct ifx *s, struct ifx_req *q, const char *url, const char *body,
                        size_t len, char *err, size_t errlen)
{
    q->reply.len = 0;
    influx_buf_add(&q->reply, "", 0);
    q->retry_after[0] = 0;
    if (url == s->write_url) {
        if (s->gzip ? gzip_into(s, &q->body, body, len) : (q->body.len = 0, 0)) {
            snprintf(err, errlen, "gzip failed");
            return -1;
        }
        if (!s->gzip)
            influx_buf_add(&q->body, body, len);
        body = q->body.p;
        len = q->body.len;
    }
    curl_easy_setopt(q->curl, CURLOPT_URL, url);
    curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, url == s->write_url ? s->headers : NULL);
    curl_easy_setopt(q->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(q->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    return 0;
}

/* The HTTP status of q's finished request, or 0 with the transport error in err. */
static long http_status(struct ifx_req *q, CURLcode rc, char *err, size_t errlen)
{
    long status = 0;
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    else
        curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* One POST of body to url, waiting for the reply (in s->sync.reply). Returns the HTTP status,
 * or 0 with the transport error in err. */
static long http_post(struct ifx *s, const char *url, const char *body, size_t len, char *err,
                      size_t errlen)
{
    if (http_prepare(s, &s->sync, url, body, len, err, errlen))
        return 0;
    return http_status(&s->sync, curl_easy_perform(s->sync.curl), err, errlen);
}

/* InfluxDB 1.x answers 404 "database not found" until the database exists: create it, as
 * Telegraf does. Returns 0 when InfluxDB accepted the CREATE DATABASE. */
static int create_database(struct ifx *s)
{
    struct influx_buf q = {0}, u = {0};
    influx_buf_add(&q, "q=CREATE DATABASE \"", 19);
    for (const char *p = s->db; *p; p++) {
        if (*p == '"' || *p == '\\')
            influx_buf_add(&q, "\\", 1);
        influx_buf_add(&q, p, 1);
    }
    influx_buf_add(&q, "\"", 1);
    char *form = escaped_param(s->sync.curl, q.p + 2), err[256];
    influx_buf_free(&q);
    influx_buf_add(&q, "q=", 2);
    influx_buf_add(&q, form, strlen(form));
    free(form);
    influx_buf_add(&u, s->url, strlen(s->url));
    influx_buf_add(&u, "/query", 6);
    long status = http_post(s, u.p, q.p, q.len, err, sizeof(err));
    task_log(s->t, status == 200 ? LOG_INFO : LOG_WARN, "creating database %s: %s", s->db,
             status == 200 ? "done" : status ? s->sync.reply.p : err);
    influx_buf_free(&q);
    influx_buf_free(&u);
    return status == 200 ? 0 : -1;
}

/* ---------------- replies ---------------- */

/* Hands one rejected line's record to the runtime (error log, DLQ, or task failure). */
static int line_failed(struct ifx *s, size_t i, const char *why)
{
    struct ifx_line *l = &s->meta[i];
    if (l->failed)
        return 0;
    struct ifx_part *p = &s->parts[l->part];
    struct cd_record r = {.topic = p->topic, .partition = p->partition, .offset = l->offset,
                          .timestamp = l->timestamp};
    r.raw_key = l->has_key ? s->raw.p + l->raw : NULL;
    r.raw_key_len = l->key_len;
    r.raw_value = l->has_val ? s->raw.p + l->raw + l->key_len : NULL;
    r.raw_value_len = l->val_len;
    task_log(s->t, LOG_WARN, "InfluxDB rejected the point of %s-%d@%lld: %s", p->topic,
             p->partition, (long long)l->offset, why);
    int rc = task_record_failed(s->t, &r, "InfluxDB rejected the point %.*s: %s", (int)l->len,
                                s->lines.p + l->off, why);
    /* Blanked, the line stays in the buffer (ranges are contiguous) but InfluxDB skips a
     * whitespace line, so resending its neighbours cannot reject it twice. */
    memset(s->lines.p + l->off, ' ', l->len);
    l->failed = 1;
    if (!rc)
        return 0;
    set_error(s, "InfluxDB rejected the point of %s-%d@%lld and errors.tolerance is none: %s",
              p->topic, p->partition, (long long)l->offset, why);
    return -1;
}

static int send_range(struct ifx *s, size_t lo, size_t hi);

/* Sends [lo, mid) and then [mid, hi). Points InfluxDB already stored are written again with
 * the same series and time, which changes nothing. */
static int send_halves(struct ifx *s, size_t lo, size_t hi)
{
    size_t mid = lo + (hi - lo) / 2;
    int rc = send_range(s, lo, mid);
    return rc ? rc : send_range(s, mid, hi);
}

/* 1 when the reply counts more refused points than were named: InfluxDB 1.x says
 * "dropped=N", 2.x "partial write error (N written)". */
static int unnamed_drops(const char *text, size_t live, size_t found)
{
    const char *d = strstr(text, "dropped="), *w = strstr(text, "partial write error (");
    if (d && (size_t)atoll(d + 8) > found)
        return 1;
    return w && (size_t)atoll(w + 21) + found < live;
}

/* 400/422: InfluxDB stored the good points; the rejected ones are named in the text (or, for
 * a type conflict, found by measurement and field). When the reply does not name them all,
 * the batch is sent in halves until the refused points stand alone. */
static int partial_write(struct ifx *s, size_t lo, size_t hi, long status, const char *text)
{
    size_t n = hi - lo, live = 0, found = 0;
    const char **lines = malloc(n * sizeof(*lines));
    size_t *lens = malloc(n * sizeof(*lens));
    unsigned char *rej = calloc(n, 1);
    int rc = CD_OK;
    for (size_t i = 0; i < n; i++) {
        lines[i] = s->lines.p + s->meta[lo + i].off;
        lens[i] = s->meta[lo + i].len;
        rej[i] = s->meta[lo + i].failed; /* blank already: not a match */
        live += !rej[i];
    }
    if (n > 1)
        found = influx_find_rejected(text, lines, lens, n, rej);
    for (size_t i = 0; i < n && rc == CD_OK; i++)
        if (rej[i] && line_failed(s, lo + i, text))
            rc = CD_ERR_FATAL;
    free(lines);
    free(lens);
    free(rej);
    if (rc || (found && !unnamed_drops(text, live, found)))
        return rc;
    if (n == 1)
        return line_failed(s, lo, text) ? CD_ERR_FATAL : CD_OK;
    task_log(s->t, LOG_INFO, "InfluxDB refused points of a batch of %zu without naming them "
             "all (HTTP %ld: %s); sending it in halves to find them", n, status, text);
    return send_halves(s, lo, hi);
}

/* 413: halves are sent one after the other; one line alone too large is a failed record. */
static int too_large(struct ifx *s, size_t lo, size_t hi, const char *text)
{
    if (hi - lo == 1)
        return line_failed(s, lo, "the point alone is larger than InfluxDB accepts (HTTP 413)")
                   ? CD_ERR_FATAL
                   : CD_OK;
    task_log(s->t, LOG_INFO, "InfluxDB: request too large (HTTP 413) for %zu points; sending "
             "them in halves", hi - lo);
    return send_halves(s, lo, hi);
}

static int backoff(struct ifx *s, long status, const char *text)
{
    int64_t ms = influx_retry_after_ms(s->retry_after[0] ? s->retry_after : NULL);
    if (ms > RETRY_AFTER_MAX_MS)
        ms = RETRY_AFTER_MAX_MS;
    if (ms >= 0)
        s->retry_at = task_now_ms() + ms;
    set_error(s, "InfluxDB is busy or unavailable (HTTP %ld%s%s): %s", status,
                   ms >= 0 ? ", Retry-After " : "", ms >= 0 ? s->retry_after : "", text);
    return CD_ERR_RETRIABLE;
}

static int reply_action(struct ifx *s, size_t lo, size_t hi, long status, const char *text)
{
    switch (status) {
    case 413:
        return too_large(s, lo, hi, text);
    case 400:
    case 422:
        return partial_write(s, lo, hi, status, text);
    case 401:
    case 403:
        set_error(s, "InfluxDB refused the credentials (HTTP %ld: %s): check %s",
                       status, text,
                       s->api == 2 ? "influxdb.token and its write permission on the bucket"
                                   : "influxdb.username and influxdb.password");
        return CD_ERR_FATAL;
    case 429:
    case 502:
    case 503:
    case 504:
        return backoff(s, status, text);
    }
    if (status >= 500) {
        set_error(s, "InfluxDB failed the write (HTTP %ld): %s", status, text);
        return CD_ERR_RETRIABLE;
    }
    set_error(s, "InfluxDB refused the write (HTTP %ld): %s; check influxdb.url and %s",
                   status, text,
                   s->api == 2 ? "influxdb.org/influxdb.bucket" : "influxdb.db");
    return CD_ERR_FATAL;
}

static size_t range_len(const struct ifx *s, size_t lo, size_t hi)
{
    return s->meta[hi - 1].off + s->meta[hi - 1].len + 1 - s->meta[lo].off;
}

/* Acts on q's reply to a write of lines [lo, hi). On success lines up to hi are acknowledged.
 * may_create: a "database not found" may create the database and write again. */
static int on_reply(struct ifx *s, struct ifx_req *q, size_t lo, size_t hi, long status,
                    const char *err, int may_create)
{
    task_log(s->t, LOG_DEBUG, "wrote lines %zu..%zu (offsets %lld..%lld): HTTP %ld", lo, hi,
             (long long)s->meta[lo].offset, (long long)s->meta[hi - 1].offset, status);
    if (!status) {
        set_error(s, "cannot write to InfluxDB at %s: %s", s->url, err);
        return CD_ERR_RETRIABLE;
    }
    if (status / 100 == 2) {
        s->sent = hi;
        return CD_OK;
    }
    char *text = influx_error_text(q->reply.p, q->reply.len), again[CURL_ERROR_SIZE + 64];
    int rc;
    memcpy(s->retry_after, q->retry_after, sizeof(s->retry_after));
    if (may_create && s->api == 1 && status == 404 && strstr(text, "database not found") &&
        !create_database(s)) {
        long st = http_post(s, s->write_url, s->lines.p + s->meta[lo].off, range_len(s, lo, hi),
                            again, sizeof(again));
        rc = on_reply(s, &s->sync, lo, hi, st, again, 0);
    } else {
        rc = reply_action(s, lo, hi, status, text);
        if (rc == CD_OK)
            s->sent = hi;
    }
    free(text);
    return rc;
}

/* Sends lines [lo, hi), waits for the reply and acts on it. */
static int send_range(struct ifx *s, size_t lo, size_t hi)
{
    char err[CURL_ERROR_SIZE + 64];
    long status =
        http_post(s, s->write_url, s->lines.p + s->meta[lo].off, range_len(s, lo, hi), err,
                  sizeof(err));
    return on_reply(s, &s->sync, lo, hi, status, err, 1);
}

/* ---------------- pipelined writes ----------------
 * Up to IFX_WRITES writes may be in flight (curl multi) while put goes on encoding the next
 * records, so InfluxDB and the task work at the same time. Replies are acted on by the task
 * thread in a later put or flush, oldest first, so lines are acknowledged in order. */

static struct ifx_req *write_at(struct ifx *s, int i)
{
    return &s->w[(s->head + i) % IFX_WRITES];
}

/* The first line not yet in a write. */
static size_t written_hi(struct ifx *s)
{
    return s->nw ? write_at(s, s->nw - 1)->hi : s->sent;
}

static int async_start(struct ifx *s, size_t lo, size_t hi)
{
    char err[256];
    struct ifx_req *q = write_at(s, s->nw);
    if (http_prepare(s, q, s->write_url, s->lines.p + s->meta[lo].off, range_len(s, lo, hi),
                     err, sizeof(err))) {
        set_error(s, "cannot write to InfluxDB: %s", err);
        return CD_ERR_RETRIABLE;
    }
    q->hi = hi;
    q->done = 0;
    curl_multi_add_handle(s->multi, q->curl);
    s->nw++;
    int running;
    curl_multi_perform(s->multi, &running);
    return CD_OK;
}

/* Marks the writes whose transfers finished. */
static void async_collect(struct ifx *s)
{
    int running, left;
    curl_multi_perform(s->multi, &running);
    for (CURLMsg *m; (m = curl_multi_info_read(s->multi, &left));)
        for (int i = 0; m->msg == CURLMSG_DONE && i < s->nw; i++)
            if (write_at(s, i)->curl == m->easy_handle) {
                write_at(s, i)->done = 1;
                write_at(s, i)->res = m->data.result;
            }
}

/* Gives up the writes behind a failed one: their lines are sent again later, and a point
 * InfluxDB stored already is rewritten with the same series and time, which changes nothing. */
static void async_abandon(struct ifx *s)
{
    for (int i = 0; i < s->nw; i++)
        curl_multi_remove_handle(s->multi, write_at(s, i)->curl);
    s->nw = 0;
}

/* Acts on the replies of finished writes, oldest first, until at most max_busy are in flight
 * (waiting for them as needed). Returns CD_OK, or the outcome of the first failed reply. */
static int async_pump(struct ifx *s, int max_busy)
{
    for (;;) {
        async_collect(s);
        while (s->nw && write_at(s, 0)->done) {
            struct ifx_req *q = write_at(s, 0);
            curl_multi_remove_handle(s->multi, q->curl);
            s->head = (s->head + 1) % IFX_WRITES;
            s->nw--;
            char err[CURL_ERROR_SIZE + 64];
            long status = http_status(q, q->res, err, sizeof(err));
            int rc = on_reply(s, q, s->sent, q->hi, status, err, 1);
            if (rc) {
                async_abandon(s);
                return rc;
            }
        }
        if (s->nw <= max_busy)
            return CD_OK;
        curl_multi_poll(s->multi, NULL, 0, 100, NULL);
    }
}

/* ---------------- batching ---------------- */

/* Moves the lines not yet acknowledged to the front of the buffers (writes in flight have
 * their own copy of the body; only their line indexes move). */
static void drop_acknowledged(struct ifx *s)
{
    if (!s->sent)
        return;
    for (int i = 0; i < s->nw; i++)
        write_at(s, i)->hi -= s->sent;
    if (s->sent < s->n) {
        size_t off = s->meta[s->sent].off, raw = s->meta[s->sent].raw;
        memmove(s->lines.p, s->lines.p + off, s->lines.len - off);
        s->lines.len -= off;
        memmove(s->raw.p, s->raw.p + raw, s->raw.len - raw);
        s->raw.len -= raw;
        memmove(s->meta, s->meta + s->sent, (s->n - s->sent) * sizeof(*s->meta));
        for (size_t i = 0; i < s->n - s->sent; i++) {
            s->meta[i].off -= off;
            s->meta[i].raw -= raw;
        }
    } else {
        s->lines.len = s->raw.len = 0;
    }
    s->n -= s->sent;
    s->sent = 0;
}

/* Waits out a Retry-After; 0 = may write now. */
static int wait_retry_after(struct ifx *s, int may_sleep)
{
    while (task_now_ms() < s->retry_at) {
        if (!may_sleep || task_stopping(s->t))
            return -1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Sends every buffered line in batches of batch.size. */
static int write_buffered(struct ifx *s, int may_sleep)
{
    if (wait_retry_after(s, may_sleep)) {
        set_error(s, "waiting %lld ms more as InfluxDB asked (Retry-After)",
                       (long long)(s->retry_at - task_now_ms()));
        return CD_ERR_RETRIABLE;
    }
    int rc = async_pump(s, 0);
    if (rc == CD_ERR_FATAL)
        s->fatal = 1;
    if (rc)
        return rc;
    while (s->sent < s->n) {
        size_t hi = s->sent + (size_t)s->batch_size < s->n ? s->sent + (size_t)s->batch_size : s->n;
        rc = send_range(s, s->sent, hi);
        if (rc == CD_ERR_FATAL)
            s->fatal = 1;
        if (rc)
            return rc;
    }
    drop_acknowledged(s);
    return CD_OK;
}

static int part_index(struct ifx *s, const char *topic, int32_t partition)
{
    if (s->nparts && s->parts[s->last_part].partition == partition &&
        !strcmp(s->parts[s->last_part].topic, topic))
        return s->last_part;
    for (int i = 0; i < s->nparts; i++)
        if (s->parts[i].partition == partition && !strcmp(s->parts[i].topic, topic))
            return s->last_part = i;
    s->parts = realloc(s->parts, (size_t)(s->nparts + 1) * sizeof(*s->parts));
    s->parts[s->nparts] = (struct ifx_part){strdup(topic), partition, -1};
    return s->last_part = s->nparts++;
}

static void remember(struct ifx *s, const struct cd_record *r, int part, size_t off)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->meta = realloc(s->meta, s->cap * sizeof(*s->meta));
    }
    struct ifx_line *l = &s->meta[s->n++];
    *l = (struct ifx_line){.off = off, .len = s->lines.len - off, .raw = s->raw.len,
                           .key_len = r->raw_key_len, .val_len = r->raw_value_len,
                           .offset = r->offset, .timestamp = r->timestamp, .part = part,
                           .has_key = r->raw_key != NULL, .has_val = r->raw_value != NULL};
    if (r->raw_key_len)
        influx_buf_add(&s->raw, r->raw_key, r->raw_key_len);
    if (r->raw_value_len)
        influx_buf_add(&s->raw, r->raw_value, r->raw_value_len);
    influx_buf_add(&s->lines, "\n", 1);
    if (s->n == 1)
        s->first_ms = task_now_ms();
}

/* Encodes one record into the buffer; a record that maps to no point is a failed record. */
static int take(struct ifx *s, struct cd_record *r)
{
    int part = part_index(s, r->topic, r->partition);
    if (r->offset < s->parts[part].next)
        return CD_OK; /* buffered by an earlier attempt of this put */
    s->parts[part].next = r->offset + 1;
    char err[512];
    size_t off = s->lines.len;
    if (r->value_pending == 1) {
        if (!influx_line_encode_json(&s->map, r->topic, r->raw_value, r->raw_value_len,
                                     r->timestamp, &s->lines)) {
            remember(s, r, part, off);
            return CD_OK;
        }
        int rc = task_record_value(s->t, r);
        if (rc)
            return rc < 0 ? CD_ERR_FATAL : CD_OK; /* rc 1: errors.tolerance took it */
    }
    if (influx_line_encode(&s->map, r->topic, r->value.value, r->timestamp, &s->lines, err,
                           sizeof(err))) {
        if (!task_record_failed(s->t, r, "cannot make an InfluxDB point of the record: %s", err))
            return CD_OK;
        set_error(s, "cannot make an InfluxDB point of the record %s-%d@%lld: %s", r->topic,
                  r->partition, (long long)r->offset, err);
        return CD_ERR_FATAL;
    }
    remember(s, r, part, off);
    return CD_OK;
}

/* put's writing: acts on finished writes, waits for one only when every write is in flight
 * and two batches wait behind them, and starts writes while a batch is full or linger.ms
 * passed. */
static int write_pipelined(struct ifx *s)
{
    int rc = async_pump(s, IFX_WRITES);
    if (!rc && s->nw == IFX_WRITES && s->n - written_hi(s) >= 2 * (size_t)s->batch_size)
        rc = async_pump(s, IFX_WRITES - 1); /* InfluxDB is the bottleneck: stop taking more */
    if (rc == CD_ERR_FATAL)
        s->fatal = 1;
    if (rc)
        return rc;
    drop_acknowledged(s);
    while (s->nw < IFX_WRITES) {
        size_t lo = written_hi(s), pending = s->n - lo, batch = (size_t)s->batch_size;
        if (!pending || (pending < batch && task_now_ms() - s->first_ms < s->linger_ms))
            return CD_OK;
        if (wait_retry_after(s, 1)) {
            set_error(s, "waiting %lld ms more as InfluxDB asked (Retry-After)",
                      (long long)(s->retry_at - task_now_ms()));
            return CD_ERR_RETRIABLE;
        }
        s->first_ms = task_now_ms(); /* lines behind this batch wait their own linger */
        if ((rc = async_start(s, lo, lo + (pending < batch ? pending : batch))))
            return rc;
    }
    return CD_OK;
}

static int influx_put(void *state, struct task_ctx *t, struct cd_record **recs, size_t n)
{
    struct ifx *s = state;
    if (s->fatal) {
        if (s->error[0]) /* else task_record_value set it */
            task_set_error(t, "%s", s->error);
        return CD_ERR_FATAL;
    }
    for (size_t i = 0; i < n; i++)
        if (take(s, recs[i])) {
            s->fatal = 1;
            return CD_ERR_FATAL;
        }
    return write_pipelined(s);
}

/* The periodic flush keeps the pipeline going (put writes as batches fill); the last one writes
 * all that is buffered. Whatever InfluxDB has not acknowledged keeps its partition's
 * committable offset at its first such line. */
static int influx_flush(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *offs)
{
    struct ifx *s = state;
    if (s->n > s->sent && !s->fatal) {
        int rc = task_flush_final(t) ? write_buffered(s, 0) : write_pipelined(s);
        if (rc)
            task_log(t, LOG_WARN, "points not written yet, their offsets stay uncommitted: %s",
                     s->error);
    }
    for (size_t i = s->sent; i < s->n; i++) {
        const struct ifx_part *p = &s->parts[s->meta[i].part];
        rd_kafka_topic_partition_t *e =
            rd_kafka_topic_partition_list_find(offs, p->topic, p->partition);
        if (e && e->offset >= 0 && s->meta[i].offset < e->offset)
            e->offset = s->meta[i].offset;
    }
    if (s->fatal)
        task_set_error(t, "%s", s->error);
    return s->fatal ? CD_ERR_FATAL : CD_OK;
}

/* ---------------- lifecycle ---------------- */

static void influx_stop(void *state, struct task_ctx *t);

/* Splits tag.fields into s->tag_fields (trimmed, empty ones left out). */
static void parse_tag_fields(struct ifx *s, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = 0;
        if (!*tok)
            continue;
        s->tag_fields = realloc(s->tag_fields, (s->map.n_tag_fields + 1) * sizeof(char *));
        s->tag_fields[s->map.n_tag_fields++] = strdup(tok);
    }
    free(copy);
    s->map.tag_fields = (const char *const *)s->tag_fields;
}

/* The URL without user:password@, fit for a log line. */
static void loggable_url(const char *url, char *out, size_t n)
{
    const char *scheme = strstr(url, "://"), *at = strchr(url, '@');
    if (scheme && at && (!strchr(scheme + 3, '/') || at < strchr(scheme + 3, '/')))
        snprintf(out, n, "%.*s%s", (int)(scheme + 3 - url), url, at + 1);
    else
        snprintf(out, n, "%s", url);
}

static int influx_start(struct task_ctx *t, json_t *conf, void **state)
{
    json_t *errors = json_object();
    int bad = influx_validate(conf, errors);
    if (bad) {
        const char *key = json_object_iter_key(json_object_iter(errors));
        task_set_error(t, "%s: %s", key,
                       json_string_value(json_array_get(json_object_get(errors, key), 0)));
        json_decref(errors);
        return CD_ERR_CONFIG;
    }
    json_decref(errors);
    struct ifx *s = calloc(1, sizeof(*s));
    s->t = t;
    s->api = api_version(conf);
    s->url = strdup(conf_s(conf, "influxdb.url"));
    for (size_t l = strlen(s->url); l && s->url[l - 1] == '/'; l--)
        s->url[l - 1] = 0;
    s->db = strdup(conf_s(conf, "influxdb.db"));
    s->gzip = cfg_get_bool(conf, influx_defs, "influxdb.gzip.enable", 1);
    s->batch_size = (int)cfg_get_int(conf, influx_defs, "batch.size", 5000);
    s->linger_ms = cfg_get_int(conf, influx_defs, "linger.ms", 1000);
    s->timeout_ms = cfg_get_int(conf, influx_defs, "influxdb.timeout.ms", 30000);
    s->measurement_fmt = strdup(conf_s(conf, "measurement.name.format"));
    s->time_field = strdup(conf_s(conf, "event.time.fieldname"));
    s->map.measurement_fmt = s->measurement_fmt;
    s->map.time_field = s->time_field;
    parse_tag_fields(s, conf_s(conf, "tag.fields"));
    *state = s;
    if (deflateInit2(&s->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
        http_setup(s, conf)) {
        task_set_error(t, "cannot set up the HTTP client");
        influx_stop(s, t);
        *state = NULL;
        return CD_ERR_FATAL;
    }
    char shown[1024];
    loggable_url(s->url, shown, sizeof(shown));
    if (s->api == 2)
        task_log(t, LOG_INFO, "writing to InfluxDB 2.x at %s (POST /api/v2/write, org %s, "
                 "bucket %s), batches of %d, gzip %s", shown, conf_s(conf, "influxdb.org"),
                 conf_s(conf, "influxdb.bucket"), s->batch_size, s->gzip ? "on" : "off");
    else
        task_log(t, LOG_INFO, "writing to InfluxDB 1.x at %s (POST /write, database %s), "
                 "batches of %d, gzip %s", shown, s->db, s->batch_size, s->gzip ? "on" : "off");
    return CD_OK;
}

/* Revoked partitions may come back from their committed offset: take their records again. */
static int influx_close(void *state, struct task_ctx *t,
                        const rd_kafka_topic_partition_list_t *parts)
{
    struct ifx *s = state;
    for (int i = 0; i < s->nparts; i++)
        if (rd_kafka_topic_partition_list_find(parts, s->parts[i].topic, s->parts[i].partition))
            s->parts[i].next = -1;
    return CD_OK;
}

static void influx_stop(void *state, struct task_ctx *t)
{
    struct ifx *s = state;
    if (!s)
        return;
    if (s->n > s->sent)
        task_log(t, LOG_INFO, "stopping with %zu points not written; their offsets were not "
                 "committed, so they are consumed again", s->n - s->sent);
    if (s->multi)
        async_abandon(s);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    for (int i = -1; i < IFX_WRITES; i++) {
        struct ifx_req *q = i < 0 ? &s->sync : &s->w[i];
        if (q->curl)
            curl_easy_cleanup(q->curl);
        influx_buf_free(&q->body);
        influx_buf_free(&q->reply);
    }
    curl_slist_free_all(s->headers);
    deflateEnd(&s->z);
    for (size_t i = 0; i < s->map.n_tag_fields; i++)
        free(s->tag_fields[i]);
    for (int i = 0; i < s->nparts; i++)
        free(s->parts[i].topic);
    free(s->parts);
    free(s->tag_fields);
    free(s->meta);
    influx_buf_free(&s->lines);
    influx_buf_free(&s->raw);
    free(s->measurement_fmt);
    free(s->time_field);
    free(s->write_url);
    free(s->url);
    free(s->db);
    free(s);
}

static const char *const influx_aliases[] = {"io.confluent.influxdb.InfluxDBSinkConnector",
                                             "InfluxDbSink", NULL};

const struct connector_plugin influx_sink_plugin = {
    .class_name = "io.connectd.influxdb.InfluxDbSinkConnector",
    .aliases = influx_aliases,
    .type = PLUGIN_SINK,
    .version = CD_VERSION,
    .config = influx_defs,
    .validate = influx_validate,
    .task_start = influx_start,
    .task_stop = influx_stop,
    .close = influx_close,
    .put = influx_put,
    .flush = influx_flush,
    .put_when_idle = 1,
    .lazy_json_values = 1, /* influx_line_encode_json */
};
