/* kafka.h — librdkafka client configs built from the worker config, topic helpers, and the
 * embedded mock cluster (bootstrap.servers=embedded and `connectd dev-kafka`). */
#ifndef CD_KAFKA_H
#define CD_KAFKA_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Builds a client config. role is "producer", "consumer" or "admin".
 * Applies, in order: bootstrap.servers and the worker's top-level client keys
 * (security.protocol, ssl.*, sasl.*, client.id, ...), then the worker's "<role>." keys
 * (prefix stripped), then overrides (an object of already-stripped keys, e.g. a connector's
 * producer.override.* without the prefix; may be NULL). Java-client keys librdkafka does not
 * know are translated where an equivalent exists, else skipped with a warning naming the key.
 * Producers get partitioner=murmur2_random. Returns NULL with err set when a value is refused
 * by librdkafka (message names the key). */
rd_kafka_conf_t *kafka_conf_new(json_t *worker_conf, const char *role, json_t *overrides,
                                char *err, size_t errlen);

/* Sets one key with the Java-name translation of kafka_conf_new. Returns 0 when set or
 * skipped (with a warning), -1 with err when librdkafka refuses the value. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                   size_t errlen);

/* Number of partitions of topic (metadata request), 0 when it does not exist, -1 on error. */
int kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);

/* Makes sure topic exists: creates it through the Admin API with partitions, replication
 * factor (-1 = broker default) and configs (object of strings, e.g. cleanup.policy=compact,
 * may be NULL) when missing. When the cluster does not serve CreateTopics (the embedded mock),
 * falls back to auto-creation by metadata. Returns the topic's partition count, or -1 with err. */
int kafka_topic_ensure(rd_kafka_t *rk, const char *topic, int partitions, int replication,
                       json_t *configs, char *err, size_t errlen);

/* Cluster id from metadata, malloc'd, or NULL. */
char *kafka_cluster_id(rd_kafka_t *rk, int timeout_ms);

/* The embedded Kafka: librdkafka's mock cluster, in memory only. */
struct kafka_mock;

struct kafka_mock *kafka_mock_start(int brokers, char *err, size_t errlen);
const char *kafka_mock_bootstraps(const struct kafka_mock *m); /* "127.0.0.1:port,..." */
int kafka_mock_topic_create(struct kafka_mock *m, const char *topic, int partitions);
/* Creates the worker's internal topics with their default names and partitions
 * (connect-configs 1, connect-offsets 25, connect-status 5) or the names/partition counts
 * given in worker_conf (may be NULL). */
int kafka_mock_create_internal_topics(struct kafka_mock *m, json_t *worker_conf);
/* Runs one fault-injection command line ("broker-down 1", "broker-up 1", "rtt 1 500",
 * "topic NAME PARTITIONS", "error API_KEY ERR_CODE [COUNT]", "clear-errors", "help").
 * Writes a one-line reply to out. Returns 0 or -1 for an unknown/bad command. */
int kafka_mock_command(struct kafka_mock *m, const char *line, char *out, size_t outlen);
void kafka_mock_stop(struct kafka_mock *m);

/* `connectd dev-kafka [--brokers N] [--topic NAME:PARTITIONS ...] [--exit-on-eof]`. */
int devkafka_main(int argc, char **argv);

#endif
