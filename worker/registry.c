/* registry.c — the one list of compiled-in plugins. Adding a connector = one line here. */
#include "registry.h"

#include <string.h>

extern const struct connector_plugin filestream_source_plugin;
extern const struct connector_plugin filestream_sink_plugin;
extern const struct connector_plugin jdbc_sink_plugin;
extern const struct connector_plugin vitals_source_plugin;
extern const struct connector_plugin influx_sink_plugin;
extern const struct connector_plugin mqtt_source_plugin;
extern const struct connector_plugin http_source_plugin;
extern const struct connector_plugin snowflake_sink_plugin;
extern const struct converter_plugin conv_json_plugin;
extern const struct converter_plugin conv_string_plugin;
extern const struct converter_plugin conv_bytearray_plugin;

const struct connector_plugin *const registry_connectors[] = {
    &filestream_sink_plugin,
    &filestream_source_plugin,
    &jdbc_sink_plugin,
    &vitals_source_plugin,
    &influx_sink_plugin,
    &mqtt_source_plugin,
    &http_source_plugin,
    &snowflake_sink_plugin,
    NULL,
};

const struct converter_plugin *const registry_converters[] = {
    &conv_json_plugin,
    &conv_string_plugin,
    &conv_bytearray_plugin,
    NULL,
};

static int simple_name_matches(const char *cls, const char *name)
{
    const char *dot = strrchr(cls, '.');
    const char *simple = dot ? dot + 1 : cls;
    if (!strcmp(simple, name))
        return 1;
    static const char *suffixes[] = {"Connector", "Converter", NULL};
    size_t sl = strlen(simple), nl = strlen(name);
    for (const char **s = suffixes; *s; s++) {
        size_t xl = strlen(*s);
        if (sl > xl && !strcmp(simple + sl - xl, *s) && nl == sl - xl && !strncmp(simple, name, nl))
            return 1;
    }
    return 0;
}

int registry_name_matches(const char *cls, const char *const *aliases, const char *name)
{
    if (!name || !*name)
        return 0;
    if (!strcmp(cls, name) || simple_name_matches(cls, name))
        return 1;
    for (; aliases && *aliases; aliases++)
        if (!strcmp(*aliases, name) || simple_name_matches(*aliases, name))
            return 1;
    return 0;
}

const struct connector_plugin *registry_find_connector(const char *name)
{
    for (int i = 0; registry_connectors[i]; i++)
        if (registry_name_matches(registry_connectors[i]->class_name,
                                  registry_connectors[i]->aliases, name))
            return registry_connectors[i];
    return NULL;
}

const struct converter_plugin *registry_find_converter(const char *name)
{
    for (int i = 0; registry_converters[i]; i++)
        if (registry_name_matches(registry_converters[i]->class_name,
                                  registry_converters[i]->aliases, name))
            return registry_converters[i];
    return NULL;
}
