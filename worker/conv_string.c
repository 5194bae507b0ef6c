/* conv_string.c — StringConverter and ByteArrayConverter. */
#include "converter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cfg_def string_defs[] = {
    {"converter.encoding", CFG_STRING, "UTF-8", 0, CFG_HIGH,
     "The name of the Java character set to use for encoding strings (connectd: UTF-8 only).",
     NULL, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct cfg_def no_defs[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static void *string_create(json_t *conf, int is_key, char *err, size_t errlen)
{
    const char *enc = cfg_get_str(conf, string_defs, "converter.encoding");
    if (strcasecmp(enc, "UTF-8") && strcasecmp(enc, "UTF8")) {
        snprintf(err, errlen, "Invalid value %s for configuration converter.encoding: only UTF-8 "
                 "is supported", enc);
        return NULL;
    }
    return (void *)string_defs; /* stateless; any non-NULL pointer */
}

static void nothing(void *state)
{
}

/* Bytes in, a value of the given Connect type holding them. */
static int raw_to_connect(const char *type, const void *buf, size_t len, struct cd_data *out)
{
    out->schema = json_object(); /* built directly: json_pack costs more than the rest */
    json_object_set_new_nocheck(out->schema, "type", json_string_nocheck(type));
    json_object_set_new_nocheck(out->schema, "optional", json_true());
    out->value = buf ? json_stringn_nocheck(buf, len) : NULL;
    return 0;
}

static int string_to_connect(void *state, const char *topic, const void *buf, size_t len,
                             struct cd_data *out, char *err, size_t errlen)
{
    return raw_to_connect("string", buf, len, out);
}

static void *copy_bytes(const char *s, size_t n)
{
    char *b = malloc(n + 1);
    memcpy(b, s, n);
    b[n] = '\0';
    return b;
}

static int string_from_connect(void *state, const char *topic, const struct cd_data *in,
                               void **buf, size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    if (!in->value || json_is_null(in->value))
        return 0;
    if (json_is_string(in->value)) {
        *len = json_string_length(in->value);
        *buf = copy_bytes(json_string_value(in->value), *len);
        return 0;
    }
    *buf = cd_data_to_text(in, len); /* Java's toString, as StringConverter does */
    return 0;
}

static void *bytes_create(json_t *conf, int is_key, char *err, size_t errlen)
{
    return (void *)no_defs;
}

static int bytes_to_connect(void *state, const char *topic, const void *buf, size_t len,
                            struct cd_data *out, char *err, size_t errlen)
{
    return raw_to_connect("bytes", buf, len, out);
}

static int bytes_from_connect(void *state, const char *topic, const struct cd_data *in,
                              void **buf, size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    if (!in->value || json_is_null(in->value))
        return 0;
    const char *t = json_string_value(json_object_get(in->schema, "type"));
    if (!json_is_string(in->value) || (t && strcmp(t, "bytes") && strcmp(t, "string"))) {
        snprintf(err, errlen, "ByteArrayConverter is not compatible with objects of type %s",
                 t ? t : json_is_object(in->value) ? "map" : json_is_array(in->value) ? "list"
                                                                                       : "scalar");
        return -1;
    }
    *len = json_string_length(in->value);
    *buf = copy_bytes(json_string_value(in->value), *len);
    return 0;
}

static const char *const string_aliases[] = {"StringConverter", NULL};
static const char *const bytes_aliases[] = {"ByteArrayConverter", NULL};

const struct converter_plugin conv_string_plugin = {
    .class_name = "org.apache.kafka.connect.storage.StringConverter",
    .aliases = string_aliases,
    .version = CD_VERSION,
    .config = string_defs,
    .create = string_create,
    .destroy = nothing,
    .to_connect = string_to_connect,
    .from_connect = string_from_connect,
};

const struct converter_plugin conv_bytearray_plugin = {
    .class_name = "org.apache.kafka.connect.converters.ByteArrayConverter",
    .aliases = bytes_aliases,
    .version = CD_VERSION,
    .config = no_defs,
    .create = bytes_create,
    .destroy = nothing,
    .to_connect = bytes_to_connect,
    .from_connect = bytes_from_connect,
};
