/* smt_maskfield.c — org.apache.kafka.connect.transforms.MaskField$Key / $Value: replaces the
 * listed fields with the null value of their type (0, false, "", empty array or map), or
 * with `replacement` converted to the field's type (numbers and strings only). */
#include "conv_util.h"
#include "smt_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct cfg_def mf_defs[] = {
    {"fields", CFG_LIST, NULL, 1, CFG_HIGH, "Names of fields to mask.", NULL, 0, NULL, NULL},
    {"replacement", CFG_STRING, NULL, 0, CFG_LOW,
     "Custom value replacement, that will be applied to all 'fields' values (numeric or "
     "non-empty string values only).", NULL, 0, NULL, NULL},
    SMT_REPLACE_NULL_DEF,
    SMT_END_DEFS,
};

struct mf {
    enum smt_side side;
    json_t *fields;
    char *replacement; /* NULL = the type's null value */
    json_t *empty;     /* the masked string, shared: values are never changed in place */
};

static void mf_destroy(void *state)
{
    struct mf *m = state;
    json_decref(m->fields);
    free(m->replacement);
    json_decref(m->empty);
    free(m);
}

static void *mf_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, mf_defs, err, errlen))
        return NULL;
    json_t *fields = smt_config_list(conf, mf_defs, "fields");
    const char *rep = json_string_value(json_object_get(conf, "replacement"));
    if (!json_array_size(fields) || (rep && !*rep)) {
        snprintf(err, errlen, !json_array_size(fields)
                 ? "fields: Invalid value [] for configuration fields: Empty list"
                 : "replacement: Invalid value  for configuration replacement: String must be "
                   "non-empty");
        json_decref(fields);
        return NULL;
    }
    struct mf *m = calloc(1, sizeof(*m));
    m->side = side;
    m->fields = fields;
    m->replacement = rep ? strdup(rep) : NULL;
    m->empty = json_string("");
    return m;
}

/* The type's "null" value for a value of Java class cls; NULL when Kafka cannot mask it. */
static json_t *null_value(const char *cls)
{
    static const char *const zero_int[] = {"java.lang.Byte", "java.lang.Short",
                                           "java.lang.Integer", "java.lang.Long",
                                           "java.util.Date", NULL};
    for (int i = 0; zero_int[i]; i++)
        if (!strcmp(cls, zero_int[i]))
            return json_integer(0);
    if (!strcmp(cls, "java.lang.Float") || !strcmp(cls, "java.lang.Double"))
        return json_real(0);
    if (!strcmp(cls, "java.math.BigDecimal"))
        return json_string("0");
    if (!strcmp(cls, "java.lang.Boolean"))
        return json_false();
    if (!strcmp(cls, "java.lang.String"))
        return json_string("");
    if (!strcmp(cls, "java.util.ArrayList"))
        return json_array();
    if (!strcmp(cls, "java.util.HashMap"))
        return json_object();
    return NULL;
}

/* replacement converted like Values.convertToX / new BigDecimal; NULL with err. */
static json_t *replaced(const char *cls, const char *rep, char *err, size_t errlen)
{
    static const char *const ints[] = {"java.lang.Byte", "java.lang.Short", "java.lang.Integer",
                                       "java.lang.Long", NULL};
    char *end;
    if (!strcmp(cls, "java.lang.String"))
        return json_string(rep);
    double d = strtod(rep, &end);
    int numeric = end != rep && !*end && !isspace((unsigned char)*rep);
    for (int i = 0; ints[i]; i++)
        if (!strcmp(cls, ints[i])) {
            if (numeric)
                return json_integer((json_int_t)d);
            goto bad;
        }
    if (!strcmp(cls, "java.lang.Float") || !strcmp(cls, "java.lang.Double")) {
        if (numeric)
            return json_real(d);
        goto bad;
    }
    if (!strcmp(cls, "java.math.BigDecimal")) {
        if (numeric)
            return json_string(rep);
        goto bad;
    }
    snprintf(err, errlen, "Cannot mask value of type class %s with custom replacement.", cls);
    return NULL;
bad:
    snprintf(err, errlen, "Unable to convert %s (class java.lang.String) to number", rep);
    return NULL;
}

/* MaskField.masked: null stays null. New reference or NULL with err. */
static json_t *masked(const struct mf *m, const json_t *schema, json_t *v, char *err,
                      size_t errlen)
{
    if (!v || json_is_null(v))
        return json_null();
    if (!schema && !m->replacement && json_is_string(v))
        return json_incref(m->empty);
    const char *cls = smt_java_class(schema, v);
    if (m->replacement)
        return replaced(cls, m->replacement, err, errlen);
    json_t *out = null_value(cls);
    if (!out)
        snprintf(err, errlen, "Cannot mask value of type: class %s", cls);
    return out;
}

static int mf_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct mf *m = state;
    struct cd_data *d = smt_operand(r, m->side);
    const char *purpose = "mask fields";
    json_t *f, *out;
    size_t i;
    if (d->schema ? smt_require_struct(d->schema, d->value, purpose, err, errlen)
                  : smt_require_map(d->value, purpose, err, errlen))
        return -1;
    out = smt_writable(d->value);
    json_array_foreach(m->fields, i, f) {
        const char *name = json_string_value(f);
        json_t *fs = d->schema ? smt_field(d->schema, name) : NULL;
        if (d->schema && !fs)
            continue; /* only the struct's own fields are masked */
        void *at = json_object_iter_at(out, name);
        json_t *mv = masked(m, fs, at ? json_object_iter_value(at) : NULL, err, errlen);
        if (!mv) {
            json_decref(out);
            return -1;
        }
        smt_set_at(out, at, name, mv);
    }
    smt_data_set(d, d->schema ? json_incref(d->schema) : NULL, out);
    return 1;
}

SMT_KEY_VALUE(smt_maskfield, "MaskField", mf_defs, mf_create, mf_destroy, mf_apply);
