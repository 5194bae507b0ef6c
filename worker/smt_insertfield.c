/* smt_insertfield.c — org.apache.kafka.connect.transforms.InsertField$Key / $Value: adds the
 * record's topic, partition, offset (sink records only), timestamp and/or a static string as
 * fields. A field name ending in `!` makes the field required in the schema, `?` (the
 * default) optional. A null key or value passes through. */
#include "conv_util.h"
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

#define OPT_DOC " Suffix with ! to make this a required field, or ? to keep it optional (the default)."

static const struct cfg_def if_defs[] = {
    {"topic.field", CFG_STRING, NULL, 0, CFG_MEDIUM, "Field name for Kafka topic." OPT_DOC, NULL,
     0, NULL, NULL},
    {"partition.field", CFG_STRING, NULL, 0, CFG_MEDIUM, "Field name for Kafka partition." OPT_DOC,
     NULL, 0, NULL, NULL},
    {"offset.field", CFG_STRING, NULL, 0, CFG_MEDIUM,
     "Field name for Kafka offset - only applicable to sink connectors." OPT_DOC, NULL, 0, NULL,
     NULL},
    {"timestamp.field", CFG_STRING, NULL, 0, CFG_MEDIUM, "Field name for record timestamp." OPT_DOC,
     NULL, 0, NULL, NULL},
    {"static.field", CFG_STRING, NULL, 0, CFG_MEDIUM, "Field name for static data field." OPT_DOC,
     NULL, 0, NULL, NULL},
    {"static.value", CFG_STRING, NULL, 0, CFG_MEDIUM, "Static field value, if field name configured.",
     NULL, 0, NULL, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

enum { F_TOPIC, F_PARTITION, F_OFFSET, F_TIMESTAMP, F_STATIC, F_COUNT };
static const char *const spec_keys[F_COUNT] = {"topic.field", "partition.field", "offset.field",
                                               "timestamp.field", "static.field"};

struct spec {
    char *name; /* NULL = not inserted */
    int optional;
};

struct ins {
    enum smt_side side;
    struct spec f[F_COUNT];
    char *static_value;
    json_t *static_json; /* shared by every record: values are never changed in place */
};

static void ins_destroy(void *state)
{
    struct ins *s = state;
    for (int i = 0; i < F_COUNT; i++)
        free(s->f[i].name);
    free(s->static_value);
    json_decref(s->static_json);
    free(s);
}

/* InsertionSpec.parse: a trailing ? or ! sets optionality and is cut off. */
static void parse_spec(struct spec *sp, const char *text)
{
    if (!text || !*text)
        return;
    size_t n = strlen(text);
    sp->optional = text[n - 1] != '!';
    if (text[n - 1] == '!' || text[n - 1] == '?')
        n--;
    sp->name = strndup(text, n);
}

static void *ins_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, if_defs, err, errlen))
        return NULL;
    struct ins *s = calloc(1, sizeof(*s));
    s->side = side;
    int any = 0;
    for (int i = 0; i < F_COUNT; i++) {
        parse_spec(&s->f[i], cfg_get_str(conf, if_defs, spec_keys[i]));
        any |= s->f[i].name != NULL;
    }
    const char *sv = cfg_get_str(conf, if_defs, "static.value");
    s->static_value = sv ? strdup(sv) : NULL;
    s->static_json = sv ? json_string(sv) : NULL;
    if (!any) {
        snprintf(err, errlen, "topic.field: No field insertion configured");
    } else if (s->f[F_STATIC].name && !s->static_value) {
        snprintf(err, errlen, "static.value: Invalid value null for configuration static.value: "
                 "No value specified for static field: %s", s->f[F_STATIC].name);
    } else {
        return s;
    }
    ins_destroy(s);
    return NULL;
}

/* The values to insert, in Kafka's order; NULL where Kafka inserts nothing. */
static int ins_values(struct ins *s, const struct cd_record *r, json_t *vals[F_COUNT], char *err,
                      size_t errlen)
{
    memset(vals, 0, sizeof(json_t *) * F_COUNT);
    if (s->f[F_OFFSET].name && r->offset < 0) {
        snprintf(err, errlen, "Only SinkRecord supported for [field insertion], found: "
                 "org.apache.kafka.connect.source.SourceRecord");
        return -1;
    }
    if (s->f[F_TOPIC].name)
        vals[F_TOPIC] = r->topic ? json_string(r->topic) : json_null();
    if (s->f[F_PARTITION].name && r->partition >= 0)
        vals[F_PARTITION] = json_integer(r->partition);
    if (s->f[F_OFFSET].name)
        vals[F_OFFSET] = json_integer(r->offset);
    if (s->f[F_TIMESTAMP].name && r->timestamp >= 0)
        vals[F_TIMESTAMP] = json_integer(r->timestamp);
    if (s->f[F_STATIC].name)
        vals[F_STATIC] = json_incref(s->static_json);
    return 0;
}

static json_t *ins_schema(struct ins *s, const json_t *schema)
{
    static const char *const types[F_COUNT] = {"string", "int32", "int64", "int64", "string"};
    json_t *fields = json_copy(json_object_get(schema, "fields"));
    for (int i = 0; i < F_COUNT; i++) {
        if (!s->f[i].name)
            continue;
        json_t *fs = smt_schema_simple(types[i], s->f[i].optional,
                                       i == F_TIMESTAMP ? TIMESTAMP_LOGICAL : NULL);
        json_array_append_new(fields, smt_field_entry(fs, s->f[i].name));
        json_decref(fs);
    }
    return smt_schema_basics(schema, "struct", fields);
}

static int ins_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct ins *s = state;
    struct cd_data *d = smt_operand(r, s->side);
    json_t *vals[F_COUNT];
    if (!d->value || json_is_null(d->value))
        return 1;
    if (d->schema ? smt_require_struct(d->schema, d->value, "field insertion", err, errlen)
                  : smt_require_map(d->value, "field insertion", err, errlen))
        return -1;
    if (ins_values(s, r, vals, err, errlen))
        return -1;
    for (int i = 0; i < F_COUNT; i++)
        if (s->f[i].name && d->schema && smt_field(d->schema, s->f[i].name)) {
            snprintf(err, errlen, "Cannot create field because of field name duplication %s",
                     s->f[i].name);
            for (int j = 0; j < F_COUNT; j++)
                json_decref(vals[j]);
            return -1;
        }
    json_t *value = smt_writable(d->value);
    for (int i = 0; i < F_COUNT; i++)
        if (vals[i])
            json_object_set_new(value, s->f[i].name, vals[i]);
    smt_data_set(d, d->schema ? ins_schema(s, d->schema) : NULL, value);
    return 1;
}

SMT_KEY_VALUE(smt_insertfield, "InsertField", if_defs, ins_create, ins_destroy, ins_apply);
