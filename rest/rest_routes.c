/* rest_routes.c — the route table and the pure helpers of the REST layer (see
 * rest_internal.h). Nothing here touches libmicrohttpd. */
#include "rest_internal.h"

#include "registry.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REST_MAX_SEGMENTS 8

/* Kafka Connect's REST API, as in kafka-connect.md §1. */
static const struct rest_route rest_routes[] = {
    {"GET", "", RK_HERDER, HOP_ROOT},
    {"GET", "health", RK_HERDER, HOP_HEALTH},
    {"GET", "connectors", RK_HERDER, HOP_LIST},
    {"POST", "connectors", RK_HERDER, HOP_CREATE},
    {"GET", "connectors/{c}", RK_HERDER, HOP_GET},
    {"DELETE", "connectors/{c}", RK_HERDER, HOP_DELETE},
    {"GET", "connectors/{c}/config", RK_HERDER, HOP_CONFIG_GET},
    {"PUT", "connectors/{c}/config", RK_HERDER, HOP_CONFIG_PUT},
    {"PATCH", "connectors/{c}/config", RK_HERDER, HOP_CONFIG_PATCH},
    {"GET", "connectors/{c}/status", RK_HERDER, HOP_STATUS},
    {"GET", "connectors/{c}/tasks", RK_HERDER, HOP_TASKS},
    {"GET", "connectors/{c}/tasks-config", RK_HERDER, HOP_TASKS_CONFIG},
    {"GET", "connectors/{c}/tasks/{t}/status", RK_HERDER, HOP_TASK_STATUS},
    {"POST", "connectors/{c}/tasks/{t}/restart", RK_HERDER, HOP_TASK_RESTART},
    {"POST", "connectors/{c}/restart", RK_HERDER, HOP_RESTART},
    {"PUT", "connectors/{c}/pause", RK_HERDER, HOP_PAUSE},
    {"PUT", "connectors/{c}/resume", RK_HERDER, HOP_RESUME},
    {"PUT", "connectors/{c}/stop", RK_HERDER, HOP_STOP},
    {"GET", "connectors/{c}/topics", RK_HERDER, HOP_TOPICS},
    {"PUT", "connectors/{c}/topics/reset", RK_HERDER, HOP_TOPICS_RESET},
    {"GET", "connectors/{c}/offsets", RK_HERDER, HOP_OFFSETS_GET},
    {"PATCH", "connectors/{c}/offsets", RK_HERDER, HOP_OFFSETS_PATCH},
    {"DELETE", "connectors/{c}/offsets", RK_HERDER, HOP_OFFSETS_DELETE},
    {"GET", "connector-plugins", RK_PLUGINS, HOP_ROOT},
    {"GET", "connector-plugins/{p}/config", RK_PLUGIN_CONFIG, HOP_ROOT},
    {"PUT", "connector-plugins/{p}/config/validate", RK_PLUGIN_VALIDATE, HOP_ROOT},
    {"GET", "admin/loggers", RK_LOGGERS, HOP_ROOT},
    {"GET", "admin/loggers/{l}", RK_LOGGER_GET, HOP_ROOT},
    {"PUT", "admin/loggers/{l}", RK_LOGGER_PUT, HOP_ROOT},
    {NULL, NULL, RK_HERDER, HOP_ROOT},
};

static int rest_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *rest_url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? rest_hex(s[i + 1]) : -1;
        int lo = hi >= 0 ? rest_hex(s[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[n++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[n] = '\0';
    return out;
}

size_t rest_url_encode(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char buf[4];
        size_t k = 0;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            buf[k++] = (char)*p;
        else {
            buf[k++] = '%';
            buf[k++] = hex[*p >> 4];
            buf[k++] = hex[*p & 15];
        }
        for (size_t j = 0; j < k; j++, n++)
            if (outlen && n < outlen - 1)
                out[n] = buf[j];
    }
    if (outlen)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

/* A path split into raw segments (pointers into the path, not NUL-terminated). */
struct rest_segments {
    const char *seg[REST_MAX_SEGMENTS];
    size_t len[REST_MAX_SEGMENTS];
    int n;
};

/* Splits "/a/b/" into {"a","b"}; "/" gives no segment. Returns -1 when the path does not
 * start with '/' or has too many segments. */
static int rest_split(const char *path, struct rest_segments *sp)
{
    size_t plen = strlen(path);
    sp->n = 0;
    if (path[0] != '/')
        return -1;
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    const char *p = path + 1, *end = path + plen;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        if (sp->n == REST_MAX_SEGMENTS)
            return -1;
        sp->seg[sp->n] = p;
        sp->len[sp->n++] = (size_t)(e - p);
        p = slash ? slash + 1 : end;
        if (slash && p == end) { /* "//" at the end: an empty last segment */
            sp->seg[sp->n] = p;
            sp->len[sp->n++] = 0;
        }
    }
    return 0;
}

/* 1 when the segment is a task number (decimal, fits an int). */
static int rest_task_number(const char *s, size_t len, int *out)
{
    long v = 0;
    if (!len || len > 9)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = (int)v;
    return 1;
}

/* Matches the segments against one pattern. Returns 1 on a match, with *name_seg and *task set
 * (name_seg = index of the name segment or -1). */
static int rest_pattern_match(const char *pattern, const struct rest_segments *sp, int *name_seg,
                              int *task)
{
    int i = 0;
    const char *p = pattern;
    *name_seg = -1;
    *task = -1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t plen = slash ? (size_t)(slash - p) : strlen(p);
        if (i >= sp->n)
            return 0;
        if (plen == 3 && !strncmp(p, "{t}", 3)) {
            if (!rest_task_number(sp->seg[i], sp->len[i], task))
                return 0;
        } else if (plen == 3 && p[0] == '{') {
            if (!sp->len[i])
                return 0;
            *name_seg = i;
        } else if (plen != sp->len[i] || strncmp(p, sp->seg[i], plen)) {
            return 0;
        }
        i++;
        p = slash ? slash + 1 : p + plen;
    }
    return i == sp->n;
}

int rest_route_find(const char *method, const char *path, struct rest_match *m)
{
    struct rest_segments sp;
    int path_known = 0, name_seg, task;
    m->route = NULL;
    m->name = NULL;
    m->task = -1;
    if (!path || rest_split(path, &sp))
        return 404;
    for (const struct rest_route *r = rest_routes; r->method; r++) {
        if (!rest_pattern_match(r->pattern, &sp, &name_seg, &task))
            continue;
        path_known = 1;
        if (strcmp(r->method, method))
            continue;
        if (name_seg >= 0) {
            m->name = rest_url_decode(sp.seg[name_seg], sp.len[name_seg]);
            if (!m->name)
                return 400;
        }
        m->route = r;
        m->task = task;
        return 0;
    }
    return path_known ? 405 : 404;
}

void rest_match_clear(struct rest_match *m)
{
    free(m->name);
    m->name = NULL;
    m->route = NULL;
}

int rest_query_true(const char *v)
{
    return v && !strcasecmp(v, "true");
}

/* Parses "host:port" / "[v6]:port" (an optional trailing '/'). */
static int rest_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
    const char *hs = s, *he = NULL, *ps;
    if (len && s[len - 1] == '/')
        len--;
    const char *end = s + len;
    if (len && s[0] == '[') {
        hs = s + 1;
        he = memchr(hs, ']', len - 1);
        if (!he || he + 1 >= end || he[1] != ':')
            return -1;
        ps = he + 2;
    } else {
        for (const char *p = s; p < end; p++)
            if (*p == ':')
                he = p;
        if (!he)
            return -1;
        ps = he + 1;
    }
    size_t hl = (size_t)(he - hs), pl = (size_t)(end - ps);
    long v = 0;
    if (hl >= hostlen || !pl || pl > 5)
        return -1;
    for (size_t i = 0; i < pl; i++) {
        if (ps[i] < '0' || ps[i] > '9')
            return -1;
        v = v * 10 + (ps[i] - '0');
    }
    if (v > 65535)
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

int rest_listener_parse(const char *listeners, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen)
{
    const char *p = listeners ? listeners : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (len > 7 && !strncasecmp(p, "http://", 7)) {
            if (rest_hostport(p + 7, len - 7, host, hostlen, port)) {
                snprintf(err, errlen, "Invalid listener '%.*s': expected http://host:port",
                         (int)len, p);
                return -1;
            }
            return 0;
        }
        p += len;
    }
    snprintf(err, errlen, "No http:// listener in listeners '%s'", listeners ? listeners : "");
    return -1;
}

int rest_body_parse(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t e;
    size_t i = 0;
    *out = NULL;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
        i++;
    if (i == len)
        return 0;
    *out = json_loadb(buf, len, JSON_DECODE_ANY, &e);
    if (*out)
        return 0;
    snprintf(err, errlen, "Malformed JSON in request body: %s (line %d, column %d)", e.text, e.line,
             e.column);
    return -1;
}

/* Length of name without a trailing "Connector" (Kafka's normalizedPluginName). */
static size_t rest_normalized_len(const char *name)
{
    size_t n = strlen(name), sl = strlen("Connector");
    return n >= sl && !strcmp(name + n - sl, "Connector") ? n - sl : n;
}

int rest_plugin_type_matches(const char *included, const char *p)
{
    const struct connector_plugin *a = registry_find_connector(included);
    if (a && a == registry_find_connector(p))
        return 1;
    size_t il = rest_normalized_len(included), pl = rest_normalized_len(p);
    return pl <= il && !strncmp(included + il - pl, p, pl);
}
