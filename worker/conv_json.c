/* conv_json.c — org.apache.kafka.connect.json.JsonConverter.
 *
 * In memory (plugin.h), Connect values are jansson values; two need a convention:
 * bytes are jansson strings holding the raw bytes, and Decimal values are jansson strings
 * holding the plain decimal text ("-12.34"), so sinks get the exact number. */
#include "conv_util.h"
#include "json_parse.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const decimal_formats[] = {"BASE64", "NUMERIC", NULL};

static const struct cfg_def json_defs[] = {
    {"schemas.enable", CFG_BOOLEAN, "true", 0, CFG_HIGH,
     "Include schemas within each of the serialized values and keys.", NULL, 0, NULL, NULL},
    {"schemas.cache.size", CFG_INT, "1000", 0, CFG_HIGH,
     "Maximum number of schemas that can be cached in this converter instance.", NULL, 0, NULL,
     NULL},
    {"decimal.format", CFG_STRING, "BASE64", 0, CFG_LOW,
     "Serialization format for Connect Decimal values: BASE64 or NUMERIC.", NULL, 0,
     decimal_formats, NULL},
    {"replace.null.with.default", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "Whether to replace null fields with their schema default value when serializing.", NULL, 0,
     NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

struct jconv {
    int schemas;
    int numeric_decimals;
    int null_default;
};

static void *json_create(json_t *conf, int is_key, char *err, size_t errlen)
{
    struct jconv *c = calloc(1, sizeof(*c));
    c->schemas = cfg_get_bool(conf, json_defs, "schemas.enable", 1);
    c->numeric_decimals = !strcasecmp(cfg_get_str(conf, json_defs, "decimal.format"), "NUMERIC");
    c->null_default = cfg_get_bool(conf, json_defs, "replace.null.with.default", 1);
    return c;
}

static void json_destroy(void *state)
{
    free(state);
}

static const char *s_type(const json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t ? t : "";
}

static const char *s_name(const json_t *schema)
{
    return json_string_value(json_object_get(schema, "name"));
}

static int s_is(const json_t *schema, const char *logical)
{
    const char *n = s_name(schema);
    return n && !strcmp(n, logical);
}

static int decimal_scale(const json_t *schema)
{
    json_t *sc = json_object_get(json_object_get(schema, "parameters"), "scale");
    return json_is_string(sc) ? atoi(json_string_value(sc)) : (int)json_integer_value(sc);
}

/* ---------------- JSON -> Connect ---------------- */

static json_t *to_value(const json_t *schema, json_t *jv, const char *path, char *err, size_t n);

static json_t *to_struct(const json_t *schema, json_t *jv, const char *path, char *err, size_t n)
{
    if (!json_is_object(jv)) {
        snprintf(err, n, "Expected a JSON object for struct %s but found %s", path,
                 json_is_array(jv) ? "an array" : "a scalar");
        return NULL;
    }
    json_t *out = json_object(), *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        if (!name)
            continue;
        json_t *v = to_value(f, json_object_get(jv, name), name, err, n);
        if (!v) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, name, v);
    }
    return out;
}

static json_t *to_bytes(const json_t *schema, json_t *jv, const char *path, char *err, size_t n)
{
    if (s_is(schema, DECIMAL_LOGICAL) && json_is_number(jv)) { /* decimal.format=NUMERIC */
        char buf[64];
        if (json_is_integer(jv))
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(jv));
        else
            snprintf(buf, sizeof(buf), "%.*f", decimal_scale(schema), json_real_value(jv));
        return json_string(buf);
    }
    if (!json_is_string(jv)) {
        snprintf(err, n, "Invalid bytes field %s: expected a base64 string", path);
        return NULL;
    }
    size_t len;
    unsigned char *raw = b64_decode(json_string_value(jv), json_string_length(jv), &len);
    if (!raw) {
        snprintf(err, n, "Invalid bytes field %s: not valid base64", path);
        return NULL;
    }
    json_t *out;
    if (s_is(schema, DECIMAL_LOGICAL)) {
        char *txt = decimal_from_bytes(raw, len, decimal_scale(schema));
        out = json_string(txt);
        free(txt);
    } else {
        out = json_stringn_nocheck((const char *)raw, len);
    }
    free(raw);
    return out;
}

static json_t *to_map(const json_t *schema, json_t *jv, const char *path, char *err, size_t n)
{
    json_t *ks = json_object_get(schema, "keys"), *vs = json_object_get(schema, "values");
    if (!strcmp(s_type(ks), "string") && json_is_object(jv)) {
        json_t *out = json_object(), *v;
        const char *k;
        json_object_foreach(jv, k, v) {
            json_t *cv = to_value(vs, v, path, err, n);
            if (!cv) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, cv);
        }
        return out;
    }
    if (!json_is_array(jv)) { /* non-string keys: an array of [key, value] pairs */
        snprintf(err, n, "Maps with non-string fields should be encoded as JSON array of tuples, "
                 "but found %s for field %s", json_is_object(jv) ? "an object" : "a scalar", path);
        return NULL;
    }
    json_t *out = json_array(), *pair;
    size_t i;
    json_array_foreach(jv, i, pair) {
        json_t *k = json_is_array(pair) && json_array_size(pair) == 2
                        ? to_value(ks, json_array_get(pair, 0), path, err, n) : NULL;
        json_t *v = k ? to_value(vs, json_array_get(pair, 1), path, err, n) : NULL;
        if (!v) {
            if (k)
                json_decref(k);
            else if (!err[0])
                snprintf(err, n, "Found invalid map entry instead of array tuple in %s", path);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("[oo]", k, v));
    }
    return out;
}

static json_t *to_array(const json_t *schema, json_t *jv, const char *path, char *err, size_t n)
{
    if (!json_is_array(jv)) {
        snprintf(err, n, "Expected a JSON array for field %s", path);
        return NULL;
    }
    json_t *out = json_array(), *x;
    size_t i;
    json_array_foreach(jv, i, x) {
        json_t *cv = to_value(json_object_get(schema, "items"), x, path, err, n);
        if (!cv) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, cv);
    }
    return out;
}

static json_t *to_scalar(const char *t, json_t *jv, const char *path, char *err, size_t n)
{
    if (!strncmp(t, "int", 3)) {
        if (json_is_integer(jv))
            return json_incref(jv);
        if (json_is_real(jv) && json_real_value(jv) == (double)(json_int_t)json_real_value(jv))
            return json_integer((json_int_t)json_real_value(jv));
    } else if (!strcmp(t, "float") || !strcmp(t, "double")) {
        if (json_is_number(jv))
            return json_real(json_number_value(jv));
    } else if (!strcmp(t, "boolean")) {
        if (json_is_boolean(jv))
            return json_incref(jv);
    } else if (!strcmp(t, "string")) {
        if (json_is_string(jv))
            return json_incref(jv);
    } else {
        snprintf(err, n, "Unknown schema type: %s", t);
        return NULL;
    }
    snprintf(err, n, "Invalid value for %s field %s: found a JSON %s", t, path,
             json_is_string(jv) ? "string" : json_is_boolean(jv) ? "boolean"
             : json_is_number(jv) ? "number" : json_is_object(jv) ? "object" : "array");
    return NULL;
}

static json_t *to_value(const json_t *schema, json_t *jv, const char *path, char *err, size_t n)
{
    if (!schema || json_is_null(schema))
        return jv ? json_incref(jv) : json_null();
    if (!jv || json_is_null(jv)) {
        json_t *d = json_object_get(schema, "default");
        if (d && !json_is_null(d))
            return to_value(schema, d, path, err, n); /* defaults are in JSON form too */
        if (json_is_true(json_object_get(schema, "optional")))
            return json_null();
        snprintf(err, n, "Invalid null value for required %s field %s", s_type(schema), path);
        return NULL;
    }
    const char *t = s_type(schema);
    if (!strcmp(t, "struct"))
        return to_struct(schema, jv, path, err, n);
    if (!strcmp(t, "bytes"))
        return to_bytes(schema, jv, path, err, n);
    if (!strcmp(t, "map"))
        return to_map(schema, jv, path, err, n);
    if (!strcmp(t, "array"))
        return to_array(schema, jv, path, err, n);
    return to_scalar(t, jv, path, err, n);
}

static int is_envelope(json_t *j)
{
    return json_is_object(j) && json_object_size(j) == 2 && json_object_get(j, "schema") &&
           json_object_get(j, "payload");
}

static int json_to_connect(void *state, const char *topic, const void *buf, size_t len,
                           struct cd_data *out, char *err, size_t errlen)
{
    struct jconv *c = state;
    out->schema = out->value = NULL;
    if (!buf)
        return 0; /* null stays null (tombstones) */
    json_error_t je;
    json_t *j = cd_json_parse(buf, len, CD_JSON_ALLOW_NUL, &je);
    if (!j) {
        snprintf(err, errlen, "Converting byte[] to Kafka Connect data failed due to "
                 "serialization error: %s (line %d, column %d)", je.text, je.line, je.column);
        return -1;
    }
    if (!c->schemas) {
        out->value = json_is_null(j) ? NULL : j;
        if (json_is_null(j))
            json_decref(j);
        return 0;
    }
    if (!is_envelope(j)) {
        json_decref(j);
        snprintf(err, errlen, "JsonConverter with schemas.enable requires \"schema\" and "
                 "\"payload\" fields and may not contain additional fields. If you are trying to "
                 "deserialize plain JSON data, set schemas.enable=false in your converter "
                 "configuration.");
        return -1;
    }
    json_t *schema = json_object_get(j, "schema");
    err[0] = '\0';
    json_t *v = to_value(schema, json_object_get(j, "payload"), "value", err, errlen);
    if (!v) {
        json_decref(j);
        return -1;
    }
    out->schema = json_is_null(schema) ? NULL : json_incref(schema);
    out->value = json_is_null(v) ? NULL : v;
    if (json_is_null(v))
        json_decref(v);
    json_decref(j);
    return 0;
}

/* ---------------- Connect -> JSON ---------------- */

static json_t *from_value(struct jconv *c, const json_t *schema, json_t *v, const char *path,
                          char *err, size_t n);

static json_t *from_struct(struct jconv *c, const json_t *schema, json_t *v, char *err, size_t n)
{
    if (!json_is_object(v)) {
        snprintf(err, n, "Invalid type for STRUCT: value is not a struct");
        return NULL;
    }
    json_t *out = json_object(), *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        json_t *fv = name ? from_value(c, f, json_object_get(v, name), name, err, n) : NULL;
        if (!fv) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new_nocheck(out, name, fv); /* schema field names are valid */
    }
    return out;
}

static json_t *from_bytes(struct jconv *c, const json_t *schema, json_t *v, char *err, size_t n)
{
    if (!json_is_string(v)) {
        snprintf(err, n, "Invalid type for BYTES: expected bytes");
        return NULL;
    }
    if (s_is(schema, DECIMAL_LOGICAL)) {
        if (c->numeric_decimals)
            return json_real(strtod(json_string_value(v), NULL));
        unsigned char *raw;
        size_t len;
        if (decimal_to_bytes(json_string_value(v), decimal_scale(schema), &raw, &len)) {
            snprintf(err, n, "Invalid Decimal value '%s'", json_string_value(v));
            return NULL;
        }
        char *b = b64_encode(raw, len, NULL);
        free(raw);
        json_t *out = json_string(b);
        free(b);
        return out;
    }
    char *b = b64_encode((const unsigned char *)json_string_value(v), json_string_length(v), NULL);
    json_t *out = json_string(b);
    free(b);
    return out;
}

static json_t *from_container(struct jconv *c, const json_t *schema, json_t *v, const char *path,
                              char *err, size_t n)
{
    int is_map = !strcmp(s_type(schema), "map");
    if (is_map && json_is_object(v)) {
        json_t *out = json_object(), *x;
        const char *k;
        json_object_foreach(v, k, x) {
            json_t *cv = from_value(c, json_object_get(schema, "values"), x, path, err, n);
            if (!cv) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, cv);
        }
        return out;
    }
    if (!json_is_array(v)) {
        snprintf(err, n, "Invalid type for %s: field %s is not a list", is_map ? "MAP" : "ARRAY",
                 path);
        return NULL;
    }
    json_t *out = json_array(), *x;
    size_t i;
    json_array_foreach(v, i, x) {
        json_t *cv;
        if (is_map) /* [key, value] pairs */
            cv = json_pack("[oo]", from_value(c, json_object_get(schema, "keys"),
                                              json_array_get(x, 0), path, err, n),
                           from_value(c, json_object_get(schema, "values"), json_array_get(x, 1),
                                      path, err, n));
        else
            cv = from_value(c, json_object_get(schema, "items"), x, path, err, n);
        if (!cv) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, cv);
    }
    return out;
}

static json_t *from_value(struct jconv *c, const json_t *schema, json_t *v, const char *path,
                          char *err, size_t n)
{
    if (!schema || json_is_null(schema))
        return v ? json_incref(v) : json_null();
    if (!v || json_is_null(v)) {
        json_t *d = json_object_get(schema, "default");
        if (c->null_default && d && !json_is_null(d))
            return json_incref(d);
        if (json_is_true(json_object_get(schema, "optional")))
            return json_null();
        snprintf(err, n, "Conversion error: null value for field that is required and has no "
                 "default value (%s)", path);
        return NULL;
    }
    const char *t = s_type(schema);
    if (!strcmp(t, "struct"))
        return from_struct(c, schema, v, err, n);
    if (!strcmp(t, "bytes"))
        return from_bytes(c, schema, v, err, n);
    if (!strcmp(t, "map") || !strcmp(t, "array"))
        return from_container(c, schema, v, path, err, n);
    if (!strncmp(t, "int", 3) && json_is_number(v))
        return json_integer(json_is_integer(v) ? json_integer_value(v)
                                               : (json_int_t)json_real_value(v));
    if ((!strcmp(t, "float") || !strcmp(t, "double")) && json_is_number(v))
        return json_real(json_number_value(v));
    if ((!strcmp(t, "boolean") && json_is_boolean(v)) || (!strcmp(t, "string") && json_is_string(v)))
        return json_incref(v);
    snprintf(err, n, "Invalid type for %s: field %s has a value of another type", t, path);
    return NULL;
}

static int json_from_connect(void *state, const char *topic, const struct cd_data *in, void **buf,
                             size_t *len, char *err, size_t errlen)
{
    struct jconv *c = state;
    *buf = NULL;
    *len = 0;
    if (!in->schema && !in->value)
        return 0;
    err[0] = '\0';
    json_t *payload = from_value(c, in->schema, in->value, "value", err, errlen);
    if (!payload)
        return -1;
    json_t *out = payload;
    if (c->schemas) { /* built directly: json_pack per record costs as much as the rest */
        out = json_object();
        json_object_set_new_nocheck(out, "schema", in->schema ? json_incref(in->schema)
                                                              : json_null());
        json_object_set_new_nocheck(out, "payload", payload);
    }
    *buf = json_compact(out, len);
    json_decref(out);
    return 0;
}

static int json_plain(void *state)
{
    return !((struct jconv *)state)->schemas;
}

static const char *const json_aliases[] = {"JsonConverter", NULL};

const struct converter_plugin conv_json_plugin = {
    .class_name = "org.apache.kafka.connect.json.JsonConverter",
    .aliases = json_aliases,
    .version = CD_VERSION,
    .config = json_defs,
    .create = json_create,
    .destroy = json_destroy,
    .to_connect = json_to_connect,
    .plain_json = json_plain,
    .from_connect = json_from_connect,
};
