/* snowflake.c — SnowflakeSinkConnector over Snowpipe Streaming REST (named channels).
 *
 * One channel per topic-partition on the table's default pipe <TABLE>-STREAMING; offset
 * tokens are Kafka offsets. Exactly-once: open() reads the channel's last committed offset
 * token and starts the partition right after it, put() skips anything at or below what the
 * channel already holds, and flush() reports a partition's offsets durable only up to the
 * committed token. Batches appended but not yet committed stay in memory (bounded) so a
 * reopen (stale continuation token, 409, invalid channel) can resend them from the committed
 * token without going back to Kafka. Tables are created through the SQL API v2. */
#define _GNU_SOURCE
#include "log.h"
#include "job_thread.h"
#include "json_alloc.h"
#include "plugin.h"
#include "sf_auth.h"
#include "sf_client.h"
#include "sf_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 4 MB per request after compression; rows are gzip'd, so capping the uncompressed batch
 * keeps every request under the limit whatever the ratio. */
#define SF_MAX_REQUEST (4 * 1024 * 1024 - 64 * 1024)
#define SF_MAX_INFLIGHT 32
#define SF_MAX_REOPENS 6

static const char *const methods[] = {"SNOWPIPE_STREAMING", NULL};

static int check_jwt_lifetime(const char *v, char *err, size_t errlen)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v && !*end && n >= 5 && n <= 3600)
        return 0;
    snprintf(err, errlen, "must be a number of seconds from 5 to 3600");
    return -1;
}

static const struct cfg_def sf_defs[] = {
    {"snowflake.url.name", CFG_STRING, NULL, 1, CFG_HIGH,
     "Snowflake account URL: acct.snowflakecomputing.com, with or without https:// and :443; "
     "http://host:port reaches a local emulator.", "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.user.name", CFG_STRING, NULL, 1, CFG_HIGH, "User name of the key-pair user.",
     "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.private.key", CFG_PASSWORD, NULL, 1, CFG_HIGH,
     "RSA private key (at least 2048 bits): PEM, or the bare base64 of the PKCS#8 key. "
     "Encrypted PKCS#8 needs snowflake.private.key.passphrase.", "Snowflake Login Info", 1,
     NULL, NULL},
    {"snowflake.private.key.passphrase", CFG_PASSWORD, "", 0, CFG_LOW,
     "Passphrase of an encrypted private key.", "Snowflake Login Info", 1, NULL, NULL},
    {"snowflake.database.name", CFG_STRING, NULL, 1, CFG_HIGH, "Database of the tables.",
     "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.schema.name", CFG_STRING, NULL, 1, CFG_HIGH, "Schema of the tables.",
     "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.role.name", CFG_STRING, "", 0, CFG_MEDIUM,
     "Role for table creation and ingestion; empty = the user's default role.",
     "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.account.name", CFG_STRING, "", 0, CFG_LOW,
     "Account identifier for the JWT (e.g. MYORG-MYACCT); derived from snowflake.url.name "
     "when empty. Needed when the URL is not a snowflakecomputing.com host (an emulator).",
     "Snowflake Login Info", 0, NULL, NULL},
    {"snowflake.topic2table.map", CFG_STRING, "", 0, CFG_LOW,
     "Topic to table mapping, topic1:TABLE1,topic2:TABLE2; unmapped topics go to a table named "
     "after the topic (upper case, other characters as _).", "Connector Config", 0, NULL, NULL},
    {"snowflake.ingestion.method", CFG_STRING, "SNOWPIPE_STREAMING", 0, CFG_LOW,
     "Ingestion method; only SNOWPIPE_STREAMING is supported.", "Connector Config", 0, methods,
     NULL},
    {"buffer.count.records", CFG_LONG, "10000", 0, CFG_LOW,
     "Records buffered per partition before they are sent.", "Connector Config", 0, NULL,
     NULL},
    {"buffer.flush.time", CFG_LONG, "10", 0, CFG_LOW,
     "Seconds a buffer waits at most before it is sent.", "Connector Config", 0, NULL, NULL},
    {"buffer.size.bytes", CFG_LONG, "20000000", 0, CFG_LOW,
     "Bytes of rows buffered per partition before they are sent (a request carries at most "
     "4 MB).", "Connector Config", 0, NULL, NULL},
    {"snowflake.jwt.lifetime.seconds", CFG_INT, "3540", 0, CFG_LOW,
     "Lifetime of the key-pair JWTs the sink signs (Snowflake accepts at most 3600). The JWT "
     "is renewed after 54/59 of it and the scoped ingest token after 45/59 of it, and both "
     "on any 401.", "Snowflake Login Info", 0, NULL, check_jwt_lifetime},
    {"snowflake.enable.schematization", CFG_BOOLEAN, "false", 0, CFG_LOW,
     "true: one column per top-level field of the value (added when new) plus "
     "RECORD_METADATA; false: RECORD_METADATA and RECORD_CONTENT VARIANT columns.",
     "Connector Config", 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

struct sf_batch {
    struct sf_batch *next;
    char *buf; /* NDJSON */
    size_t len, cap;
    int64_t *offs;   /* offset of each row */
    size_t *starts;  /* where each row begins in buf */
    size_t n, ncap;
    int sent;
    int64_t born_ms;
};

struct sf_table {
    struct sf_table *next;
    char *name;
    int ready;
    json_t *columns; /* schematization: column names known to exist */
};

struct sf_chan {
    char *topic;
    int32_t partition;
    struct sf_table *table;
    char *name;
    char *ct;          /* continuation token, never logged */
    int open;
    int64_t committed; /* -1 = none */
    int64_t next;      /* first Kafka offset not yet buffered; -1 = any */
    int64_t errors_seen;
    struct sf_batch *cur;
    struct sf_batch *inflight; /* appended or waiting to be, oldest first */
};

/* One append at a time runs on the sender thread, so that the task thread encodes the next
 * rows meanwhile. The task thread owns everything else: it starts a job, and before it next
 * touches the client or a channel's state it collects the result (sender_wait). While a job
 * runs the sender alone uses the client (c) and reads the batch, which nothing changes. */
struct sf_sender {
    struct cd_job_thread *jt; /* NULL: not started */
    int busy;            /* a job is posted and its reply not collected yet */
    struct sf_chan *ch;  /* the job: append b to ch at path */
    struct sf_batch *b;
    char *path;
    int call_rc;         /* sf_call's result and reply */
    struct sf_resp r;
};

struct sf_task {
    struct sf_client c;
    struct sf_sender snd;
    struct task_ctx *t;
    char *db, *schema, *conn;
    json_t *t2t;
    int schematize;
    int64_t max_count, max_bytes, flush_ms;
    struct sf_table *tables;
    struct sf_chan **chans;
    size_t nchans, capchans;
    struct sf_buf row; /* the row being encoded */
    int fatal;
};

enum { PUSH_OK = 0, PUSH_REOPEN = 1 };

static int sender_wait(struct sf_task *s);

/* ---------------------------------------------------------------- config */

/* Everything a task needs from the config; 0 or -1 with the failing key and message. */
struct sf_conf {
    struct sf_url url;
    char account[256];
    EVP_PKEY *key;
    json_t *t2t;
};

static int sf_conf_parse(json_t *conf, struct sf_conf *out, const char **key, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    *key = "snowflake.url.name";
    if (sf_url_parse(cfg_get_str(conf, sf_defs, *key), &out->url, err, errlen))
        return -1;
    const char *acct = cfg_get_str(conf, sf_defs, "snowflake.account.name");
    if (acct && *acct)
        sf_account_normalise(acct, out->account, sizeof(out->account));
    else if (sf_account_from_host(out->url.host, out->account, sizeof(out->account))) {
        *key = "snowflake.account.name";
        snprintf(err, errlen, "%s is not a snowflakecomputing.com host: set "
                 "snowflake.account.name to the account identifier", out->url.host);
        return -1;
    }
    *key = "snowflake.topic2table.map";
    out->t2t = sf_topic2table_parse(cfg_get_str(conf, sf_defs, *key), err, errlen);
    if (!out->t2t)
        return -1;
    *key = "snowflake.private.key";
    const char *pass = cfg_get_str(conf, sf_defs, "snowflake.private.key.passphrase");
    out->key = sf_key_load(cfg_get_str(conf, sf_defs, *key), pass, err, errlen);
    if (!out->key) {
        if (pass && *pass && strstr(err, "passphrase"))
            *key = "snowflake.private.key.passphrase";
        json_decref(out->t2t);
        return -1;
    }
    return 0;
}

static int sf_validate(json_t *conf, json_t *errors)
{
    const char *need[] = {"snowflake.url.name", "snowflake.private.key", NULL};
    for (int i = 0; need[i]; i++)
        if (!cfg_get_str(conf, sf_defs, need[i]))
            return 0; /* the schema check reports missing keys */
    struct sf_conf c;
    const char *key;
    char err[512];
    if (sf_conf_parse(conf, &c, &key, err, sizeof(err)) == 0) {
        EVP_PKEY_free(c.key);
        json_decref(c.t2t);
        return 0;
    }
    json_t *a = json_object_get(errors, key);
    if (!a)
        json_object_set_new(errors, key, a = json_array());
    json_array_append_new(a, json_string(err));
    return 1;
}

/* ---------------------------------------------------------------- batches */

static struct sf_batch *batch_new(void)
{
    struct sf_batch *b = calloc(1, sizeof(*b));
    b->born_ms = task_now_ms();
    return b;
}

static void batch_free(struct sf_batch *b)
{
    if (!b)
        return;
    free(b->buf);
    free(b->offs);
    free(b->starts);
    free(b);
}

static void batch_add(struct sf_batch *b, const char *row, size_t len, int64_t off)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->buf = realloc(b->buf, b->cap);
    }
    if (b->n == b->ncap) {
        b->ncap = b->ncap ? b->ncap * 2 : 64;
        b->offs = realloc(b->offs, b->ncap * sizeof(*b->offs));
        b->starts = realloc(b->starts, b->ncap * sizeof(*b->starts));
    }
    b->offs[b->n] = off;
    b->starts[b->n++] = b->len;
    memcpy(b->buf + b->len, row, len);
    b->len += len;
    b->buf[b->len++] = '\n';
}

/* Drops the rows at or below committed; returns 1 when nothing is left. */
static int batch_trim(struct sf_batch *b, int64_t committed)
{
    size_t i = 0;
    while (i < b->n && b->offs[i] <= committed)
        i++;
    if (i == b->n)
        return 1;
    if (i) {
        size_t from = b->starts[i];
        memmove(b->buf, b->buf + from, b->len - from);
        b->len -= from;
        for (size_t k = i; k < b->n; k++) {
            b->offs[k - i] = b->offs[k];
            b->starts[k - i] = b->starts[k] - from;
        }
        b->n -= i;
    }
    return 0;
}

/* After the channel reported committed: forget what it holds; resend (sent=0) the rest when
 * resend is set (a reopen discarded everything uncommitted). */
static void chan_trim(struct sf_chan *ch, int resend)
{
    struct sf_batch **pp = &ch->inflight;
    while (*pp) {
        struct sf_batch *b = *pp;
        if (ch->committed >= 0 && batch_trim(b, ch->committed)) {
            *pp = b->next;
            batch_free(b);
            continue;
        }
        if (resend)
            b->sent = 0;
        pp = &b->next;
    }
    if (ch->cur && ch->committed >= 0 && batch_trim(ch->cur, ch->committed)) {
        batch_free(ch->cur);
        ch->cur = NULL;
    }
}

static int has_unsent(const struct sf_chan *ch)
{
    for (struct sf_batch *b = ch->inflight; b; b = b->next)
        if (!b->sent)
            return 1;
    return 0;
}

static size_t inflight_count(const struct sf_chan *ch)
{
    size_t n = 0;
    for (struct sf_batch *b = ch->inflight; b; b = b->next)
        n++;
    return n;
}

/* ---------------------------------------------------------------- SQL API */

static void request_id(char *out, size_t outlen)
{
    unsigned r[4] = {(unsigned)rand(), (unsigned)rand(), (unsigned)rand(), (unsigned)rand()};
    snprintf(out, outlen, "%08x-%04x-4%03x-a%03x-%04x%08x", r[0], r[1] & 0xffff, r[2] & 0xfff,
             r[3] & 0xfff, (r[1] >> 16) & 0xffff, r[2] ^ r[3]);
}

/* Runs one statement in the configured database and schema. 0, or a cd_err with the error
 * set on the task. */
static int sf_sql(struct sf_task *s, const char *stmt)
{
    int wrc = sender_wait(s);
    if (wrc)
        return wrc;
    json_t *req = json_pack("{s:s s:i s:s s:s}", "statement", stmt, "timeout", 60, "database",
                            s->db, "schema", s->schema);
    if (s->c.role[0])
        json_object_set_new(req, "role", json_string(s->c.role));
    char *body = cd_json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char id[64], path[160];
    request_id(id, sizeof(id));
    snprintf(path, sizeof(path), "/api/v2/statements?requestId=%s&retry=true", id);
    struct sf_resp r = {0};
    int rc = sf_call(&s->c, SF_CONTROL, "POST", path, "application/json", body, strlen(body), 0,
                     &r);
    free(body);
    for (int polls = 0; rc == 0 && r.status == 202 && polls < 120; polls++) {
        json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
        const char *url = json_string_value(json_object_get(j, "statementStatusUrl"));
        char next[512];
        snprintf(next, sizeof(next), "%s", url ? url : "");
        json_decref(j);
        sf_resp_free(&r);
        if (!next[0])
            break;
        usleep(500000);
        rc = sf_call(&s->c, SF_CONTROL, "GET", next, NULL, NULL, 0, 0, &r);
    }
    if (rc) {
        task_set_error(s->t, "Snowflake SQL API unreachable: %s", s->c.err);
        return CD_ERR_RETRIABLE;
    }
    int out = CD_OK;
    if (r.status != 200) {
        char code[128], msg[512];
        sf_resp_error(&r, code, sizeof(code), msg, sizeof(msg));
        task_set_error(s->t, "Snowflake refused \"%.120s\" in %s.%s (HTTP %ld, code %s): %s%s",
                       stmt, s->db, s->schema, r.status, code, msg,
                       r.status == 401 || r.status == 403
                           ? " (check snowflake.user.name, snowflake.private.key and "
                             "snowflake.role.name)"
                           : " (check snowflake.database.name and snowflake.schema.name)");
        out = CD_ERR_FATAL;
    }
    sf_resp_free(&r);
    return out;
}

static struct sf_table *table_get(struct sf_task *s, const char *topic)
{
    char *name = sf_table_for_topic(s->t2t, topic);
    for (struct sf_table *tb = s->tables; tb; tb = tb->next)
        if (!strcmp(tb->name, name)) {
            free(name);
            return tb;
        }
    struct sf_table *tb = calloc(1, sizeof(*tb));
    tb->name = name;
    tb->columns = json_object();
    tb->next = s->tables;
    s->tables = tb;
    return tb;
}

/* The streaming API cannot create tables; the SQL API can. */
static int table_ensure(struct sf_task *s, struct sf_table *tb)
{
    if (tb->ready)
        return 0;
    char stmt[512];
    snprintf(stmt, sizeof(stmt), "CREATE TABLE IF NOT EXISTS %s (RECORD_METADATA VARIANT%s)",
             tb->name, s->schematize ? "" : ", RECORD_CONTENT VARIANT");
    int rc = sf_sql(s, stmt);
    if (rc == 0) {
        tb->ready = 1;
        json_object_set_new(tb->columns, "RECORD_METADATA", json_true());
        task_log(s->t, 2, "table %s.%s.%s is ready", s->db, s->schema, tb->name);
    }
    return rc;
}

static const char *column_type(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return "NUMBER";
    case JSON_REAL:
        return "FLOAT";
    case JSON_STRING:
        return "VARCHAR";
    case JSON_TRUE:
    case JSON_FALSE:
        return "BOOLEAN";
    default:
        return "VARIANT";
    }
}

/* Schema evolution: adds a column for a field the table has not seen. */
static int column_ensure(struct sf_task *s, struct sf_table *tb, const char *col, json_t *v)
{
    if (json_object_get(tb->columns, col))
        return 0;
    if (json_is_null(v))
        return 0; /* a null needs no column yet; its type is unknown */
    char stmt[512];
    snprintf(stmt, sizeof(stmt), "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", tb->name, col,
             column_type(v));
    int rc = sf_sql(s, stmt);
    if (rc == 0)
        json_object_set_new(tb->columns, col, json_true());
    return rc;
}

/* ---------------------------------------------------------------- channels */

static char *chan_path(struct sf_task *s, struct sf_chan *ch, const char *prefix,
                       const char *suffix)
{
    char db[300], sc[300], pipe[300], name[600], *out;
    char pipe_name[300];
    snprintf(pipe_name, sizeof(pipe_name), "%s-STREAMING", ch->table->name);
    sf_escape(s->db, db, sizeof(db));
    sf_escape(s->schema, sc, sizeof(sc));
    sf_escape(pipe_name, pipe, sizeof(pipe));
    sf_escape(ch->name, name, sizeof(name));
    if (asprintf(&out, "/v2/streaming%s/databases/%s/schemas/%s/pipes/%s%s%s%s", prefix, db, sc,
                 pipe, ch->name && suffix[0] != ':' ? "/channels/" : "",
                 suffix[0] != ':' ? name : "", suffix) < 0)
        return NULL;
    return out;
}

static int64_t status_int(json_t *st, const char *a, const char *b)
{
    json_t *v = json_object_get(st, a);
    if (!v)
        v = json_object_get(st, b);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* A reply that means "this channel must be reopened". */
static int needs_reopen(const struct sf_resp *r, const char *code)
{
    return r->status == 409 || strstr(code, "STALE") || strstr(code, "REOPEN") ||
           strstr(code, "SEQUENCER") || strstr(code, "CHANNEL_DOES_NOT_EXIST");
}

static int auth_failure(struct sf_task *s, const struct sf_resp *r, const char *what,
                        const char *code, const char *msg)
{
    task_set_error(s->t, "Snowflake refused %s (HTTP %ld %s %s): check snowflake.user.name, "
                   "snowflake.private.key (the user's RSA_PUBLIC_KEY fingerprint must be %s) "
                   "and snowflake.role.name", what, r->status, code, msg, s->c.fp);
    return CD_ERR_FATAL;
}

/* Opens (or reopens) the channel: the service discards its uncommitted rows and returns the
 * last committed offset token; what we hold above it is marked for resending. */
static int chan_open(struct sf_task *s, struct sf_chan *ch)
{
    int rc = sender_wait(s);
    if (!rc)
        rc = table_ensure(s, ch->table);
    if (rc)
        return rc;
    char *path = chan_path(s, ch, "", "");
    struct sf_resp r = {0};
    for (int tries = 0;; tries++) {
        if (sf_call(&s->c, SF_INGEST, "PUT", path, "application/json", "{}", 2, 0, &r)) {
            task_set_error(s->t, "opening channel %s: %s", ch->name, s->c.err);
            free(path);
            return CD_ERR_RETRIABLE;
        }
        if (r.status != 409 || tries >= 5)
            break;
        sf_resp_free(&r); /* ERR_OPEN_CHANNEL_IN_PROGRESS: two opens raced */
        usleep(200000);
    }
    free(path);
    char code[128], msg[512];
    sf_resp_error(&r, code, sizeof(code), msg, sizeof(msg));
    rc = CD_OK;
    if (r.status == 401 || r.status == 403)
        rc = auth_failure(s, &r, "the channel open", code, msg);
    else if (r.status != 200) {
        task_set_error(s->t, "opening channel %s on pipe %s-STREAMING answered HTTP %ld %s %s",
                       ch->name, ch->table->name, r.status, code, msg);
        rc = r.status == 404 ? CD_ERR_FATAL : CD_ERR_RETRIABLE;
    } else {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        json_t *st = json_object_get(j, "channel_status");
        const char *ct = json_string_value(json_object_get(j, "next_continuation_token"));
        if (!ct) {
            task_set_error(s->t, "opening channel %s: reply without a continuation token",
                           ch->name);
            rc = CD_ERR_RETRIABLE;
        } else {
            free(ch->ct);
            ch->ct = strdup(ct);
            ch->committed = sf_offset_token(
                json_string_value(json_object_get(st, "last_committed_offset_token")));
            if (!ch->open && ch->errors_seen < 0)
                ch->errors_seen = status_int(st, "rows_error_count", "rows_errors");
            ch->open = 1;
            if (ch->committed >= 0 && ch->next <= ch->committed)
                ch->next = ch->committed + 1;
            chan_trim(ch, 1);
            task_log(s->t, 2, "channel %s open, committed offset token %lld", ch->name,
                     (long long)ch->committed);
        }
        json_decref(j);
    }
    sf_resp_free(&r);
    return rc;
}

/* The path of an append of b to ch, with the channel's current continuation token. */
static char *append_path(struct sf_task *s, struct sf_chan *ch, struct sf_batch *b)
{
    char *base = chan_path(s, ch, "/data", "/rows");
    size_t ctlen = strlen(ch->ct) * 3 + 1;
    char *ct = malloc(ctlen), *path = NULL;
    sf_escape(ch->ct, ct, ctlen);
    if (asprintf(&path, "%s?continuationToken=%s&startOffsetToken=%lld&endOffsetToken=%lld",
                 base, ct, (long long)b->offs[0], (long long)b->offs[b->n - 1]) < 0)
        path = NULL;
    free(ct);
    free(base);
    return path;
}

/* What an append's reply means: PUSH_OK (the next continuation token is taken), PUSH_REOPEN,
 * or a cd_err. call_rc is sf_call's result. */
static int append_reply(struct sf_task *s, struct sf_chan *ch, int call_rc, struct sf_resp *r)
{
    if (call_rc) {
        /* The request may have reached the service: only a reopen tells what it holds. */
        task_log(s->t, 1, "append to %s failed (%s); reopening the channel", ch->name, s->c.err);
        return PUSH_REOPEN;
    }
    int rc;
    char code[128], msg[512];
    sf_resp_error(r, code, sizeof(code), msg, sizeof(msg));
    if (r->status == 200) {
        json_t *j = json_loadb(r->body, r->len, 0, NULL);
        const char *next = json_string_value(json_object_get(j, "next_continuation_token"));
        if (next) {
            free(ch->ct);
            ch->ct = strdup(next);
            rc = PUSH_OK;
        } else
            rc = PUSH_REOPEN;
        json_decref(j);
    } else if (r->status == 401 || r->status == 403)
        rc = auth_failure(s, r, "an append", code, msg);
    else if (needs_reopen(r, code)) {
        task_log(s->t, 1, "channel %s: HTTP %ld %s; reopening", ch->name, r->status, code);
        rc = PUSH_REOPEN;
    } else {
        task_set_error(s->t, "append to channel %s answered HTTP %ld %s %s", ch->name,
                       r->status, code, msg);
        rc = CD_ERR_FATAL;
    }
    return rc;
}

/* Appends one batch and waits for the reply. PUSH_OK, PUSH_REOPEN, or a cd_err. */
static int chan_append(struct sf_task *s, struct sf_chan *ch, struct sf_batch *b)
{
    int rc = sender_wait(s);
    if (rc)
        return rc;
    char *path = append_path(s, ch, b);
    if (!path)
        return CD_ERR_RETRIABLE;
    struct sf_resp r = {0};
    int call_rc = sf_call(&s->c, SF_INGEST, "POST", path, "application/x-ndjson", b->buf,
                          b->len, 1, &r);
    free(path);
    rc = append_reply(s, ch, call_rc, &r);
    sf_resp_free(&r);
    return rc;
}

/* Sends every batch not yet appended, reopening the channel when the service asks. */
static int chan_push(struct sf_task *s, struct sf_chan *ch)
{
    int reopens = 0;
    for (;;) {
        if (!ch->open) {
            int rc = chan_open(s, ch);
            if (rc)
                return rc;
        }
        struct sf_batch *b = ch->inflight;
        while (b && b->sent)
            b = b->next;
        if (!b)
            return 0;
        int rc = chan_append(s, ch, b);
        if (rc == PUSH_OK) {
            b->sent = 1;
            continue;
        }
        if (rc != PUSH_REOPEN)
            return rc;
        ch->open = 0;
        if (++reopens > SF_MAX_REOPENS) {
            task_set_error(s->t, "channel %s had to be reopened %d times in a row", ch->name,
                           reopens);
            return CD_ERR_RETRIABLE;
        }
    }
}

/* ---------------------------------------------------------------- the sender thread */

static void sender_run(void *arg)
{
    struct sf_task *s = arg;
    struct sf_sender *q = &s->snd;
    memset(&q->r, 0, sizeof(q->r));
    q->call_rc = sf_call(&s->c, SF_INGEST, "POST", q->path, "application/x-ndjson", q->b->buf,
                         q->b->len, 1, &q->r);
}

static int sender_start(struct sf_task *s)
{
    s->snd.jt = cd_job_thread_start(sender_run, s);
    return s->snd.jt ? 0 : -1;
}

/* Takes the finished job's reply, as a synchronous append would have: 0 or a cd_err. A
 * reopen (or a lost reply) resends from the committed token through chan_push. */
static void sender_collect(struct sf_sender *q)
{
    cd_job_wait(q->jt);
    q->busy = 0;
    free(q->path);
    q->path = NULL;
}

/* Forgets the running job's reply (its channel is being closed: the partition's next owner
 * resumes from the committed token). */
static void sender_discard(struct sf_task *s)
{
    if (!s->snd.busy)
        return;
    sender_collect(&s->snd);
    sf_resp_free(&s->snd.r);
}

static int sender_wait(struct sf_task *s)
{
    struct sf_sender *q = &s->snd;
    if (!q->busy)
        return 0;
    sender_collect(q);
    int rc = append_reply(s, q->ch, q->call_rc, &q->r);
    sf_resp_free(&q->r);
    if (rc == PUSH_OK) {
        q->b->sent = 1;
        return has_unsent(q->ch) ? chan_push(s, q->ch) : 0;
    }
    if (rc != PUSH_REOPEN)
        return rc;
    q->ch->open = 0;
    return chan_push(s, q->ch);
}

static void sender_stop(struct sf_task *s)
{
    sender_discard(s);
    cd_job_thread_stop(s->snd.jt);
    s->snd.jt = NULL;
}

/* Moves the current buffer to the send queue and sends it: on the sender thread when the
 * channel is open and nothing older waits to be sent, else (reopen, resend) in place. */
static int chan_send(struct sf_task *s, struct sf_chan *ch)
{
    if (!ch->cur)
        return 0;
    int rc = sender_wait(s);
    if (rc)
        return rc;
    struct sf_batch **pp = &ch->inflight;
    while (*pp)
        pp = &(*pp)->next;
    struct sf_batch *b = *pp = ch->cur;
    ch->cur = NULL;
    for (struct sf_batch *o = ch->inflight; o != b; o = o->next)
        if (!o->sent)
            return chan_push(s, ch);
    struct sf_sender *q = &s->snd;
    char *path = ch->open && q->jt ? append_path(s, ch, b) : NULL;
    if (!path)
        return chan_push(s, ch);
    q->ch = ch;
    q->b = b;
    q->path = path;
    q->busy = 1;
    cd_job_post(q->jt);
    return 0;
}

static int record_rejected(struct sf_task *s, struct sf_chan *ch, int64_t n, json_t *st)
{
    struct cd_record *r = cd_record_new(ch->topic);
    r->partition = ch->partition;
    r->offset = sf_offset_token(
        json_string_value(json_object_get(st, "last_error_offset_upper_bound")));
    const char *m = json_string_value(json_object_get(st, "last_error_message"));
    int rc = task_record_failed(s->t, r, "Snowflake rejected %lld row(s) of channel %s (last up "
                                "to offset %lld): %s", (long long)n, ch->name,
                                (long long)r->offset, m ? m : "no message");
    cd_record_free(r);
    if (rc)
        s->fatal = 1;
    return rc;
}

/* Applies one channel's entry of a status reply (st NULL: the service left it out): the
 * committed token (frees what it covers), rows the service rejected (to task_record_failed),
 * and whether it must be reopened; then sends what a reopen or a failed put left unsent. */
static int chan_status_apply(struct sf_task *s, struct sf_chan *ch, json_t *st)
{
    int rc = 0;
    const char *code = json_string_value(json_object_get(st, "channel_status_code"));
    if (!st || (code && strcmp(code, "SUCCESS"))) {
        task_log(s->t, 1, "channel %s is %s; reopening", ch->name, st ? code : "gone");
        ch->open = 0;
    } else {
        int64_t c = sf_offset_token(
            json_string_value(json_object_get(st, "last_committed_offset_token")));
        if (c > ch->committed)
            ch->committed = c;
        chan_trim(ch, 0);
        int64_t errs = status_int(st, "rows_error_count", "rows_errors");
        if (ch->errors_seen >= 0 && errs > ch->errors_seen)
            rc = record_rejected(s, ch, errs - ch->errors_seen, st) ? CD_ERR_FATAL : 0;
        ch->errors_seen = errs;
    }
    if (!rc && ch->inflight && (!ch->open || has_unsent(ch)))
        rc = chan_push(s, ch);
    return rc;
}

/* Reads the status of chans[0..n), all channels of one table, in one bulk-status request:
 * a flush over many partitions costs one round trip, not one per partition. */
static int chans_status(struct sf_task *s, struct sf_chan **chans, size_t n)
{
    int wrc = sender_wait(s);
    if (wrc)
        return wrc;
    char *path = chan_path(s, chans[0], "", ":bulk-channel-status");
    json_t *names = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(names, json_string(chans[i]->name));
    json_t *req = json_pack("{s:o}", "channel_names", names);
    char *body = cd_json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct sf_resp r = {0};
    int rc = sf_call(&s->c, SF_INGEST, "POST", path, "application/json", body, strlen(body), 0,
                     &r);
    free(path);
    free(body);
    if (rc) {
        task_set_error(s->t, "channel status of %s: %s", chans[0]->name, s->c.err);
        return CD_ERR_RETRIABLE;
    }
    if (r.status != 200) {
        char code[128], msg[512];
        sf_resp_error(&r, code, sizeof(code), msg, sizeof(msg));
        task_set_error(s->t, "channel status of %s answered HTTP %ld %s %s", chans[0]->name,
                       r.status, code, msg);
        rc = r.status == 401 || r.status == 403 ? CD_ERR_FATAL : CD_ERR_RETRIABLE;
        sf_resp_free(&r);
        return rc;
    }
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    json_t *all = json_object_get(j, "channel_statuses");
    for (size_t i = 0; i < n && !rc; i++)
        rc = chan_status_apply(s, chans[i], json_object_get(all, chans[i]->name));
    json_decref(j);
    sf_resp_free(&r);
    return rc;
}

static int chan_status(struct sf_task *s, struct sf_chan *ch)
{
    return chans_status(s, &ch, 1);
}

static void chan_free(struct sf_chan *ch)
{
    while (ch->inflight) {
        struct sf_batch *b = ch->inflight;
        ch->inflight = b->next;
        batch_free(b);
    }
    batch_free(ch->cur);
    free(ch->topic);
    free(ch->name);
    if (ch->ct)
        memset(ch->ct, 0, strlen(ch->ct));
    free(ch->ct);
    free(ch);
}

static struct sf_chan *chan_find(struct sf_task *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->nchans; i++)
        if (s->chans[i]->partition == partition && !strcmp(s->chans[i]->topic, topic))
            return s->chans[i];
    return NULL;
}

static struct sf_chan *chan_add(struct sf_task *s, const char *topic, int32_t partition)
{
    struct sf_chan *ch = calloc(1, sizeof(*ch));
    ch->topic = strdup(topic);
    ch->partition = partition;
    ch->table = table_get(s, topic);
    ch->committed = ch->next = ch->errors_seen = -1;
    char raw[600];
    snprintf(raw, sizeof(raw), "%s_%s_%d", s->conn, topic, (int)partition);
    ch->name = sf_identifier(raw);
    if (s->nchans == s->capchans) {
        s->capchans = s->capchans ? s->capchans * 2 : 8;
        s->chans = realloc(s->chans, s->capchans * sizeof(*s->chans));
    }
    s->chans[s->nchans++] = ch;
    return ch;
}

/* ---------------------------------------------------------------- rows */

static json_t *record_metadata(const struct cd_record *r)
{
    json_t *m = json_pack("{s:I s:s s:i}", "offset", (json_int_t)r->offset, "topic", r->topic,
                          "partition", (int)r->partition);
    if (r->timestamp >= 0)
        json_object_set_new(m, "CreateTime", json_integer(r->timestamp));
    if (r->key.value)
        json_object_set(m, "key", r->key.value);
    else if (r->raw_key)
        json_object_set_new(m, "key", json_stringn_nocheck(r->raw_key, r->raw_key_len));
    if (r->headers && rd_kafka_header_cnt(r->headers)) {
        json_t *h = json_object();
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(r->headers, i, &name, &val, &size); i++)
            json_object_set_new(h, name, val ? json_stringn_nocheck(val, size) : json_null());
        json_object_set_new(m, "headers", h);
    }
    return m;
}

#define PUT_LIT(b, lit) sf_buf_put(b, lit, sizeof(lit) - 1)

/* RECORD_METADATA written straight as JSON: the same object record_metadata builds. */
static int write_metadata(struct sf_buf *b, const struct cd_record *r)
{
    PUT_LIT(b, "{\"offset\":");
    sf_buf_int(b, r->offset);
    PUT_LIT(b, ",\"topic\":");
    if (sf_buf_str(b, r->topic, strlen(r->topic)))
        return -1;
    PUT_LIT(b, ",\"partition\":");
    sf_buf_int(b, r->partition);
    if (r->timestamp >= 0) {
        PUT_LIT(b, ",\"CreateTime\":");
        sf_buf_int(b, r->timestamp);
    }
    if (r->key.value) {
        PUT_LIT(b, ",\"key\":");
        if (sf_buf_json(b, r->key.value))
            return -1;
    } else if (r->raw_key) {
        PUT_LIT(b, ",\"key\":");
        if (sf_buf_str(b, r->raw_key, r->raw_key_len))
            return -1;
    }
    if (r->headers && rd_kafka_header_cnt(r->headers)) {
        json_t *m = record_metadata(r); /* headers are rare: the same object, then its part */
        PUT_LIT(b, ",\"headers\":");
        int rc = sf_buf_json(b, json_object_get(m, "headers"));
        json_decref(m);
        if (rc)
            return -1;
    }
    PUT_LIT(b, "}");
    return 0;
}

/* The NDJSON line of one record into s->row: 0, or -1 with *rc a cd_err or why in err. */
static int record_row(struct sf_task *s, struct sf_table *tb, const struct cd_record *r,
                      int *rc, char *err, size_t errlen)
{
    struct sf_buf *b = &s->row;
    b->len = 0;
    *rc = 0;
    int bad;
    if (!s->schematize) {
        PUT_LIT(b, "{\"RECORD_METADATA\":");
        bad = write_metadata(b, r);
        PUT_LIT(b, ",\"RECORD_CONTENT\":");
        bad = bad || sf_buf_json(b, r->value.value ? r->value.value : json_null());
        PUT_LIT(b, "}");
    } else if (r->value.value && !json_is_object(r->value.value)) {
        snprintf(err, errlen, "schematization needs a struct or map value, got %s",
                 json_is_array(r->value.value) ? "an array" : "a scalar");
        return -1;
    } else {
        json_t *row = json_object();
        json_object_set_new(row, "RECORD_METADATA", record_metadata(r));
        const char *k;
        json_t *v;
        json_object_foreach(r->value.value, k, v) {
            char *col = sf_identifier(k);
            *rc = column_ensure(s, tb, col, v);
            if (*rc) {
                free(col);
                json_decref(row);
                return -1;
            }
            json_object_set(row, col, v);
            free(col);
        }
        bad = sf_buf_json(b, row);
        json_decref(row);
    }
    if (bad)
        snprintf(err, errlen, "the value cannot be written as JSON");
    return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- task */

static void sf_task_free(struct sf_task *s)
{
    sender_stop(s);
    for (size_t i = 0; i < s->nchans; i++)
        chan_free(s->chans[i]);
    free(s->chans);
    while (s->tables) {
        struct sf_table *tb = s->tables;
        s->tables = tb->next;
        free(tb->name);
        json_decref(tb->columns);
        free(tb);
    }
    sf_client_free(&s->c);
    sf_buf_free(&s->row);
    json_decref(s->t2t);
    free(s->db);
    free(s->schema);
    free(s->conn);
    free(s);
}

/* Creates the tables of the configured topics now, so that a wrong database, schema or key
 * fails the task at start with a clear message. */
static int sf_prepare_tables(struct sf_task *s, json_t *conf)
{
    const char *topics = json_string_value(json_object_get(conf, "topics"));
    char *copy = strdup(topics ? topics : ""), *save = NULL;
    int rc = 0;
    for (char *tp = strtok_r(copy, ", ", &save); tp && !rc; tp = strtok_r(NULL, ", ", &save))
        rc = table_ensure(s, table_get(s, tp));
    free(copy);
    return rc;
}

static int sf_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct sf_conf c;
    const char *key;
    char err[512];
    if (sf_conf_parse(conf, &c, &key, err, sizeof(err))) {
        task_set_error(t, "%s: %s", key, err);
        return CD_ERR_CONFIG;
    }
    struct sf_task *s = calloc(1, sizeof(*s));
    s->t = t;
    s->t2t = c.t2t;
    s->db = strdup(cfg_get_str(conf, sf_defs, "snowflake.database.name"));
    s->schema = strdup(cfg_get_str(conf, sf_defs, "snowflake.schema.name"));
    s->conn = strdup(task_connector_name(t));
    s->schematize = cfg_get_bool(conf, sf_defs, "snowflake.enable.schematization", 0);
    s->max_count = cfg_get_int(conf, sf_defs, "buffer.count.records", 10000);
    s->max_bytes = cfg_get_int(conf, sf_defs, "buffer.size.bytes", 20000000);
    s->flush_ms = cfg_get_int(conf, sf_defs, "buffer.flush.time", 10) * 1000;
    if (s->max_count < 1)
        s->max_count = 1;
    if (s->max_bytes < 1 || s->max_bytes > SF_MAX_REQUEST)
        s->max_bytes = SF_MAX_REQUEST;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    if (sf_client_init(&s->c, t, &c.url, c.account,
                       cfg_get_str(conf, sf_defs, "snowflake.user.name"),
                       cfg_get_str(conf, sf_defs, "snowflake.role.name"), c.key)) {
        task_set_error(t, "cannot set up the HTTP client");
        sf_task_free(s);
        return CD_ERR_FATAL;
    }
    s->c.jwt_lifetime_s =
        (int)cfg_get_int(conf, sf_defs, "snowflake.jwt.lifetime.seconds", SF_JWT_LIFETIME_S);
    long status;
    if (sf_client_auth(&s->c, 1, &status)) {
        if (status == 401 || status == 403)
            task_set_error(t, "Snowflake refused the key-pair login of user %s in account %s: "
                           "%s. Check snowflake.user.name and snowflake.private.key: the "
                           "user's RSA_PUBLIC_KEY must match this key (fingerprint %s)",
                           s->c.user, s->c.account, s->c.err, s->c.fp);
        else
            task_set_error(t, "cannot reach Snowflake at %s: %s", s->c.url.base, s->c.err);
        sf_task_free(s);
        return CD_ERR_FATAL;
    }
    int rc = sf_prepare_tables(s, conf);
    if (rc) {
        sf_task_free(s);
        return rc == CD_ERR_RETRIABLE ? CD_ERR_FATAL : rc;
    }
    if (sender_start(s)) {
        task_set_error(t, "cannot start the sender thread");
        sf_task_free(s);
        return CD_ERR_FATAL;
    }
    task_log(t, 2, "logged in to Snowflake account %s as %s (key %s), ingest host %s",
             s->c.account, s->c.user, s->c.fp, s->c.ingest_host);
    *state = s;
    return 0;
}

static void sf_stop(void *state, struct task_ctx *t)
{
    if (state)
        sf_task_free(state);
}

static int sf_open(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *parts)
{
    struct sf_task *s = state;
    int rc = 0;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        struct sf_chan *ch = chan_find(s, p->topic, p->partition);
        if (!ch)
            ch = chan_add(s, p->topic, p->partition);
        ch->open = 0;
        int r = chan_open(s, ch);
        if (r) {
            rc = r; /* put() opens it again; until then the group offset applies */
            continue;
        }
        if (ch->committed >= 0)
            p->offset = ch->committed + 1;
    }
    return rc;
}

static int sf_close(void *state, struct task_ctx *t, const rd_kafka_topic_partition_list_t *parts)
{
    struct sf_task *s = state;
    for (int i = 0; i < parts->cnt; i++)
        for (size_t k = 0; k < s->nchans; k++) {
            struct sf_chan *ch = s->chans[k];
            if (ch->partition != parts->elems[i].partition ||
                strcmp(ch->topic, parts->elems[i].topic))
                continue;
            if (s->snd.busy && s->snd.ch == ch)
                sender_discard(s);
            chan_free(ch); /* the next owner resumes from the committed token */
            s->chans[k] = s->chans[--s->nchans];
            break;
        }
    return 0;
}

/* Bounded memory: waits while too many appended batches await their commit. */
static int chan_backlog(struct sf_task *s, struct sf_chan *ch)
{
    for (int i = 0; inflight_count(ch) > SF_MAX_INFLIGHT; i++) {
        if (task_stopping(s->t) || i > 300) {
            task_set_error(s->t, "channel %s: Snowflake has not committed %zu batches",
                           ch->name, inflight_count(ch));
            return CD_ERR_RETRIABLE;
        }
        int rc = chan_status(s, ch);
        if (rc)
            return rc;
        if (inflight_count(ch) > SF_MAX_INFLIGHT)
            usleep(100000);
    }
    return 0;
}

static int put_one(struct sf_task *s, struct sf_chan *ch, const struct cd_record *r)
{
    char err[256];
    int rc;
    if (record_row(s, ch->table, r, &rc, err, sizeof(err))) {
        if (rc)
            return rc;
        ch->next = r->offset + 1;
        return task_record_failed(s->t, r, "%s", err) ? CD_ERR_FATAL : 0;
    }
    const char *row = s->row.p;
    size_t len = s->row.len;
    if ((int64_t)len + 1 > SF_MAX_REQUEST) {
        ch->next = r->offset + 1;
        return task_record_failed(s->t, r, "row of %zu bytes exceeds the 4 MB request limit",
                                  len) ? CD_ERR_FATAL : 0;
    }
    if (ch->cur && (int64_t)(ch->cur->len + len + 1) > s->max_bytes && (rc = chan_send(s, ch)))
        return rc;
    if (!ch->cur)
        ch->cur = batch_new();
    batch_add(ch->cur, row, len, r->offset);
    ch->next = r->offset + 1;
    if ((int64_t)ch->cur->n >= s->max_count || (int64_t)ch->cur->len >= s->max_bytes) {
        if ((rc = chan_send(s, ch)))
            return rc;
        return chan_backlog(s, ch);
    }
    return 0;
}

/* Sends buffers older than buffer.flush.time. */
static int send_aged(struct sf_task *s)
{
    int64_t now = task_now_ms();
    for (size_t i = 0; i < s->nchans; i++) {
        struct sf_chan *ch = s->chans[i];
        if (ch->cur && now - ch->cur->born_ms >= s->flush_ms) {
            int rc = chan_send(s, ch);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int sf_put(void *state, struct task_ctx *t, struct cd_record **recs, size_t n)
{
    struct sf_task *s = state;
    if (s->fatal)
        return CD_ERR_FATAL;
    for (size_t i = 0; i < n; i++) {
        const struct cd_record *r = recs[i];
        struct sf_chan *ch = chan_find(s, r->topic, r->partition);
        if (!ch)
            ch = chan_add(s, r->topic, r->partition);
        int rc = ch->open ? 0 : chan_open(s, ch);
        if (rc)
            return rc;
        if (ch->next >= 0 && r->offset < ch->next)
            continue; /* already buffered, sent or committed: a replay */
        if ((rc = put_one(s, ch, r)))
            return rc;
    }
    return send_aged(s);
}

/* Reads the status of every channel with batches in flight, one request per table. */
static int status_all(struct sf_task *s)
{
    struct sf_chan **group = malloc((s->nchans ? s->nchans : 1) * sizeof(*group));
    int rc = 0;
    for (struct sf_table *tb = s->tables; tb && !rc; tb = tb->next) {
        size_t n = 0;
        for (size_t i = 0; i < s->nchans; i++)
            if (s->chans[i]->table == tb && s->chans[i]->inflight)
                group[n++] = s->chans[i];
        if (n)
            rc = chans_status(s, group, n);
    }
    free(group);
    return rc;
}

static int sf_flush(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *offsets)
{
    struct sf_task *s = state;
    if (s->fatal)
        return CD_ERR_FATAL;
    int rc = send_aged(s);
    if (!rc)
        rc = status_all(s);
    if (rc)
        return rc;
    for (int i = 0; i < offsets->cnt; i++) {
        rd_kafka_topic_partition_t *p = &offsets->elems[i];
        struct sf_chan *ch = chan_find(s, p->topic, p->partition);
        if (!ch || (!ch->cur && !ch->inflight))
            continue; /* everything put for it is committed */
        if (ch->committed < 0)
            p->offset = RD_KAFKA_OFFSET_INVALID;
        else if (p->offset > ch->committed + 1)
            p->offset = ch->committed + 1;
    }
    return 0;
}

static const char *const sf_aliases[] = {"com.snowflake.kafka.connector.SnowflakeSinkConnector",
                                         NULL};

const struct connector_plugin snowflake_sink_plugin = {
    .class_name = "SnowflakeSinkConnector",
    .aliases = sf_aliases,
    .type = PLUGIN_SINK,
    .version = CD_VERSION,
    .config = sf_defs,
    .validate = sf_validate,
    .task_start = sf_start,
    .task_stop = sf_stop,
    .open = sf_open,
    .close = sf_close,
    .put = sf_put,
    .flush = sf_flush,
    /* buffer.flush.time must fire on a quiet topic too, not only at the next offset flush */
    .put_when_idle = 1,
};
