/* connector_config.h — the keys every connector has (Kafka's ConnectorConfig,
 * SinkConnectorConfig, SourceConnectorConfig), as config schema tables. */
#ifndef CD_CONNECTOR_CONFIG_H
#define CD_CONNECTOR_CONFIG_H

#include "config.h"
#include "plugin.h"

extern const struct cfg_def connector_common_defs[]; /* name, connector.class, tasks.max, ... */
extern const struct cfg_def connector_sink_defs[];   /* topics, topics.regex, errors.deadletterqueue.* */
extern const struct cfg_def connector_source_defs[]; /* topic.creation.groups, exactly.once.*, ... */

/* The common schema tables that apply to a plugin of this type, NULL-ended
 * (common first, then type-specific). */
const struct cfg_def *const *connector_base_schemas(enum plugin_type type);

#endif
