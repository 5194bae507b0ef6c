/* rest_internal.h — the pure parts of the REST layer (URL decoding, routing, listener
 * parsing), shared by rest.c and rest_routes.c and exposed for unit tests. */
#ifndef CD_REST_INTERNAL_H
#define CD_REST_INTERNAL_H

#include "herder.h"

#include <jansson.h>
#include <stddef.h>

#define REST_BODY_MAX (1024 * 1024) /* larger bodies get 413 */

/* Requests the REST layer answers itself; everything else goes to the herder. */
enum rest_kind {
    RK_HERDER = 0,
    RK_PLUGINS,         /* GET /connector-plugins */
    RK_PLUGIN_CONFIG,   /* GET /connector-plugins/{p}/config */
    RK_PLUGIN_VALIDATE, /* PUT /connector-plugins/{p}/config/validate */
    RK_LOGGERS,         /* GET /admin/loggers */
    RK_LOGGER_GET,      /* GET /admin/loggers/{l} */
    RK_LOGGER_PUT,      /* PUT /admin/loggers/{l} */
};

struct rest_route {
    const char *method;
    const char *pattern; /* "/"-separated segments; "{c}", "{p}", "{l}" = a name, "{t}" = a
                          * task number */
    enum rest_kind kind;
    enum herder_op op; /* for RK_HERDER */
};

/* Outcome of matching a request line against the route table. */
struct rest_match {
    const struct rest_route *route; /* borrowed from the static table */
    char *name;                     /* decoded {c}/{p}/{l}, owned; NULL when none */
    int task;                       /* {t}, -1 when none */
};

/* Decodes %XX escapes of len bytes of s ('+' stays '+', as in a path). Returns a malloc'd
 * NUL-terminated string (caller frees), or NULL for a malformed escape, an encoded NUL or
 * no memory. */
char *rest_url_decode(const char *s, size_t len);

/* Percent-encodes everything but RFC 3986 unreserved characters into out (NUL-terminated,
 * truncated to outlen). Returns the length the full encoding needs. */
size_t rest_url_encode(const char *s, char *out, size_t outlen);

/* Matches method and raw path (no query string, still percent-encoded; one trailing slash
 * tolerated) against the route table. Returns 0 with *m filled (clear it with
 * rest_match_clear), 404 for an unknown path (or a {t} that is not a number), 405 when the
 * path exists for other methods, 400 for a malformed escape in a path segment. */
int rest_route_find(const char *method, const char *path, struct rest_match *m);
void rest_match_clear(struct rest_match *m);

/* 1 when a query value means true ("true", case-insensitive), else 0. NULL = 0. */
int rest_query_true(const char *v);

/* Parses the first http:// listener of a comma-separated list ("http://:8083",
 * "http://127.0.0.1:0", "http://[::1]:8083", "https://..." entries skipped). host gets
 * the host ("" = all interfaces, IPv6 without brackets). Returns 0 or -1 with err set. */
int rest_listener_parse(const char *listeners, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen);

/* Parses a request body. Returns 0 with *out set (NULL for an empty body; caller decrefs),
 * or -1 with a "Malformed JSON ... line L column C" message in err. */
int rest_body_parse(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* 1 when the connector.class given in a validate body names the request's plugin p: the same
 * registered plugin, or Kafka's rule (with a trailing "Connector" stripped from both, the
 * included name ends with p's). */
int rest_plugin_type_matches(const char *included, const char *p);

#endif
