/* http.h — the pure parts of the HTTP ingest source (body parsing, routing), shared with
 * its unit tests. */
#ifndef CD_HTTP_H
#define CD_HTTP_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

enum http_kind {
    HK_JSON = 0,      /* application/json: an object is one record, an array one each */
    HK_NDJSON,        /* application/x-ndjson: one JSON value per line */
    HK_PROXY_JSON,    /* application/vnd.kafka.json.v2+json: {"records":[{key,value}]} */
    HK_PROXY_BINARY,  /* application/vnd.kafka.binary.v2+json: key/value in base64 */
    HK_V3,            /* REST Proxy v3 record: {"key":{"type","data"},"value":{...}} */
};

/* The body kind for a Content-Type header (parameters and case ignored) at a plain path
 * (proxy = 0) or a REST Proxy endpoint (proxy = 1); -1 when it is not accepted there. */
int http_content_kind(const char *ctype, int proxy);

/* One record to produce. key/value: owned JSON (NULL = null); *_bytes: the JSON string holds
 * raw bytes (Connect bytes). partition: -1 = let the partitioner pick. */
struct http_item {
    json_t *key, *value;
    int key_bytes, value_bytes;
    int partition;
};

/* Parses a request body into items. split_field (may be NULL/empty): an object with an array
 * there gives one record per element, the other top-level fields copied in. key_field (may
 * be NULL/empty): the key is the value's field of that name. Returns the count and sets
 * *items (caller frees with http_items_free), or -1 with a message (line/column for
 * malformed JSON) in err. */
int http_parse_body(int kind, const char *body, size_t len, const char *split_field,
                    const char *key_field, struct http_item **items, char *err, size_t errlen);
void http_items_free(struct http_item *items, int n);

/* Looks a request path up in an http.paths spec ("/cow=cow,/sensor_data=sensors").
 * Returns a malloc'd topic or NULL. */
char *http_route_topic(const char *paths_spec, const char *path);

/* The topic of a REST Proxy path: /topics/{t} (v2) or /v3/clusters/{c}/topics/{t}/records
 * (v3, *v3 = 1). Returns a malloc'd topic or NULL when path is neither. */
char *http_proxy_topic(const char *path, int *v3);

/* REST Proxy's error_code for a record Kafka did not take: 50003 when retrying later may
 * succeed (Kafka unreachable, a timeout, a leader moving: the Java client's
 * RetriableException), 40101 / 40301 when Kafka refused our credentials / the topic's ACLs,
 * 50002 otherwise (too large, unknown partition). */
int http_kafka_error_code(rd_kafka_resp_err_t err);

/* Checks an http.paths spec; 0 or -1 with a message. */
int http_paths_check(const char *spec, char *err, size_t errlen);

#endif
