/* rest.c — the Kafka Connect REST API on libmicrohttpd (see rest.h). Routing and the pure
 * helpers are in rest_routes.c; connector requests go to the herder, plugin listings,
 * config validation and logger levels are answered here. */
#include "rest.h"
#include "json_alloc.h"

#include "herder.h"
#include "log.h"
#include "registry.h"
#include "rest_internal.h"
#include "transform.h"
#include "validate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define REST_THREADS 4        /* MHD thread pool; each blocks while the herder works */
#define REST_IDLE_TIMEOUT 120 /* seconds before an idle connection is closed */
#define REST_ERRBUF 512

struct rest_server {
    struct MHD_Daemon *daemon;
    struct herder *herder;
    int port;
};

/* Per-request state, from the first call of the access handler to rest_completed. */
struct rest_conn {
    char *body; /* accumulated request body, NUL-terminated when non-NULL */
    size_t len, cap;
    int too_big; /* the body passed REST_BODY_MAX: the rest is discarded, the reply is 413 */
};

/* One reply: status, optional JSON body (owned) and Location header. */
struct rest_reply {
    int status;
    json_t *body;
    char location[512];
};

static void rest_fail(struct rest_reply *r, int status, const char *msg)
{
    json_decref(r->body);
    r->status = status;
    r->body = herder_error(status, "%s", msg);
}

/* Query value of key, percent-decoded (MHD is told not to decode). Caller frees; NULL when
 * absent or malformed. */
static char *rest_query(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v ? rest_url_decode(v, strlen(v)) : NULL;
}

static int rest_query_flag(struct MHD_Connection *c, const char *key, int dflt)
{
    char *v = rest_query(c, key);
    int r = v ? rest_query_true(v) : dflt;
    free(v);
    return r;
}

/* Collects repeated ?expand=status&expand=info values (unknown values ignored). */
static enum MHD_Result rest_expand_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    struct herder_req *req = cls;
    char *v = value && !strcmp(key, "expand") ? rest_url_decode(value, strlen(value)) : NULL;
    if (v && !strcmp(v, "status"))
        req->expand_status = 1;
    if (v && !strcmp(v, "info"))
        req->expand_info = 1;
    free(v);
    return MHD_YES;
}

/* Connector requests: herder_call() with the path parameters and query flags. */
static void rest_handle_herder(struct rest_server *s, struct MHD_Connection *c,
                               const struct rest_match *m, json_t *body, struct rest_reply *r)
{
    struct herder_req req = {
        .op = m->route->op, .connector = m->name, .task = m->task, .body = body};
    if (req.op == HOP_RESTART) {
        req.include_tasks = rest_query_flag(c, "includeTasks", 0);
        req.only_failed = rest_query_flag(c, "onlyFailed", 0);
    }
    if (req.op == HOP_LIST)
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, rest_expand_iter, &req);
    r->status = herder_call(s->herder, &req, &r->body);
    if (r->status == 201 && (req.op == HOP_CREATE || req.op == HOP_CONFIG_PUT)) {
        const char *name = json_string_value(json_object_get(r->body, "name"));
        name = name ? name : m->name;
        if (name) {
            size_t n = (size_t)snprintf(r->location, sizeof(r->location), "/connectors/");
            rest_url_encode(name, r->location + n, sizeof(r->location) - n);
        }
    }
}

static json_t *rest_plugin_entry(const char *cls, const char *type, const char *version)
{
    return json_pack("{s:s s:s s:s*}", "class", cls, "type", type, "version", version);
}

/* GET /connector-plugins[?connectorsOnly=false] */
static void rest_handle_plugins(struct MHD_Connection *c, struct rest_reply *r)
{
    char *only = rest_query(c, "connectorsOnly");
    int connectors_only = !only || strcasecmp(only, "false");
    json_t *out = json_array();
    for (int i = 0; registry_connectors[i]; i++) {
        const struct connector_plugin *p = registry_connectors[i];
        json_array_append_new(out, rest_plugin_entry(p->class_name,
                                                     p->type == PLUGIN_SINK ? "sink" : "source",
                                                     p->version));
    }
    for (int i = 0; !connectors_only && registry_converters[i]; i++)
        json_array_append_new(out, rest_plugin_entry(registry_converters[i]->class_name,
                                                     "converter", registry_converters[i]->version));
    for (int i = 0; !connectors_only && transform_plugins[i]; i++)
        json_array_append_new(out, rest_plugin_entry(transform_plugins[i]->class_name,
                                                     "transformation", CD_VERSION));
    for (int i = 0; !connectors_only && predicate_plugins[i]; i++)
        json_array_append_new(out, rest_plugin_entry(predicate_plugins[i]->class_name,
                                                     "predicate", CD_VERSION));
    free(only);
    r->status = 200;
    r->body = out;
}

/* GET /connector-plugins/{p}/config */
static void rest_handle_plugin_config(const struct rest_match *m, struct rest_reply *r)
{
    const struct connector_plugin *p = registry_find_connector(m->name);
    const struct transform_plugin *tp = p ? NULL : transform_find(m->name);
    const struct predicate_plugin *pp = p || tp ? NULL : predicate_find(m->name);
    if (tp || pp) { /* a transformation's or predicate's own keys (KIP-769) */
        const struct cfg_def *d = tp ? tp->config : pp->config;
        r->status = 200;
        r->body = json_array();
        for (int i = 0; d[i].name; i++)
            json_array_append_new(r->body, cfg_def_to_json(&d[i], i + 1));
        return;
    }
    if (!p) {
        r->status = 404;
        r->body = herder_error(404, "Unknown plugin %s.", m->name);
        return;
    }
    r->status = 200;
    r->body = connector_plugin_config(p);
}

/* PUT /connector-plugins/{p}/config/validate: 200 with ConfigInfos, even with errors. */
static void rest_handle_validate(const struct rest_match *m, json_t *body, struct rest_reply *r)
{
    char err[REST_ERRBUF];
    json_t *conf = NULL;
    if (!json_is_object(body)) {
        rest_fail(r, 400, "Request body must be a JSON object of connector configs");
        goto out;
    }
    conf = cfg_stringify(body, err, sizeof(err));
    if (!conf) {
        rest_fail(r, 400, err);
        goto out;
    }
    const char *included = json_string_value(json_object_get(conf, "connector.class"));
    if (included && !rest_plugin_type_matches(included, m->name)) {
        r->status = 400;
        r->body = herder_error(400, "Included connector type %s does not match request type %s",
                               included, m->name);
        goto out;
    }
    if (!included)
        json_object_set_new(conf, "connector.class", json_string(m->name));
    r->body = connector_validate(conf, NULL);
    r->status = r->body ? 200 : 500;
    if (!r->body)
        rest_fail(r, 500, "Config validation failed: out of memory");
out:
    json_decref(conf);
}

static json_t *rest_logger_json(int sub)
{
    int64_t mod = log_last_modified(sub);
    return json_pack("{s:s s:o}", "level", log_level_name(log_get_level(sub)), "last_modified",
                     mod ? json_integer(mod) : json_null());
}

/* GET /admin/loggers: every logger with its effective level. */
static void rest_handle_loggers(struct rest_reply *r)
{
    json_t *out = json_object();
    for (int i = 0; i < LOGS__COUNT; i++)
        json_object_set_new(out, log_sub_name(i), rest_logger_json(i));
    r->status = 200;
    r->body = out;
}

/* GET /admin/loggers/{l} */
static void rest_handle_logger_get(const struct rest_match *m, struct rest_reply *r)
{
    int sub = log_sub_find(m->name);
    if (sub < 0) {
        r->status = 404;
        r->body = herder_error(404, "Logger %s not found.", m->name);
        return;
    }
    r->status = 200;
    r->body = rest_logger_json(sub);
}

static int rest_strcmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Sets level on namespace ns and its descendants (root = every logger), as Kafka's
 * Loggers.setLevel. Returns the sorted array of affected names. */
static json_t *rest_set_level(const char *ns, int level)
{
    json_t *names[LOGS__COUNT], *out = json_array();
    size_t n = 0, nl = strlen(ns);
    int root = !strcmp(ns, log_sub_name(LOGS_ROOT));
    for (int i = 0; i < LOGS__COUNT; i++) {
        const char *name = log_sub_name(i);
        if (!root && strcmp(name, ns) && !(!strncmp(name, ns, nl) && name[nl] == '.'))
            continue;
        log_set_level(i, level);
        names[n++] = json_string(name);
    }
    qsort(names, n, sizeof(names[0]), rest_strcmp);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, names[i]);
    return out;
}

/* PUT /admin/loggers/{l}[?scope=worker|cluster] body {"level":"DEBUG"} */
static void rest_handle_logger_put(struct MHD_Connection *c, const struct rest_match *m,
                                   json_t *body, struct rest_reply *r)
{
    const char *lvl = json_string_value(json_object_get(body, "level"));
    if (!lvl) {
        rest_fail(r, 400, "Desired 'level' parameter was not specified in request.");
        return;
    }
    int level = log_level_parse(lvl);
    if (level < 0) {
        r->status = 404;
        r->body = herder_error(404, "invalid log level '%s'.", lvl);
        return;
    }
    char *scope = rest_query(c, "scope");
    json_t *affected = rest_set_level(m->name, level);
    log_info(LOGS_REST, "Set level of logger %s to %s", m->name, log_level_name(level));
    if (scope && !strcasecmp(scope, "cluster")) {
        json_decref(affected);
        r->status = 204;
    } else {
        r->status = 200;
        r->body = affected;
    }
    free(scope);
}

static void rest_handle(struct rest_server *s, struct MHD_Connection *c, const struct rest_match *m,
                        json_t *body, struct rest_reply *r)
{
    switch (m->route->kind) {
    case RK_HERDER:
        rest_handle_herder(s, c, m, body, r);
        break;
    case RK_PLUGINS:
        rest_handle_plugins(c, r);
        break;
    case RK_PLUGIN_CONFIG:
        rest_handle_plugin_config(m, r);
        break;
    case RK_PLUGIN_VALIDATE:
        rest_handle_validate(m, body, r);
        break;
    case RK_LOGGERS:
        rest_handle_loggers(r);
        break;
    case RK_LOGGER_GET:
        rest_handle_logger_get(m, r);
        break;
    case RK_LOGGER_PUT:
        rest_handle_logger_put(c, m, body, r);
        break;
    }
}

/* Queues r on c: JSON body unless 204 or none (restart answers 202 with a body), Location when set. */
static enum MHD_Result rest_send(struct MHD_Connection *c, const struct rest_reply *r)
{
    char *txt = NULL;
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;
    if (r->body && r->status != 204)
        txt = cd_json_dumps(r->body, JSON_COMPACT);
    if (txt)
        resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(txt);
        goto out;
    }
    if (txt)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    ret = MHD_queue_response(c, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
out:
    return ret;
}

/* Routes and answers one complete request. */
static enum MHD_Result rest_dispatch(struct rest_server *s, struct MHD_Connection *c,
                                     const char *url, const char *method, struct rest_conn *rc)
{
    struct rest_reply r = {0};
    struct rest_match m = {0};
    json_t *body = NULL;
    char err[REST_ERRBUF];
    /* HEAD is answered as GET; libmicrohttpd drops the body. */
    int st = rest_route_find(strcmp(method, "HEAD") ? method : "GET", url, &m);
    if (rc->too_big)
        rest_fail(&r, 413, "Request body is larger than the 1048576 bytes allowed");
    else if (st == 404)
        rest_fail(&r, 404, "HTTP 404 Not Found");
    else if (st == 405)
        rest_fail(&r, 405, "HTTP 405 Method Not Allowed");
    else if (st)
        rest_fail(&r, 400, "Malformed percent-encoding in the request path");
    else if (rest_body_parse(rc->body, rc->len, &body, err, sizeof(err)))
        rest_fail(&r, 400, err);
    else
        rest_handle(s, c, &m, body, &r);
    log_debug(LOGS_REST, "%s %s -> %d", method, url, r.status);
    enum MHD_Result ret = rest_send(c, &r);
    json_decref(body);
    json_decref(r.body);
    rest_match_clear(&m);
    return ret;
}

/* Appends upload data to rc, or marks it too big (and drops what it had). */
static void rest_accumulate(struct rest_conn *rc, const char *data, size_t n)
{
    if (rc->too_big)
        return;
    if (rc->len + n > REST_BODY_MAX) {
        rc->too_big = 1;
        goto drop;
    }
    if (rc->len + n + 1 > rc->cap) {
        size_t cap = rc->cap ? rc->cap : 4096;
        while (cap < rc->len + n + 1)
            cap *= 2;
        char *nb = realloc(rc->body, cap);
        if (!nb) {
            rc->too_big = 1;
            goto drop;
        }
        rc->body = nb;
        rc->cap = cap;
    }
    memcpy(rc->body + rc->len, data, n);
    rc->len += n;
    rc->body[rc->len] = '\0';
    return;
drop:
    free(rc->body);
    rc->body = NULL;
    rc->len = rc->cap = 0;
}

/* 1 when the request announces a body over REST_BODY_MAX. */
static int rest_announced_too_big(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl && strtoull(cl, NULL, 10) > REST_BODY_MAX;
}

static enum MHD_Result rest_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct rest_conn *rc = *con_cls;
    if (!rc) {
        rc = calloc(1, sizeof(*rc));
        if (!rc)
            return MHD_NO;
        *con_cls = rc;
        if (!rest_announced_too_big(c))
            return MHD_YES;
        rc->too_big = 1;
        return rest_dispatch(cls, c, url, method, rc);
    }
    if (*upload_data_size) {
        rest_accumulate(rc, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return rest_dispatch(cls, c, url, method, rc);
}

static void rest_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct rest_conn *rc = *con_cls;
    if (rc)
        free(rc->body);
    free(rc);
    *con_cls = NULL;
}

/* Leaves the path and query undecoded: path segments are decoded one by one after routing
 * (so "%2F" in a connector name does not split the path). */
static size_t rest_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

/* Fills ss for host ("" = all IPv4 interfaces) and port. Returns 0, or -1 with err. */
static int rest_sockaddr(const char *host, int port, struct sockaddr_storage *ss, int *v6,
                         char *err, size_t errlen)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    memset(ss, 0, sizeof(*ss));
    *v6 = 0;
    if (!*host || !strcmp(host, "0.0.0.0")) {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (getaddrinfo(host, NULL, &hints, &ai) || !ai) {
        snprintf(err, errlen, "Cannot resolve REST listener host '%s'", host);
        return -1;
    } else {
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *v6 = ai->ai_family == AF_INET6;
        freeaddrinfo(ai);
    }
    if (*v6)
        in6->sin6_port = htons((uint16_t)port);
    else
        in4->sin_port = htons((uint16_t)port);
    return 0;
}

struct rest_server *rest_start(const char *listeners, struct herder *h, char *err, size_t errlen)
{
    char host[256];
    int port, v6;
    struct sockaddr_storage ss;
    struct rest_server *s = NULL;
    if (rest_listener_parse(listeners, host, sizeof(host), &port, err, errlen) ||
        rest_sockaddr(host, port, &ss, &v6, err, errlen))
        goto fail;
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "Out of memory");
        goto fail;
    }
    s->herder = h;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | (v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, rest_access, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)REST_THREADS, MHD_OPTION_NOTIFY_COMPLETED,
        rest_completed, NULL, MHD_OPTION_UNESCAPE_CALLBACK, rest_unescape, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)REST_IDLE_TIMEOUT, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "Cannot listen on %s:%d for the REST API: %s",
                 *host ? host : "0.0.0.0", port, strerror(errno));
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    log_info(LOGS_REST, "REST server listening on %s:%d", *host ? host : "0.0.0.0", s->port);
    return s;
fail:
    free(s);
    return NULL;
}

int rest_port(const struct rest_server *s)
{
    return s ? s->port : -1;
}

void rest_stop(struct rest_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
