/* plugin.h — the whole contract between the runtime and a connector or converter.
 *
 * One descriptor struct per plugin, listed in registry.c. The runtime never names a
 * specific plugin; a plugin never touches the herder or the stores directly, only the
 * task_* functions below. */
#ifndef CD_PLUGIN_H
#define CD_PLUGIN_H

#include "config.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes returned by plugin callbacks (0 = success). A callback that fails sets
 * a readable message with task_set_error() first. */
enum cd_err {
    CD_OK = 0,
    CD_ERR_FATAL = -1,     /* the task goes FAILED with the message as its trace */
    CD_ERR_RETRIABLE = -2, /* the runtime retries the call with backoff */
    CD_ERR_CONFIG = -3,    /* bad configuration: FAILED, message names the key */
};

enum plugin_type { PLUGIN_SOURCE = 0, PLUGIN_SINK, PLUGIN_CONVERTER };

/* Connect data: a value plus an optional Connect schema.
 * - schema: Connect schema in JsonConverter envelope form, e.g. {"type":"int32","optional":false}
 *   or {"type":"struct","fields":[...],"name":"..."}; NULL = schemaless. Owned.
 * - value: jansson tree; NULL = null. Owned. Connect "bytes" values are jansson strings that
 *   hold the raw bytes (json_stringn_nocheck), recognisable by their schema type "bytes".
 *   int8..int64 are json integers, float/double json reals, struct/map json objects. */
struct cd_data {
    json_t *schema;
    json_t *value;
};

void cd_data_clear(struct cd_data *d); /* decrefs both and sets them to NULL */

/* One record on its way through the worker.
 * Sink side: topic/partition/offset/timestamp/raw_* describe the consumed Kafka message
 * (raw bytes borrowed from it, valid until put() returns); key/value are the converted data.
 * Source side: the connector fills topic, key, value (and optionally partition, timestamp,
 * headers, source_partition/source_offset, opaque); the runtime converts and produces. */
struct cd_record {
    char *topic;                /* the record's, or borrowed (cd_record_new_borrowing): replace
                                 * it with cd_record_set_topic, never free it */
    int32_t partition;          /* -1 = let the partitioner choose (murmur2_random) */
    int64_t offset;             /* sink: Kafka offset; source: -1 */
    int64_t timestamp;          /* ms since epoch, -1 = none */
    const void *raw_key;        /* sink: serialized key as consumed (borrowed) */
    size_t raw_key_len;
    const void *raw_value;      /* sink: serialized value as consumed (borrowed) */
    size_t raw_value_len;
    rd_kafka_headers_t *headers; /* owned, may be NULL */
    struct cd_data key;
    struct cd_data value;
    /* sink: 1 = value not converted yet (lazy_json_values): raw_value holds its JSON text;
     * -1 = its conversion failed and the error handler took the record (skip it); 0 = done */
    int value_pending;
    json_t *source_partition;   /* source: Connect source partition map, owned, may be NULL */
    json_t *source_offset;      /* source: Connect source offset map, owned, may be NULL */
    void *opaque;               /* source: the connector's cookie, handed back to commit_record */
    /* runtime-private */
    void *rt_msg;
    uint64_t rt_seq;
    void *rt_tracker;
    int topic_borrowed; /* topic is not the record's (cd_record_new_borrowing) */
};

struct cd_record *cd_record_new(const char *topic); /* calloc'd, partition -1, offset -1, ts -1 */
void cd_record_free(struct cd_record *r);            /* frees owned parts too; NULL ok */
/* A record whose topic points to the caller's string, which must outlive the record's
 * use: the sink's records borrow the consumed message's topic name, as they borrow its bytes,
 * so that every record of a topic shares one string (one the task thread has in its cache). */
struct cd_record *cd_record_new_borrowing(const char *topic);
/* Replaces r->topic with topic (malloc'd, now the record's; NULL ok). */
void cd_record_set_topic(struct cd_record *r, char *topic);

/* Runtime handle given to task callbacks. */
struct task_ctx;

const char *task_connector_name(const struct task_ctx *t);
int task_id(const struct task_ctx *t);
int64_t task_now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
/* Sets the message shown as the task's trace when a callback returns an error. */
void task_set_error(struct task_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Source tasks: the last committed offset map for a source partition; new ref or NULL. */
json_t *task_offset_get(struct task_ctx *t, json_t *source_partition);
/* 1 once the runtime asked the task to stop; long blocking calls should check it. */
int task_stopping(const struct task_ctx *t);
/* Sink tasks, from flush(): 1 when the flush is the last one for its partitions (they are
 * being revoked, or the task stops), so what is not written now is consumed again by their
 * next owner; 0 for the periodic commit, where a sink may keep writes in flight and report
 * only the offsets already durable. */
int task_flush_final(const struct task_ctx *t);
/* Sink tasks, from task_start: put() may get up to n records at a time (default 1000, at most
 * 20000; fewer when fewer are waiting or they pass 4 MB). A sink that writes a transaction or
 * a request per put asks for its batch.size here. */
void task_set_batch_max(struct task_ctx *t, size_t n);
/* Sink tasks, from put() before it returns CD_OK: the records of this put stay valid (and
 * uncommitted unless flush says otherwise) after put returns, for a sink that leaves their
 * write in flight and learns its outcome later. They are released when a later non-empty put
 * returns CD_OK (with or without keeping its own) unless it calls task_put_keep_more, when an
 * empty put returns CD_OK without calling this, or when flush returns; by then the sink must be
 * done with them. An empty put that calls it keeps the records held before. */
void task_put_keep(struct task_ctx *t);
/* Sink tasks, from a non-empty put() before it returns CD_OK: as task_put_keep, and the records
 * held before stay held too, for a sink whose one write spans several puts (a COPY statement
 * left open). They are all released as task_put_keep says: by a later non-empty put that
 * returns CD_OK without calling this, an empty put that keeps nothing, or flush. At most
 * CD_PUT_KEEP_MAX puts' records are held at once; the put that would hold more fails the task. */
#define CD_PUT_KEEP_MAX 16
void task_put_keep_more(struct task_ctx *t);
/* Sink tasks, from put(): one record the destination rejected (a row the database refuses, a
 * point InfluxDB rejects). Returns 0 when errors.tolerance=all takes it (it goes to the dead
 * letter queue when one is configured and its offset counts as done): skip it and go on.
 * Returns -1 when the task must fail (the error is set): return CD_ERR_FATAL from put. */
int task_record_failed(struct task_ctx *t, const struct cd_record *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sink tasks, from put(): converts r's pending value (see lazy_json_values). Returns 0 with
 * r->value set (also when nothing was pending), 1 when the conversion failed and
 * errors.tolerance=all took the record (skip it: its offset counts as done), -1 when the task
 * must fail (the error is set: return CD_ERR_FATAL from put). */
int task_record_value(struct task_ctx *t, struct cd_record *r);
/* Logs through the connector logger with the "[connector NAME task N]" prefix. */
void task_log(const struct task_ctx *t, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct connector_plugin {
    const char *class_name;     /* fully qualified, as Kafka Connect lists it */
    const char *const *aliases; /* NULL-ended extra names, may be NULL */
    enum plugin_type type;      /* PLUGIN_SOURCE or PLUGIN_SINK */
    const char *version;
    const struct cfg_def *config; /* the plugin's own keys (common keys are the runtime's) */

    /* Optional cross-key checks after the schema passed: add messages to errors
     * (object key -> array of strings). Returns the number of errors added. */
    int (*validate)(json_t *conf, json_t *errors);
    /* Optional: task configs for at most max_tasks tasks (new array of objects).
     * NULL callback = one task whose config is a copy of the connector config. */
    json_t *(*task_configs)(json_t *conf, int max_tasks);

    /* Task lifecycle: start gets the task config (borrowed, valid until stop) and returns
     * its state in *state. stop is called once, from the task thread, after start succeeded. */
    int (*task_start)(struct task_ctx *t, json_t *conf, void **state);
    void (*task_stop)(void *state, struct task_ctx *t);

    /* Source: fill up to max new records (cd_record_new) into recs; the runtime owns them.
     * Returns the count (0 = nothing within timeout_ms) or a negative cd_err. */
    int (*poll)(void *state, struct task_ctx *t, struct cd_record **recs, int max, int timeout_ms);
    /* Source, optional: Kafka acknowledged r (called in produce order per partition);
     * r->partition and r->offset hold where it was stored. Records dropped by a transform or
     * skipped under errors.tolerance=all are handed back too, with r->offset == -1. */
    void (*commit_record)(void *state, struct task_ctx *t, const struct cd_record *r);
    /* Source, optional: Kafka will not have r (err is librdkafka's code, e.g.
     * RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, or
     * RD_KAFKA_RESP_ERR__MSG_TIMED_OUT while Kafka is unreachable); r->offset is -1. Called in
     * the same order as commit_record. Return 0 when the connector took charge of the failure
     * (it told its client the record was not stored): the task goes on and r's source offset
     * counts as done. Return -1, or leave this NULL, and the task fails without handing r to
     * commit_record, whatever errors.tolerance says: a connector that acknowledges upstream in
     * commit_record (an MQTT PUBACK) never acknowledges a record Kafka does not have. */
    int (*record_failed)(void *state, struct task_ctx *t, const struct cd_record *r,
                         rd_kafka_resp_err_t err);
    /* Source, optional: the task's producer lost every broker connection (err is
     * RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN). Called on the task thread, between polls. Records
     * in flight are still retried until message.timeout.ms; a connector whose clients wait
     * (HTTP ingest) can refuse new work at once. Nothing says when Kafka is back: the next
     * commit_record does. */
    void (*kafka_unreachable)(void *state, struct task_ctx *t, rd_kafka_resp_err_t err);
    /* Source, optional: called on a librdkafka thread when delivery reports (or other producer
     * events) wait to be served, which the runtime does between polls. A connector whose poll
     * blocks while its clients wait for those reports (HTTP ingest) returns from poll early.
     * Must be thread-safe and quick; it may come before poll blocks, so remember it. */
    void (*wake)(void *state);
    /* Source, optional: NULL-ended key, value pairs (librdkafka names) for the task's producer,
     * e.g. a shorter message.timeout.ms for a connector whose clients wait for the answer.
     * The worker's producer.<key> and the connector's producer.override.<key> win over them. */
    const char *const *producer_defaults;

    /* Sink, optional: partitions assigned. The sink may set .offset of each element to the
     * offset it wants to start from (exactly-once sinks); RD_KAFKA_OFFSET_INVALID = committed. */
    int (*open)(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *parts);
    /* Sink, optional: partitions revoked (after a final flush). */
    int (*close)(void *state, struct task_ctx *t, const rd_kafka_topic_partition_list_t *parts);
    /* Sink: deliver a batch; records are borrowed until return. */
    int (*put)(void *state, struct task_ctx *t, struct cd_record **recs, size_t n);
    /* Sink, optional: make everything put so far durable. offsets holds, per partition, the
     * next offset after the last record put; lower an entry (or set it to
     * RD_KAFKA_OFFSET_INVALID) when less is durable. Only what is left is committed. */
    int (*flush)(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *offsets);
    /* Sink, optional: 1 = when the value converter is JsonConverter with schemas.enable=false
     * and no transform is configured, put() gets each record with a non-null value unconverted
     * (value_pending = 1). The sink reads raw_value itself where it can (cd_jscan in
     * json_parse.h) and calls task_record_value() for a record it wants as Connect data. A sink
     * that maps flat JSON objects straight to its output so skips a tree per record. */
    int lazy_json_values;
    /* Sink: 1 = put is also called with n == 0 when a poll brought nothing (Kafka Connect
     * calls put with empty batches too), so a sink that batches can send on time (linger). */
    int put_when_idle;
};

struct converter_plugin {
    const char *class_name;
    const char *const *aliases;
    const char *version;
    const struct cfg_def *config; /* keys after the "key.converter." / "value.converter." prefix */
    /* conf: the converter's own keys (prefix stripped), borrowed. Returns state or NULL with err. */
    void *(*create)(json_t *conf, int is_key, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Bytes -> Connect data (buf NULL = null). Fills out (caller clears). 0 or -1 with err. */
    int (*to_connect)(void *state, const char *topic, const void *buf, size_t len,
                      struct cd_data *out, char *err, size_t errlen);
    /* Optional: 1 when to_connect of this instance is cd_json_parse of the bytes into a
     * schemaless value and nothing else (JsonConverter with schemas.enable=false). */
    int (*plain_json)(void *state);
    /* Connect data -> bytes. *buf is malloc'd (caller frees), NULL for a null value. */
    int (*from_connect)(void *state, const char *topic, const struct cd_data *in, void **buf,
                        size_t *len, char *err, size_t errlen);
};

#endif
