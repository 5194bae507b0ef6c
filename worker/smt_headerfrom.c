/* smt_headerfrom.c — org.apache.kafka.connect.transforms.HeaderFrom$Key / $Value: copies or
 * moves the `fields` of the key or value into the `headers` of the same position, written as
 * SimpleHeaderConverter writes them. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const operations[] = {"move", "copy", NULL};

static const struct cfg_def hf_defs[] = {
    {"fields", CFG_LIST, NULL, 1, CFG_HIGH,
     "Field names in the record whose values are to be copied or moved to headers.", NULL, 0,
     NULL, NULL},
    {"headers", CFG_LIST, NULL, 1, CFG_HIGH,
     "Header names, in the same order as the field names listed in the fields configuration "
     "property.", NULL, 0, NULL, NULL},
    {"operation", CFG_STRING, NULL, 1, CFG_HIGH,
     "Either move if the fields are to be moved to the headers (removed from the key/value), or "
     "copy if the fields are to be copied to the headers (retained in the key/value).", NULL, 0,
     operations, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

struct hfrom {
    enum smt_side side;
    json_t *fields, *headers;
    int move;
};

static void hfrom_destroy(void *state)
{
    struct hfrom *h = state;
    json_decref(h->fields);
    json_decref(h->headers);
    free(h);
}

static void *hfrom_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, hf_defs, err, errlen))
        return NULL;
    const char *op = cfg_get_str(conf, hf_defs, "operation");
    if (strcmp(op, "move") && strcmp(op, "copy")) { /* Kafka's ValidString is case-sensitive */
        snprintf(err, errlen, "operation: Invalid value %s for configuration operation: String "
                 "must be one of: move, copy", op);
        return NULL;
    }
    struct hfrom *h = calloc(1, sizeof(*h));
    h->side = side;
    h->fields = smt_config_list(conf, hf_defs, "fields");
    h->headers = smt_config_list(conf, hf_defs, "headers");
    h->move = !strcmp(cfg_get_str(conf, hf_defs, "operation"), "move");
    if (!json_array_size(h->fields) || !json_array_size(h->headers))
        snprintf(err, errlen, "%s: Invalid value [] for configuration %s: Empty list",
                 json_array_size(h->fields) ? "headers" : "fields",
                 json_array_size(h->fields) ? "headers" : "fields");
    else if (json_array_size(h->fields) != json_array_size(h->headers))
        snprintf(err, errlen, "headers: 'fields' config must have the same number of elements "
                 "as 'headers' config.");
    else
        return h;
    hfrom_destroy(h);
    return NULL;
}

static void add_header(struct cd_record *r, const char *name, const json_t *schema,
                       const json_t *v)
{
    size_t len;
    char *text = smt_value_text(schema, v, &len);
    smt_header_add(r, name, text, len);
    free(text);
}

static int hfrom_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct hfrom *h = state;
    struct cd_data *d = smt_operand(r, h->side);
    const char *purpose = h->move ? "header move" : "header copy";
    size_t i;
    json_t *f;
    if (d->schema ? smt_require_struct(d->schema, d->value, purpose, err, errlen)
                  : smt_require_map(d->value, purpose, err, errlen))
        return -1;
    json_array_foreach(h->fields, i, f) if (d->schema && !smt_field(d->schema, json_string_value(f)))
    {
        snprintf(err, errlen, "Unknown field: %s", json_string_value(f));
        return -1;
    }
    json_array_foreach(h->fields, i, f) {
        const char *name = json_string_value(f);
        json_t *fs = d->schema ? smt_field_schema(smt_field(d->schema, name)) : NULL;
        add_header(r, json_string_value(json_array_get(h->headers, i)), fs,
                   json_object_get(d->value, name));
        json_decref(fs);
    }
    if (!h->move)
        return 1;
    json_t *value = json_copy(d->value), *schema = NULL;
    json_array_foreach(h->fields, i, f) json_object_del(value, json_string_value(f));
    if (d->schema) {
        json_t *fields = json_array(), *field;
        json_array_foreach(json_object_get(d->schema, "fields"), i, field)
            if (!smt_list_has(h->fields, json_string_value(json_object_get(field, "field"))))
                json_array_append(fields, field);
        schema = smt_schema_basics(d->schema, "struct", fields);
    }
    smt_data_set(d, schema, value);
    return 1;
}

SMT_KEY_VALUE(smt_headerfrom, "HeaderFrom", hf_defs, hfrom_create, hfrom_destroy, hfrom_apply);
