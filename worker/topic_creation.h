/* topic_creation.h — topic.creation.* (KIP-158) for source connectors. */
#ifndef CD_TOPIC_CREATION_H
#define CD_TOPIC_CREATION_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

struct topic_creation;

/* NULL when topic creation is off for this connector (the worker's topic.creation.enable is
 * false, or the connector lacks topic.creation.default.replication.factor/partitions), or
 * when a group's regex is invalid (then err is set). */
struct topic_creation *topic_creation_new(json_t *conn_conf, json_t *worker_conf, char *err,
                                          size_t errlen);
/* Makes sure topic exists, creating it with its group's settings; checks each topic once.
 * tc may be NULL (no-op). -1 with err on failure. */
int topic_creation_ensure(struct topic_creation *tc, rd_kafka_t *rk, const char *topic,
                          char *err, size_t errlen);
void topic_creation_free(struct topic_creation *tc);

#endif
