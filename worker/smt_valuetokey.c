/* smt_valuetokey.c — org.apache.kafka.connect.transforms.ValueToKey: the key becomes a struct
 * (schema) or map (schemaless) of the listed fields of the value. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_def vk_defs[] = {
    {"fields", CFG_LIST, NULL, 1, CFG_HIGH,
     "Field names on the record value to extract as the record key.", NULL, 0, NULL, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

static void *vk_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, vk_defs, err, errlen))
        return NULL;
    json_t *fields = smt_config_list(conf, vk_defs, "fields");
    if (!json_array_size(fields)) {
        snprintf(err, errlen, "fields: Invalid value [] for configuration fields: Empty list");
        json_decref(fields);
        return NULL;
    }
    return fields;
}

static void vk_destroy(void *state)
{
    json_decref(state);
}

static int vk_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    json_t *fields = state, *f;
    const char *purpose = "copying fields from value to key";
    size_t i;
    if (!r->value.schema) {
        if (smt_require_map(r->value.value, purpose, err, errlen))
            return -1;
        json_t *key = json_object();
        json_array_foreach(fields, i, f) {
            json_t *v = json_object_get(r->value.value, json_string_value(f));
            json_object_set(key, json_string_value(f), v ? v : json_null());
        }
        smt_data_set(&r->key, NULL, key);
        return 1;
    }
    if (smt_require_struct(r->value.schema, r->value.value, purpose, err, errlen))
        return -1;
    json_t *kfields = json_array(), *key = json_object();
    json_array_foreach(fields, i, f) {
        const char *name = json_string_value(f);
        json_t *vf = smt_field(r->value.schema, name);
        if (!vf) {
            snprintf(err, errlen, "Field does not exist: %s", name);
            json_decref(kfields);
            json_decref(key);
            return -1;
        }
        json_array_append_new(kfields, json_copy(vf));
        json_t *v = json_object_get(r->value.value, name);
        json_object_set(key, name, v ? v : json_null());
    }
    smt_data_set(&r->key, smt_schema_basics(NULL, "struct", kfields), key);
    return 1;
}

const struct transform_plugin smt_valuetokey_plugin = {
    .class_name = SMT_PKG "ValueToKey",
    .config = vk_defs,
    .create = vk_create,
    .destroy = vk_destroy,
    .apply = vk_apply,
};
