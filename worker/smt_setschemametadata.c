/* smt_setschemametadata.c — org.apache.kafka.connect.transforms.SetSchemaMetadata$Key /
 * $Value: sets the name and/or version of the key or value schema. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_def ssm_defs[] = {
    {"schema.name", CFG_STRING, NULL, 0, CFG_HIGH, "Schema name to set.", NULL, 0, NULL, NULL},
    {"schema.version", CFG_INT, NULL, 0, CFG_HIGH, "Schema version to set.", NULL, 0, NULL, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

struct ssm {
    enum smt_side side;
    char *name;      /* NULL = keep */
    int has_version;
    int version;
};

static void ssm_destroy(void *state)
{
    struct ssm *s = state;
    free(s->name);
    free(s);
}

static void *ssm_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, ssm_defs, err, errlen))
        return NULL;
    const char *name = cfg_get_str(conf, ssm_defs, "schema.name");
    const char *ver = cfg_get_str(conf, ssm_defs, "schema.version");
    if ((!name || !*name) && (!ver || !*ver)) {
        snprintf(err, errlen, "schema.name: Neither schema name nor version configured");
        return NULL;
    }
    struct ssm *s = calloc(1, sizeof(*s));
    s->side = side;
    s->name = name && *name ? strdup(name) : NULL;
    s->has_version = ver && *ver;
    s->version = (int)cfg_get_int(conf, ssm_defs, "schema.version", 0);
    return s;
}

static int ssm_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct ssm *s = state;
    struct cd_data *d = smt_operand(r, s->side);
    if (!d->schema && (!d->value || json_is_null(d->value)))
        return 1;
    if (!d->schema) {
        snprintf(err, errlen, "Schema required for [updating schema metadata]");
        return -1;
    }
    json_t *copy = json_copy(d->schema);
    if (s->name)
        json_object_set_new(copy, "name", json_string(s->name));
    if (s->has_version)
        json_object_set_new(copy, "version", json_integer(s->version));
    json_t *schema = smt_schema_canonical(copy);
    json_decref(copy);
    smt_data_set(d, schema, d->value ? json_incref(d->value) : NULL);
    return 1;
}

SMT_KEY_VALUE(smt_setschemametadata, "SetSchemaMetadata", ssm_defs, ssm_create, ssm_destroy,
              ssm_apply);
