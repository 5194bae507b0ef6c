/* registry.h — the compiled-in plugins, and name resolution as Kafka Connect does it:
 * full class name, simple class name, or simple name without a "Connector"/"Converter"
 * suffix (case-sensitive, as in Kafka). */
#ifndef CD_REGISTRY_H
#define CD_REGISTRY_H

#include "plugin.h"

extern const struct connector_plugin *const registry_connectors[]; /* NULL-ended */
extern const struct converter_plugin *const registry_converters[]; /* NULL-ended */

const struct connector_plugin *registry_find_connector(const char *name);
const struct converter_plugin *registry_find_converter(const char *name);

/* 1 when name refers to plugin class cls by any of the accepted forms. */
int registry_name_matches(const char *cls, const char *const *aliases, const char *name);

#endif
