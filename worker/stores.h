/* stores.h — the three stores of Kafka Connect (config, status, offsets) on top of clog.
 * Record formats are Kafka Connect's (reference/kafka-connect.md §3), so an existing
 * Kafka Connect config topic is readable. All functions are thread-safe. */
#ifndef CD_STORES_H
#define CD_STORES_H

#include <jansson.h>
#include <stddef.h>

/* ---- config store ---- */
struct cfgstore;

/* Called (from the store's reader thread) after a record about connector name was applied. */
typedef void (*cfgstore_notify_fn)(void *opaque, const char *name);

/* distributed: Kafka topic config.storage.topic; standalone: state_file (NULL = memory). */
struct cfgstore *cfgstore_open(json_t *wconf, int distributed, const char *state_file,
                               cfgstore_notify_fn notify, void *opaque, char *err, size_t errlen);
void cfgstore_close(struct cfgstore *cs);
int cfgstore_read_to_end(struct cfgstore *cs, char *err, size_t errlen);
const char *cfgstore_cluster_id(struct cfgstore *cs);

/* {"config":{..},"target":"STARTED|PAUSED|STOPPED","tasks":[{..},..]} (new ref), or NULL when
 * the connector does not exist. "tasks" holds the last committed task configs. */
json_t *cfgstore_get(struct cfgstore *cs, const char *name);
json_t *cfgstore_names(struct cfgstore *cs); /* sorted array of names, new ref */

/* Writes wait until the record is read back (read your own writes). 0 or -1 with err. */
int cfgstore_put_connector(struct cfgstore *cs, const char *name, json_t *config, char *err,
                           size_t errlen);
int cfgstore_put_target(struct cfgstore *cs, const char *name, const char *target, char *err,
                        size_t errlen);
int cfgstore_put_tasks(struct cfgstore *cs, const char *name, json_t *task_configs, char *err,
                       size_t errlen);
int cfgstore_delete(struct cfgstore *cs, const char *name, char *err, size_t errlen);

/* ---- status store ---- */
struct statstore;

struct statstore *statstore_open(json_t *wconf, int distributed, const char *worker_id,
                                 char *err, size_t errlen);
void statstore_close(struct statstore *ss);
int statstore_read_to_end(struct statstore *ss, char *err, size_t errlen);

/* state: RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED, RESTARTING; trace may be NULL.
 * Applies locally at once and writes to the topic asynchronously. */
void statstore_put_connector(struct statstore *ss, const char *name, const char *state,
                             const char *trace);
void statstore_put_task(struct statstore *ss, const char *name, int task, const char *state,
                        const char *trace);
/* Tombstones for the connector, its tasks [0, ntasks) and its topic records. */
void statstore_delete(struct statstore *ss, const char *name, int ntasks);
/* {"state","trace","worker_id","generation"} (new ref) or NULL. task < 0 = the connector. */
json_t *statstore_get(struct statstore *ss, const char *name, int task);
/* Topic tracking: status-topic-<topic>:connector-<name>. */
void statstore_put_topic(struct statstore *ss, const char *name, const char *topic, int task);
json_t *statstore_topics(struct statstore *ss, const char *name); /* sorted array, new ref */
void statstore_reset_topics(struct statstore *ss, const char *name);
int statstore_flush(struct statstore *ss);

/* ---- offset store (source connectors) ---- */
struct offstore;

/* distributed: Kafka topic offset.storage.topic; standalone: offset.storage.file.filename. */
struct offstore *offstore_open(json_t *wconf, int distributed, char *err, size_t errlen);
void offstore_close(struct offstore *os);
int offstore_read_to_end(struct offstore *os, char *err, size_t errlen);
/* Offset map for (connector, source partition), new ref or NULL. */
json_t *offstore_get(struct offstore *os, const char *name, json_t *partition);
/* entries: array of [partition, offset-or-null]; written and flushed (waits up to
 * timeout_ms). */
int offstore_put(struct offstore *os, const char *name, json_t *entries, int timeout_ms,
                 char *err, size_t errlen);
/* [{"partition":{..},"offset":{..}}, ...] for a connector, new ref. */
json_t *offstore_list(struct offstore *os, const char *name);

#endif
