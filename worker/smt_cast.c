/* smt_cast.c — org.apache.kafka.connect.transforms.Cast$Key / $Value: casts fields (spec
 * `f:int32,g:string`) or the whole key/value (spec `int64`) to int8, int16, int32, int64,
 * float32, float64, boolean or string, with Java's conversions (truncating narrowing, base64
 * for bytes to string, ISO 8601 for dates to string). */
#include "conv_util.h"
#include "smt_util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ctype { C_NONE = 0, C_INT8, C_INT16, C_INT32, C_INT64, C_FLOAT32, C_FLOAT64, C_BOOLEAN, C_STRING };
static const char *const ctype_java[] = {"", "INT8", "INT16", "INT32", "INT64", "FLOAT32",
                                         "FLOAT64", "BOOLEAN", "STRING"};
static const char *const ctype_schema[] = {"", "int8", "int16", "int32", "int64", "float",
                                           "double", "boolean", "string"};

static int check_spec(const char *value, char *err, size_t errlen);

static const struct cfg_def cast_defs[] = {
    {"spec", CFG_LIST, NULL, 1, CFG_HIGH,
     "List of fields and the type to cast them to of the form field1:type,field2:type to cast "
     "fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, "
     "int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can "
     "only be cast to string.", NULL, 0, NULL, check_spec},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

/* Schema.Type.valueOf of a spec type; the output types Cast supports, else an error. */
static enum ctype parse_type(const char *t, char *err, size_t errlen)
{
    static const char *const all[] = {"BYTES", "ARRAY", "MAP", "STRUCT", NULL};
    for (int i = C_INT8; i <= C_STRING; i++)
        if (!strcasecmp(t, ctype_java[i]))
            return (enum ctype)i;
    for (int i = 0; all[i]; i++)
        if (!strcasecmp(t, all[i])) {
            snprintf(err, errlen, "Cast transformation does not support casting to %s; supported "
                     "types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
                     all[i]);
            return C_NONE;
        }
    snprintf(err, errlen, "Invalid type found in casting spec: %s", t);
    return C_NONE;
}

/* Parses spec into an object field -> type (int); the whole-value cast under key "". */
static json_t *parse_spec(const char *value, char *err, size_t errlen)
{
    json_t *conf = json_pack("{s:s}", "spec", value);
    json_t *items = smt_config_list(conf, cast_defs, "spec"), *out = json_object(), *it;
    json_decref(conf);
    size_t i, n = json_array_size(items);
    int whole = 0;
    if (!n)
        snprintf(err, errlen, "Must specify at least one field to cast.");
    json_array_foreach(items, i, it) {
        char *s = strdup(json_string_value(it)), *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) {
            snprintf(err, errlen, "Invalid rename mapping: %s", s);
            n = 0;
        } else {
            char *type = colon ? colon + 1 : s;
            if (colon) {
                *colon = '\0';
                while (colon > s && isspace((unsigned char)colon[-1]))
                    *--colon = '\0';
            }
            while (isspace((unsigned char)*type))
                type++;
            char *end = type + strlen(type);
            while (end > type && isspace((unsigned char)end[-1]))
                *--end = '\0';
            enum ctype ct = parse_type(type, err, errlen);
            if (ct == C_NONE)
                n = 0;
            whole |= !colon;
            json_object_set_new(out, colon ? s : "", json_integer(ct));
        }
        free(s);
        if (!n)
            break;
    }
    json_decref(items);
    if (n && whole && n > 1) {
        snprintf(err, errlen, "Cast transformations that specify a type to cast the entire value "
                 "to may only specify a single cast in their spec");
        n = 0;
    }
    if (!n) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static int check_spec(const char *value, char *err, size_t errlen)
{
    json_t *m = parse_spec(value, err, errlen);
    json_decref(m);
    return m ? 0 : -1;
}

struct cast {
    enum smt_side side;
    json_t *casts;      /* field -> ctype */
    enum ctype whole;   /* C_NONE when casting fields */
};

static void cast_destroy(void *state)
{
    struct cast *c = state;
    json_decref(c->casts);
    free(c);
}

static void *cast_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, cast_defs, err, errlen))
        return NULL;
    json_t *casts = parse_spec(cfg_get_str(conf, cast_defs, "spec"), err, errlen);
    if (!casts)
        return NULL;
    struct cast *c = calloc(1, sizeof(*c));
    c->side = side;
    c->casts = casts;
    c->whole = (enum ctype)json_integer_value(json_object_get(casts, ""));
    return c;
}

/* A float32 as the double Java's Float.toString would print (98.6f -> 98.6). */
static json_t *float_value(double d)
{
    float f = (float)d;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return json_real(strtod(buf, NULL));
    }
    return json_real((double)f);
}

/* Java's (int)/(long) of a double: truncation, NaN -> 0, saturating. */
static int64_t java_d2l(double d, int64_t lo, int64_t hi)
{
    if (isnan(d))
        return 0;
    if (d <= (double)lo)
        return lo;
    if (d >= (double)hi)
        return hi;
    return (int64_t)d;
}

/* The input as a number. *is_int: 1 = an integer in *l, 0 = a real in *d, 2 = a Decimal with
 * its integer part in *l and its value in *d. -1 when not numeric. */
static int input_number(const json_t *schema, const json_t *v, int *is_int, int64_t *l,
                        double *d)
{
    if (json_is_integer(v)) {
        *is_int = 1;
        *l = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *is_int = 0;
        *d = json_real_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *is_int = 1;
        *l = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && smt_is_logical(schema, DECIMAL_LOGICAL)) { /* BigDecimal */
        /* intValue()/longValue() keep the low bits of the integer part: 2147483648 -> int
         * -2147483648; the float targets read the whole number. */
        *is_int = 2;
        *l = (int64_t)strtoull(json_string_value(v) + (*json_string_value(v) == '-'), NULL, 10);
        if (*json_string_value(v) == '-')
            *l = (int64_t)(0 - (uint64_t)*l);
        *d = strtod(json_string_value(v), NULL);
        return 0;
    }
    return -1;
}

/* Integer.parseInt and friends: digits with an optional sign, in range. */
static int parse_java_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static json_t *cast_to_string(const json_t *schema, const json_t *v)
{
    char buf[64];
    int64_t ms = json_integer_value(v);
    int is_date = smt_is_logical(schema, DATE_LOGICAL);
    if (is_date || smt_is_logical(schema, TIME_LOGICAL) ||
        smt_is_logical(schema, TIMESTAMP_LOGICAL)) {
        if (is_date)
            ms *= 86400000LL;
        /* Values.dateFormatFor: a time of day, a date, or a full timestamp. */
        const char *fmt = ms < 86400000 ? "HH:mm:ss.SSS'Z'"
                          : ms % 86400000 == 0 ? "yyyy-MM-dd"
                                               : "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
        smt_datefmt_format(fmt, ms, buf, sizeof(buf));
        return json_string(buf);
    }
    if (json_is_string(v)) {
        if (!strcmp(smt_type(schema), "bytes") && !smt_is_logical(schema, DECIMAL_LOGICAL)) {
            char *b = b64_encode((const unsigned char *)json_string_value(v),
                                 json_string_length(v), NULL);
            json_t *out = json_string(b);
            free(b);
            return out;
        }
        return json_incref((json_t *)v);
    }
    size_t len;
    char *s = smt_value_text(schema, v, &len);
    if (json_is_real(v) && !strcmp(smt_type(schema), "float")) {
        free(s);
        json_t *fv = float_value(json_real_value(v));
        s = smt_value_text(NULL, fv, &len);
        json_decref(fv);
    }
    json_t *out = json_stringn(s, len);
    free(s);
    return out;
}

/* Cast.castValueToType. NULL with err on failure; v must not be null. */
static json_t *cast_value(const json_t *schema, const json_t *v, enum ctype to, char *err,
                          size_t errlen)
{
    const char *t = schema ? smt_type(schema) : NULL;
    if ((t && (!strcmp(t, "array") || !strcmp(t, "map") || !strcmp(t, "struct"))) ||
        (!t && (json_is_object(v) || json_is_array(v)))) {
        const char *from = t ? t : json_is_object(v) ? "map" : "array";
        snprintf(err, errlen, "Cast transformation does not support casting from %s; supported "
                 "types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]",
                 !strcmp(from, "map") ? "MAP" : !strcmp(from, "array") ? "ARRAY" : "STRUCT");
        return NULL;
    }
    if (to == C_STRING)
        return cast_to_string(schema, v);
    int is_int = 0;
    int64_t l = 0;
    double d = 0;
    if (json_is_string(v) && !smt_is_logical(schema, DECIMAL_LOGICAL)) {
        const char *s = json_string_value(v);
        if (t && !strcmp(t, "bytes")) {
            snprintf(err, errlen, "Unexpected type in Cast transformation: class [B");
            return NULL;
        }
        static const int64_t lim[][2] = {{0, 0}, {-128, 127}, {-32768, 32767},
                                         {INT32_MIN, INT32_MAX}, {INT64_MIN, INT64_MAX}};
        if (to == C_BOOLEAN)
            return json_boolean(!strcasecmp(s, "true"));
        if (to <= C_INT64) {
            if (parse_java_int(s, lim[to][0], lim[to][1], &l))
                goto range;
            return json_integer(l);
        }
        char *end;
        d = strtod(s, &end);
        while (isspace((unsigned char)*end))
            end++;
        if (end == s || *end)
            goto range;
        return to == C_FLOAT32 ? float_value(d) : json_real(d);
    }
    if (input_number(schema, v, &is_int, &l, &d)) {
        snprintf(err, errlen, "Unexpected type in Cast transformation: class %s",
                 smt_java_class(schema, v));
        return NULL;
    }
    switch (to) {
    case C_INT8:
        return json_integer((int8_t)(is_int ? l : java_d2l(d, INT32_MIN, INT32_MAX)));
    case C_INT16:
        return json_integer((int16_t)(is_int ? l : java_d2l(d, INT32_MIN, INT32_MAX)));
    case C_INT32:
        return json_integer((int32_t)(is_int ? l : java_d2l(d, INT32_MIN, INT32_MAX)));
    case C_INT64:
        return json_integer(is_int ? l : java_d2l(d, INT64_MIN, INT64_MAX));
    case C_FLOAT32:
        return float_value(is_int == 1 ? (double)l : d);
    case C_FLOAT64:
        return json_real(is_int == 1 ? (double)l : d);
    case C_BOOLEAN:
        return json_boolean((is_int ? l : java_d2l(d, INT64_MIN, INT64_MAX)) != 0);
    default:
        return NULL;
    }
range:
    snprintf(err, errlen, "Value (%s) was out of range for requested data type",
             json_string_value(v));
    return NULL;
}

/* The schema of a cast field/value: a fresh schema of the target type (basics copied from src
 * for a whole-value cast), optional and default carried over. */
static json_t *cast_schema(const json_t *src, enum ctype to, int copy_basics, char *err,
                           size_t errlen)
{
    json_t *s = copy_basics ? smt_schema_basics(src, ctype_schema[to], NULL)
                            : smt_schema_simple(ctype_schema[to], 0, NULL);
    smt_schema_set_optional(s, smt_optional(src));
    json_t *def = json_object_get(src, "default");
    if (def && !json_is_null(def)) {
        json_t *cd = cast_value(src, def, to, err, errlen);
        if (!cd) {
            json_decref(s);
            return NULL;
        }
        json_object_set_new(s, "default", cd);
    }
    return s;
}

static int cast_schemaless(struct cast *c, struct cd_data *d, char *err, size_t errlen)
{
    if (c->whole) {
        json_t *v = cast_value(NULL, d->value, c->whole, err, errlen);
        if (!v)
            return -1;
        smt_data_set(d, NULL, v);
        return 1;
    }
    if (smt_require_map(d->value, "cast types", err, errlen))
        return -1;
    json_t *out = smt_writable(d->value), *ct;
    const char *f;
    json_object_foreach(c->casts, f, ct) {
        void *at = json_object_iter_at(out, f);
        json_t *v = at ? json_object_iter_value(at) : NULL, *nv = json_null();
        if (v && !json_is_null(v) &&
            !(nv = cast_value(NULL, v, (enum ctype)json_integer_value(ct), err, errlen))) {
            json_decref(out);
            return -1;
        }
        smt_set_at(out, at, f, nv);
    }
    smt_data_set(d, NULL, out);
    return 1;
}

static int cast_with_schema(struct cast *c, struct cd_data *d, char *err, size_t errlen)
{
    if (c->whole) {
        json_t *s = cast_schema(d->schema, c->whole, 1, err, errlen);
        json_t *v = s ? cast_value(d->schema, d->value, c->whole, err, errlen) : NULL;
        if (!v) {
            json_decref(s);
            return -1;
        }
        smt_data_set(d, s, v);
        return 1;
    }
    if (smt_require_struct(d->schema, d->value, "cast types", err, errlen))
        return -1;
    json_t *fields = json_array(), *out = json_object(), *field;
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, field) {
        const char *name = json_string_value(json_object_get(field, "field"));
        json_t *ct = json_object_get(c->casts, name), *v = json_object_get(d->value, name);
        if (!ct) {
            json_array_append(fields, field);
            json_object_set(out, name, v ? v : json_null());
            continue;
        }
        enum ctype to = (enum ctype)json_integer_value(ct);
        json_t *fs = cast_schema(field, to, 0, err, errlen);
        json_t *nv = !fs ? NULL : v && !json_is_null(v) ? cast_value(field, v, to, err, errlen)
                                                        : json_null();
        if (!nv) {
            json_decref(fs);
            json_decref(fields);
            json_decref(out);
            return -1;
        }
        json_array_append_new(fields, smt_field_entry(fs, name));
        json_decref(fs);
        json_object_set_new(out, name, nv);
    }
    json_t *s = smt_schema_basics(d->schema, "struct", fields);
    smt_schema_set_optional(s, smt_optional(d->schema));
    smt_data_set(d, s, out);
    return 1;
}

static int cast_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct cast *c = state;
    struct cd_data *d = smt_operand(r, c->side);
    if (!d->value || json_is_null(d->value))
        return 1;
    return d->schema ? cast_with_schema(c, d, err, errlen) : cast_schemaless(c, d, err, errlen);
}

SMT_KEY_VALUE(smt_cast, "Cast", cast_defs, cast_create, cast_destroy, cast_apply);
