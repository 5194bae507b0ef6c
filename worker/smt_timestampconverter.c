/* smt_timestampconverter.c — org.apache.kafka.connect.transforms.TimestampConverter$Key /
 * $Value: converts a field (`field`) or the whole key/value between Unix epoch numbers
 * (`unix.precision`), strings (`format`, a SimpleDateFormat pattern, UTC) and Connect's Date,
 * Time and Timestamp types.
 *
 * In memory Connect Date is an int32 day count, Time an int32 millisecond of day, Timestamp
 * an int64 millisecond count (JsonConverter's forms). Schemaless records have no Date type:
 * a Date/Time/Timestamp target gives the millisecond count, which reads back as unix time. */
#include "conv_util.h"
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const target_types[] = {"string", "unix", "Date", "Time", "Timestamp", NULL};
static const char *const precisions[] = {"nanoseconds", "microseconds", "milliseconds",
                                         "seconds", NULL};

static int check_format(const char *value, char *err, size_t errlen)
{
    return smt_datefmt_check(value, err, errlen);
}

static const struct cfg_def tc_defs[] = {
    {"field", CFG_STRING, "", 0, CFG_HIGH,
     "The field containing the timestamp, or empty if the entire value is a timestamp", NULL, 0,
     NULL, NULL},
    {"target.type", CFG_STRING, NULL, 1, CFG_HIGH,
     "The desired timestamp representation: string, unix, Date, Time, or Timestamp", NULL, 0,
     target_types, NULL},
    {"format", CFG_STRING, "", 0, CFG_MEDIUM,
     "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when "
     "type=string or used to parse the input if the input is a string.", NULL, 0, NULL,
     check_format},
    {"unix.precision", CFG_STRING, "milliseconds", 0, CFG_LOW,
     "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or "
     "nanoseconds. Used to generate the output when type=unix or used to parse the input if the "
     "input is a Long.", NULL, 0, precisions, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

enum tstype { T_STRING, T_UNIX, T_DATE, T_TIME, T_TIMESTAMP };

struct tc {
    enum smt_side side;
    char *field;  /* "" = the whole key/value */
    enum tstype target;
    char *format; /* NULL when not set */
    int64_t unit; /* unix.precision: -1000 = seconds (multiply), else divisor to ms */
};

static void tc_destroy(void *state)
{
    struct tc *t = state;
    free(t->field);
    free(t->format);
    free(t);
}

static void *tc_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, tc_defs, err, errlen))
        return NULL;
    const char *type = cfg_get_str(conf, tc_defs, "target.type");
    const char *fmt = cfg_get_str(conf, tc_defs, "format");
    const char *prec = cfg_get_str(conf, tc_defs, "unix.precision");
    int blank = !fmt || !fmt[strspn(fmt, " \t")];
    if (!strcmp(type, "string") && blank) {
        snprintf(err, errlen, "format: TimestampConverter requires format option to be specified "
                 "when using string timestamps");
        return NULL;
    }
    int target = -1;
    for (int i = 0; target_types[i]; i++)
        if (!strcmp(type, target_types[i]))
            target = i;
    if (target < 0) { /* Kafka's ValidString is case-sensitive */
        snprintf(err, errlen, "target.type: Invalid value %s for configuration target.type: "
                 "String must be one of: string, unix, Date, Time, Timestamp", type);
        return NULL;
    }
    struct tc *t = calloc(1, sizeof(*t));
    t->side = side;
    t->field = strdup(cfg_get_str(conf, tc_defs, "field"));
    t->target = (enum tstype)target;
    t->format = blank ? NULL : strdup(fmt);
    t->unit = !strcmp(prec, "seconds") ? -1000 : !strcmp(prec, "microseconds") ? 1000
              : !strcmp(prec, "nanoseconds") ? 1000000 : 1;
    return t;
}

/* The schema of a target type. */
static json_t *type_schema(enum tstype t, int optional)
{
    switch (t) {
    case T_STRING:
        return smt_schema_simple("string", optional, NULL);
    case T_UNIX:
        return smt_schema_simple("int64", optional, NULL);
    case T_DATE:
        return smt_schema_simple("int32", optional, DATE_LOGICAL);
    case T_TIME:
        return smt_schema_simple("int32", optional, TIME_LOGICAL);
    default:
        return smt_schema_simple("int64", optional, TIMESTAMP_LOGICAL);
    }
}

/* The source type of a value: from its schema, else inferred from the JSON value. */
static int source_type(const json_t *schema, const json_t *v, enum tstype *out, char *err,
                       size_t errlen)
{
    if (schema) {
        const char *t = smt_type(schema);
        if (smt_is_logical(schema, TIMESTAMP_LOGICAL))
            *out = T_TIMESTAMP;
        else if (smt_is_logical(schema, DATE_LOGICAL))
            *out = T_DATE;
        else if (smt_is_logical(schema, TIME_LOGICAL))
            *out = T_TIME;
        else if (!strcmp(t, "string"))
            *out = T_STRING;
        else if (!strcmp(t, "int64"))
            *out = T_UNIX;
        else {
            snprintf(err, errlen, "Schema Schema{%s} does not correspond to a known timestamp "
                     "type format", t);
            return -1;
        }
        return 0;
    }
    if (json_is_integer(v))
        *out = T_UNIX;
    else if (json_is_string(v))
        *out = T_STRING;
    else {
        snprintf(err, errlen, "TimestampConverter does not support class %s objects as "
                 "timestamps", smt_java_class(NULL, v));
        return -1;
    }
    return 0;
}

/* To milliseconds since the epoch (Java's Date). */
static int to_raw(const struct tc *t, enum tstype from, const json_t *v, int64_t *ms, char *err,
                  size_t errlen)
{
    switch (from) {
    case T_STRING:
        if (!json_is_string(v)) {
            snprintf(err, errlen, "Expected string timestamp to be a String, but found class %s",
                     smt_java_class(NULL, v));
            return -1;
        }
        if (!t->format || smt_datefmt_parse(t->format, json_string_value(v), ms)) {
            snprintf(err, errlen, "Could not parse timestamp: value (%s) does not match pattern "
                     "(%s)", json_string_value(v), t->format ? t->format : "");
            return -1;
        }
        return 0;
    case T_UNIX:
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "Expected Unix timestamp to be a Long, but found class %s",
                     smt_java_class(NULL, v));
            return -1;
        }
        *ms = t->unit < 0 ? json_integer_value(v) * -t->unit : json_integer_value(v) / t->unit;
        return 0;
    default:
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "Expected %s to be a java.util.Date, but found class %s",
                     from == T_DATE ? "Date" : from == T_TIME ? "Time" : "Timestamp",
                     smt_java_class(NULL, v));
            return -1;
        }
        *ms = json_integer_value(v) * (from == T_DATE ? 86400000LL : 1);
        return 0;
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* From milliseconds to the target representation; schemaless dates stay milliseconds. */
static json_t *to_type(const struct tc *t, int64_t ms, int schemaless)
{
    char buf[256];
    int64_t day = floor_div(ms, 86400000);
    switch (t->target) {
    case T_STRING:
        smt_datefmt_format(t->format, ms, buf, sizeof(buf));
        return json_string(buf);
    case T_UNIX:
        return json_integer(t->unit < 0 ? ms / -t->unit : ms * t->unit);
    case T_DATE:
        return json_integer(schemaless ? day * 86400000 : day);
    case T_TIME:
        return json_integer(ms - day * 86400000);
    default:
        return json_integer(ms);
    }
}

/* convertTimestamp: null stays null. New reference or NULL with err. */
static json_t *convert(const struct tc *t, const json_t *schema, const json_t *v, char *err,
                       size_t errlen)
{
    enum tstype from;
    int64_t ms;
    if (!v || json_is_null(v))
        return json_null();
    if (source_type(schema, v, &from, err, errlen) || to_raw(t, from, v, &ms, err, errlen))
        return NULL;
    return to_type(t, ms, schema == NULL);
}

static int tc_schemaless(struct tc *t, struct cd_data *d, char *err, size_t errlen)
{
    json_t *nv;
    if (!d->value || !*t->field) {
        if (!(nv = convert(t, NULL, d->value, err, errlen)))
            return -1;
        smt_data_set(d, NULL, json_is_null(nv) ? NULL : nv);
        if (json_is_null(nv))
            json_decref(nv);
        return 1;
    }
    if (smt_require_map(d->value, "converting timestamp formats", err, errlen))
        return -1;
    if (!(nv = convert(t, NULL, json_object_get(d->value, t->field), err, errlen)))
        return -1;
    json_t *out = smt_writable(d->value);
    json_object_set_new(out, t->field, nv);
    smt_data_set(d, NULL, out);
    return 1;
}

static int tc_with_schema(struct tc *t, struct cd_data *d, char *err, size_t errlen)
{
    json_t *nv;
    if (!*t->field) {
        if (!(nv = convert(t, d->schema, d->value, err, errlen)))
            return -1;
        smt_data_set(d, type_schema(t->target, smt_optional(d->schema)),
                     json_is_null(nv) ? NULL : nv);
        if (json_is_null(nv))
            json_decref(nv);
        return 1;
    }
    if (d->value && smt_require_struct(d->schema, d->value, "converting timestamp formats", err,
                                       errlen))
        return -1;
    json_t *fields = json_array(), *out = d->value ? json_copy(d->value) : NULL, *field;
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, field) {
        const char *name = json_string_value(json_object_get(field, "field"));
        if (strcmp(name, t->field)) {
            json_array_append(fields, field);
            continue;
        }
        json_t *fs = type_schema(t->target, smt_optional(field));
        json_array_append_new(fields, smt_field_entry(fs, name));
        json_decref(fs);
        if (out && !(nv = convert(t, field, json_object_get(d->value, name), err, errlen))) {
            json_decref(fields);
            json_decref(out);
            return -1;
        }
        if (out)
            json_object_set_new(out, name, nv);
    }
    json_t *s = smt_schema_basics(d->schema, "struct", fields);
    smt_schema_set_optional(s, smt_optional(d->schema));
    smt_data_set(d, s, out);
    return 1;
}

static int tc_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct tc *t = state;
    struct cd_data *d = smt_operand(r, t->side);
    return d->schema ? tc_with_schema(t, d, err, errlen) : tc_schemaless(t, d, err, errlen);
}

SMT_KEY_VALUE(smt_timestampconverter, "TimestampConverter", tc_defs, tc_create, tc_destroy,
              tc_apply);
