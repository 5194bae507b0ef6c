/* clog.h — a compacted key/value log: a Kafka topic (distributed mode) or a local file /
 * memory (standalone). Every record, whether written here or by another worker, reaches
 * the owner through one apply callback, so config, status and offset stores have a single
 * code path for both modes.
 *
 * Kafka backend: an idempotent producer (acks=all) plus a reader thread that assigns every
 * partition from the beginning (no consumer group). clog_put(sync=1) waits until the reader
 * has applied the record (read your own writes).
 * File backend: the latest value per key, rewritten atomically (tmp + rename) on sync puts
 * and clog_flush; path NULL keeps it in memory only. Puts apply immediately. */
#ifndef CD_CLOG_H
#define CD_CLOG_H

#include <jansson.h>
#include <stddef.h>

struct clog;

/* value NULL = tombstone. Called from the reader thread (Kafka) or the putting thread (file),
 * never concurrently for one clog. key/value borrowed. */
typedef void (*clog_apply_fn)(void *opaque, const char *key, json_t *value);

/* partitions/replication are used when the topic must be created. must_partitions > 0 makes
 * a topic with a different partition count a fatal error (the config topic). */
struct clog *clog_kafka_new(json_t *worker_conf, const char *topic, int partitions,
                            int replication, int must_partitions, clog_apply_fn apply,
                            void *opaque, char *err, size_t errlen);
struct clog *clog_file_new(const char *path, clog_apply_fn apply, void *opaque, char *err,
                           size_t errlen);

/* Replays everything up to the current end (the file or the topic's high watermarks).
 * Returns 0 or -1 with err on timeout. */
int clog_read_to_end(struct clog *c, int timeout_ms, char *err, size_t errlen);

/* Writes key -> value (borrowed; NULL = tombstone). sync=1 waits until delivered and applied
 * (or written to disk), up to timeout_ms. Returns 0 or -1 with err. */
int clog_put(struct clog *c, const char *key, json_t *value, int sync, int timeout_ms, char *err,
             size_t errlen);

/* Waits until every earlier put is delivered (Kafka) or written (file). */
int clog_flush(struct clog *c, int timeout_ms, char *err, size_t errlen);

/* The Kafka cluster id (Kafka backend) or NULL. Borrowed. */
const char *clog_cluster_id(struct clog *c);

void clog_free(struct clog *c);

#endif
