/* converter.h — a configured converter instance for a connector's key, value or headers. */
#ifndef CD_CONVERTER_H
#define CD_CONVERTER_H

#include "plugin.h"

struct converter {
    const struct converter_plugin *plugin;
    void *state;
};

/* which: "key.converter" or "value.converter". The class comes from the connector config when
 * it sets `which`, else from the worker config. Its own keys are the "<which>." prefixed keys
 * of the same config the class came from (prefix stripped), e.g. value.converter.schemas.enable.
 * Returns NULL with err naming the key when the class is missing or unknown, or when the
 * converter refuses its config. */
struct converter *converter_new(json_t *conn_conf, json_t *worker_conf, const char *which,
                                char *err, size_t errlen);
void converter_free(struct converter *c);

static inline int converter_to_connect(struct converter *c, const char *topic, const void *buf,
                                       size_t len, struct cd_data *out, char *err, size_t errlen)
{
    return c->plugin->to_connect(c->state, topic, buf, len, out, err, errlen);
}

static inline int converter_from_connect(struct converter *c, const char *topic,
                                         const struct cd_data *in, void **buf, size_t *len,
                                         char *err, size_t errlen)
{
    return c->plugin->from_connect(c->state, topic, in, buf, len, err, errlen);
}

/* Renders Connect data as text the way Java's toString would for FileStreamSink and logs:
 * strings as-is, bytes raw, numbers/booleans plainly, structs as Struct{a=1,b=x},
 * maps as {a=1}, arrays as [1, 2], null as "null". Returns malloc'd text, *len set. */
char *cd_data_to_text(const struct cd_data *d, size_t *len);

#endif
