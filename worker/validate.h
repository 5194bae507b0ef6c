/* validate.h — connector config validation (config/validate, create, update) and plugin
 * config listings, driven by the plugins' schema tables plus the common connector keys. */
#ifndef CD_VALIDATE_H
#define CD_VALIDATE_H

#include "plugin.h"

#include <jansson.h>

/* ConfigInfos JSON ({"name","error_count","groups","configs":[{"definition","value"}]}) for
 * conf (object of strings). The plugin comes from conf's connector.class; when it is missing
 * or unknown, the error is reported against connector.class and only the common keys are
 * listed. Also checks key/value/header.converter class names and that every alias in
 * `transforms`/`predicates` has a `.type`. *error_count gets the total. Caller owns result. */
json_t *connector_validate(json_t *conf, int *error_count);

/* Kafka's create/update message: "Connector configuration is invalid and contains the
 * following N error(s):\n<msg>\n...\nYou can also find the above list of errors at the
 * endpoint `/connector-plugins/{connectorType}/config/validate`", or NULL when valid.
 * malloc'd. */
char *connector_validate_message(json_t *conf);

/* Array of ConfigKeyInfo: the plugin's keys then the common keys for its type.
 * Caller owns. */
json_t *connector_plugin_config(const struct connector_plugin *p);

#endif
