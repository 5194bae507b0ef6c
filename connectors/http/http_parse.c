/* http_parse.c — request bodies into records, paths into topics (no I/O, unit-tested). */
#define _GNU_SOURCE
#include "http.h"

#include "conv_util.h"
#include "json_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_content_kind(const char *ctype, int proxy)
{
    if (!ctype)
        return -1;
    while (*ctype == ' ')
        ctype++;
    size_t n = strcspn(ctype, "; ");
    static const struct {
        const char *type;
        int kind, proxy_only;
    } types[] = {
        {"application/json", HK_JSON, 0},
        {"application/x-ndjson", HK_NDJSON, 0},
        {"application/jsonlines", HK_NDJSON, 0},
        {"application/vnd.kafka.json.v2+json", HK_PROXY_JSON, 1},
        {"application/vnd.kafka.binary.v2+json", HK_PROXY_BINARY, 1},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i].type) == n && !strncasecmp(ctype, types[i].type, n))
            return types[i].proxy_only && !proxy ? -1 : types[i].kind;
    return -1;
}

void http_items_free(struct http_item *items, int n)
{
    for (int i = 0; items && i < n; i++) {
        json_decref(items[i].key);
        json_decref(items[i].value);
    }
    free(items);
}

struct itemv {
    struct http_item *v;
    int n, cap;
};

static struct http_item *itemv_add(struct itemv *iv)
{
    if (iv->n == iv->cap) {
        iv->cap = iv->cap ? iv->cap * 2 : 16;
        iv->v = realloc(iv->v, sizeof(*iv->v) * (size_t)iv->cap);
    }
    struct http_item *it = &iv->v[iv->n++];
    memset(it, 0, sizeof(*it));
    it->partition = -1;
    return it;
}

/* Adds value (reference stolen) as a record, its key taken from key_field. */
static void add_value(struct itemv *iv, json_t *value, const char *key_field)
{
    struct http_item *it = itemv_add(iv);
    it->value = value;
    if (key_field && *key_field && json_is_object(value))
        it->key = json_incref(json_object_get(value, key_field));
}

/* One parsed JSON document: split it when asked, else one record (arrays: one per element
 * at the top level only, as the seeds' endpoints take a list of objects). */
static void add_document(struct itemv *iv, json_t *doc, const char *split, const char *key_field,
                         int array_each)
{
    if (array_each && json_is_array(doc)) {
        size_t i;
        json_t *el;
        json_array_foreach(doc, i, el) add_document(iv, json_incref(el), split, key_field, 0);
        json_decref(doc);
        return;
    }
    json_t *arr = split && *split && json_is_object(doc) ? json_object_get(doc, split) : NULL;
    if (!json_is_array(arr)) {
        add_value(iv, doc, key_field);
        return;
    }
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el)
    {
        json_t *rec = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v) if (strcmp(k, split)) json_object_set(rec, k, v);
        if (json_is_object(el))
            json_object_update(rec, el);
        else
            json_object_set(rec, split, el);
        add_value(iv, rec, key_field);
    }
    json_decref(doc);
}

static void json_err(const json_error_t *je, int line_offset, char *err, size_t errlen)
{
    snprintf(err, errlen, "malformed JSON at line %d column %d: %s", je->line + line_offset,
             je->column, je->text);
}

static int parse_ndjson(struct itemv *iv, const char *body, size_t len, const char *split,
                        const char *key_field, char *err, size_t errlen)
{
    size_t pos = 0;
    int line = 0;
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (body + pos)) : len - pos;
        line++;
        size_t j = 0;
        while (j < ll && isspace((unsigned char)body[pos + j]))
            j++;
        if (j < ll) {
            json_error_t je;
            json_t *doc = cd_json_parse(body + pos, ll, 0, &je);
            if (!doc) {
                json_err(&je, line - 1, err, errlen);
                return -1;
            }
            add_document(iv, doc, split, key_field, 0);
        }
        pos += ll + 1;
    }
    return 0;
}

/* A REST Proxy v2 key or value: JSON as is, or base64 bytes for the binary format. */
static int proxy_data(json_t *in, int binary, json_t **out, int *is_bytes, const char *what,
                      size_t idx, char *err, size_t errlen)
{
    *out = NULL;
    *is_bytes = 0;
    if (!in || json_is_null(in))
        return 0;
    if (!binary) {
        *out = json_incref(in);
        return 0;
    }
    size_t n;
    unsigned char *raw =
        json_is_string(in) ? b64_decode(json_string_value(in), json_string_length(in), &n) : NULL;
    if (!raw) {
        snprintf(err, errlen, "records[%zu].%s: expected a base64 string", idx, what);
        return -1;
    }
    *out = json_stringn_nocheck((const char *)raw, n);
    *is_bytes = 1;
    free(raw);
    return 0;
}

static int parse_proxy(struct itemv *iv, json_t *doc, int binary, char *err, size_t errlen)
{
    json_t *recs = json_object_get(doc, "records");
    if (!json_is_array(recs)) {
        snprintf(err, errlen, "the body needs a \"records\" array");
        return -1;
    }
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        if (!json_is_object(r)) {
            snprintf(err, errlen, "records[%zu] is not an object", i);
            return -1;
        }
        struct http_item *it = itemv_add(iv);
        if (proxy_data(json_object_get(r, "key"), binary, &it->key, &it->key_bytes, "key", i,
                       err, errlen) ||
            proxy_data(json_object_get(r, "value"), binary, &it->value, &it->value_bytes,
                       "value", i, err, errlen))
            return -1;
        json_t *p = json_object_get(r, "partition");
        if (json_is_integer(p) && json_integer_value(p) >= 0)
            it->partition = (int)json_integer_value(p);
        else if (p && !json_is_null(p)) {
            snprintf(err, errlen, "records[%zu].partition must be a non-negative integer", i);
            return -1;
        }
    }
    return 0;
}

/* REST Proxy v3 data: {"type":"JSON"|"STRING"|"BINARY","data":...}. */
static int v3_data(json_t *in, json_t **out, int *is_bytes, const char *what, char *err,
                   size_t errlen)
{
    *out = NULL;
    *is_bytes = 0;
    if (!in || json_is_null(in))
        return 0;
    const char *type = json_string_value(json_object_get(in, "type"));
    json_t *data = json_object_get(in, "data");
    if (type && !strcasecmp(type, "BINARY"))
        return proxy_data(data, 1, out, is_bytes, what, 0, err, errlen);
    if (type && strcasecmp(type, "JSON") && strcasecmp(type, "STRING")) {
        snprintf(err, errlen, "%s.type %s is not supported (JSON, STRING or BINARY)", what, type);
        return -1;
    }
    *out = data && !json_is_null(data) ? json_incref(data) : NULL;
    return 0;
}

static int parse_v3(struct itemv *iv, json_t *doc, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    struct http_item *it = itemv_add(iv);
    if (v3_data(json_object_get(doc, "key"), &it->key, &it->key_bytes, "key", err, errlen) ||
        v3_data(json_object_get(doc, "value"), &it->value, &it->value_bytes, "value", err,
                errlen))
        return -1;
    json_t *p = json_object_get(doc, "partition_id");
    if (json_is_integer(p) && json_integer_value(p) >= 0)
        it->partition = (int)json_integer_value(p);
    return 0;
}

int http_parse_body(int kind, const char *body, size_t len, const char *split_field,
                    const char *key_field, struct http_item **items, char *err, size_t errlen)
{
    struct itemv iv = {0};
    int rc = 0;
    *items = NULL;
    if (kind == HK_NDJSON) {
        rc = parse_ndjson(&iv, body, len, split_field, key_field, err, errlen);
    } else {
        json_error_t je;
        json_t *doc = cd_json_parse(body, len, 0, &je);
        if (!doc) {
            json_err(&je, 0, err, errlen);
            return -1;
        }
        if (kind == HK_JSON) {
            add_document(&iv, doc, split_field, key_field, 1);
            doc = NULL;
        } else if (kind == HK_V3) {
            rc = parse_v3(&iv, doc, err, errlen);
        } else {
            rc = parse_proxy(&iv, doc, kind == HK_PROXY_BINARY, err, errlen);
        }
        json_decref(doc);
    }
    if (rc) {
        http_items_free(iv.v, iv.n);
        return -1;
    }
    *items = iv.v;
    return iv.n;
}

/* Calls fn(path, topic) for each "path=topic" entry; stops when fn returns nonzero. */
static int paths_each(const char *spec, int (*fn)(const char *, const char *, void *), void *arg)
{
    char *copy = strdup(spec ? spec : ""), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        char *topic = eq ? eq + 1 : NULL;
        while (topic && *topic == ' ')
            topic++;
        for (char *e = tok + strlen(tok); e > tok && e[-1] == ' ';)
            *--e = '\0';
        if (topic)
            for (char *e = topic + strlen(topic); e > topic && e[-1] == ' ';)
                *--e = '\0';
        if (*tok)
            rc = fn(tok, topic, arg);
    }
    free(copy);
    return rc;
}

struct route_q {
    const char *path;
    char *topic;
};

static int route_match(const char *path, const char *topic, void *arg)
{
    struct route_q *q = arg;
    if (!topic || strcmp(path, q->path))
        return 0;
    q->topic = strdup(topic);
    return 1;
}

char *http_route_topic(const char *paths_spec, const char *path)
{
    struct route_q q = {.path = path};
    paths_each(paths_spec, route_match, &q);
    return q.topic;
}

struct check_q {
    char *err;
    size_t errlen;
};

static int route_check(const char *path, const char *topic, void *arg)
{
    struct check_q *q = arg;
    if (path[0] != '/') {
        snprintf(q->err, q->errlen, "path '%s' must start with /", path);
        return 1;
    }
    if (!topic || !*topic) {
        snprintf(q->err, q->errlen, "path '%s' needs a topic: /path=topic", path);
        return 1;
    }
    return 0;
}

int http_paths_check(const char *spec, char *err, size_t errlen)
{
    struct check_q q = {err, errlen};
    return paths_each(spec, route_check, &q) ? -1 : 0;
}

/* Copies the path segment at s (up to '/' or the end) into a malloc'd string, or NULL. */
static char *segment(const char *s, const char **end)
{
    size_t n = strcspn(s, "/");
    *end = s + n;
    return n ? strndup(s, n) : NULL;
}

char *http_proxy_topic(const char *path, int *v3)
{
    const char *end;
    *v3 = 0;
    if (!strncmp(path, "/topics/", 8)) {
        char *t = segment(path + 8, &end);
        if (t && !*end)
            return t;
        free(t);
        return NULL;
    }
    if (strncmp(path, "/v3/clusters/", 13))
        return NULL;
    char *cluster = segment(path + 13, &end);
    int ok = cluster && !strncmp(end, "/topics/", 8);
    free(cluster);
    if (!ok)
        return NULL;
    char *t = segment(end + 8, &end);
    if (t && !strcmp(end, "/records")) {
        *v3 = 1;
        return t;
    }
    free(t);
    return NULL;
}

int http_kafka_error_code(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        return 50003;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return 40301;
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
        return 40101;
    default:
        return 50002;
    }
}
