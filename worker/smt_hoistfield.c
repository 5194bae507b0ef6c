/* smt_hoistfield.c — org.apache.kafka.connect.transforms.HoistField$Key / $Value: wraps the
 * key or value in a struct (schema) or map (schemaless) with one field named `field`. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_def hf_defs[] = {
    {"field", CFG_STRING, NULL, 1, CFG_MEDIUM,
     "Field name for the single field that will be created in the resulting Struct or Map.",
     NULL, 0, NULL, NULL},
    SMT_END_DEFS,
};

struct hf {
    enum smt_side side;
    char *field;
};

static void hf_destroy(void *state)
{
    struct hf *h = state;
    free(h->field);
    free(h);
}

static void *hf_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, hf_defs, err, errlen))
        return NULL;
    struct hf *h = calloc(1, sizeof(*h));
    h->side = side;
    h->field = strdup(cfg_get_str(conf, hf_defs, "field"));
    return h;
}

static int hf_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct hf *h = state;
    struct cd_data *d = smt_operand(r, h->side);
    json_t *value = json_object();
    json_object_set(value, h->field, d->value ? d->value : json_null());
    json_t *schema = NULL;
    if (d->schema)
        schema = json_pack("{s:s s:[o] s:b}", "type", "struct", "fields",
                           smt_field_entry(d->schema, h->field), "optional", 0);
    smt_data_set(d, schema, value);
    return 1;
}

SMT_KEY_VALUE(smt_hoistfield, "HoistField", hf_defs, hf_create, hf_destroy, hf_apply);
