/* connector_config.c — see connector_config.h. Names, defaults and docs follow Kafka 3.9. */
#include "connector_config.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const tolerance_values[] = {"none", "all", NULL};
static const char *const eos_values[] = {"requested", "required", NULL};
static const char *const boundary_values[] = {"poll", "interval", "connector", NULL};

static int positive_int(const char *v, char *err, size_t errlen)
{
    if (atoll(v) < 1) {
        snprintf(err, errlen, "Invalid value %s for configuration tasks.max: Value must be at least 1", v);
        return -1;
    }
    return 0;
}

#define COMMON_GROUP "Common"
#define ERR_GROUP "Error Handling"

const struct cfg_def connector_common_defs[] = {
    {"name", CFG_STRING, NULL, 1, CFG_HIGH, "Globally unique name to use for this connector.",
     COMMON_GROUP, 0, NULL, NULL},
    {"connector.class", CFG_STRING, NULL, 1, CFG_HIGH,
     "Name or alias of the class for this connector.", COMMON_GROUP, 0, NULL, NULL},
    {"tasks.max", CFG_INT, "1", 0, CFG_HIGH, "Maximum number of tasks to use for this connector.",
     COMMON_GROUP, 0, NULL, positive_int},
    {"tasks.max.enforce", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "(Deprecated) Whether to enforce that the tasks.max property is respected.", COMMON_GROUP, 0,
     NULL, NULL},
    {"key.converter", CFG_CLASS, NULL, 0, CFG_LOW,
     "Converter class used to convert between Kafka Connect format and the serialized form that "
     "is written to Kafka. Overrides the worker's.",
     COMMON_GROUP, 0, NULL, NULL},
    {"value.converter", CFG_CLASS, NULL, 0, CFG_LOW,
     "Converter class for record values. Overrides the worker's.", COMMON_GROUP, 0, NULL, NULL},
    {"header.converter", CFG_CLASS, NULL, 0, CFG_LOW,
     "HeaderConverter class for record headers. Overrides the worker's.", COMMON_GROUP, 0, NULL,
     NULL},
    {"config.action.reload", CFG_STRING, "restart", 0, CFG_LOW,
     "The action to take when external configuration providers change: none or restart.",
     COMMON_GROUP, 0, (const char *const[]){"none", "restart", NULL}, NULL},
    {"transforms", CFG_LIST, "", 0, CFG_LOW, "Aliases for the transformations to be applied to records.",
     "Transforms", 0, NULL, NULL},
    {"predicates", CFG_LIST, "", 0, CFG_LOW, "Aliases for the predicates used by transformations.",
     "Predicates", 0, NULL, NULL},
    {"errors.retry.timeout", CFG_LONG, "0", 0, CFG_MEDIUM,
     "The maximum duration in milliseconds that a failed operation will be reattempted. 0 = no "
     "retries, -1 = infinite.",
     ERR_GROUP, 0, NULL, NULL},
    {"errors.retry.delay.max.ms", CFG_LONG, "60000", 0, CFG_MEDIUM,
     "The maximum duration in milliseconds between consecutive retry attempts.", ERR_GROUP, 0,
     NULL, NULL},
    {"errors.tolerance", CFG_STRING, "none", 0, CFG_MEDIUM,
     "Behavior for tolerating errors during connector operation: none or all.", ERR_GROUP, 0,
     tolerance_values, NULL},
    {"errors.log.enable", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "If true, write each error and the details of the failed operation to the log.", ERR_GROUP,
     0, NULL, NULL},
    {"errors.log.include.messages", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Whether to include in the log the record that caused a failure.", ERR_GROUP, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

const struct cfg_def connector_sink_defs[] = {
    {"topics", CFG_LIST, "", 0, CFG_HIGH, "List of topics to consume, separated by commas.",
     COMMON_GROUP, 0, NULL, NULL},
    {"topics.regex", CFG_STRING, "", 0, CFG_HIGH, "Regular expression giving topics to consume.",
     COMMON_GROUP, 0, NULL, NULL},
    {"errors.deadletterqueue.topic.name", CFG_STRING, "", 0, CFG_MEDIUM,
     "The name of the topic to be used as the dead letter queue (DLQ).", ERR_GROUP, 0, NULL,
     NULL},
    {"errors.deadletterqueue.topic.replication.factor", CFG_INT, "3", 0, CFG_MEDIUM,
     "Replication factor used to create the dead letter queue topic when it doesn't already "
     "exist.",
     ERR_GROUP, 0, NULL, NULL},
    {"errors.deadletterqueue.context.headers.enable", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "If true, add headers containing error context to the messages written to the dead letter "
     "queue.",
     ERR_GROUP, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

const struct cfg_def connector_source_defs[] = {
    {"topic.creation.groups", CFG_LIST, "", 0, CFG_LOW,
     "Groups of configurations for topics created by source connectors.", "Topic Creation", 0,
     NULL, NULL},
    {"exactly.once.support", CFG_STRING, "requested", 0, CFG_MEDIUM,
     "Permitted values are requested, required.", "Exactly Once Support", 0, eos_values, NULL},
    {"transaction.boundary", CFG_STRING, "poll", 0, CFG_MEDIUM,
     "Permitted values are poll, interval, connector.", "Exactly Once Support", 0,
     boundary_values, NULL},
    {"transaction.boundary.interval.ms", CFG_LONG, NULL, 0, CFG_LOW,
     "If 'transaction.boundary' is set to 'interval', how often to commit transactions.",
     "Exactly Once Support", 0, NULL, NULL},
    {"offsets.storage.topic", CFG_STRING, NULL, 0, CFG_LOW,
     "The name of a separate offsets topic to use for this connector.", "offsets.topic", 0, NULL,
     NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct cfg_def *const sink_schemas[] = {connector_common_defs, connector_sink_defs,
                                                     NULL};
static const struct cfg_def *const source_schemas[] = {connector_common_defs,
                                                       connector_source_defs, NULL};

const struct cfg_def *const *connector_base_schemas(enum plugin_type type)
{
    return type == PLUGIN_SINK ? sink_schemas : source_schemas;
}
