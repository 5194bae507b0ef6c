/* smt_flatten.c — org.apache.kafka.connect.transforms.Flatten$Key / $Value: nested structs
 * (schema) or maps (schemaless) become top-level fields named parent<delimiter>child. Arrays
 * are kept as they are. A field under an optional parent becomes optional, and a parent's
 * default gives the child's default. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_def fl_defs[] = {
    {"delimiter", CFG_STRING, ".", 0, CFG_MEDIUM,
     "Delimiter to insert between field names from the input record when generating field "
     "names for the output record", NULL, 0, NULL, NULL},
    SMT_END_DEFS,
};

struct fl {
    enum smt_side side;
    char *delim;
};

static void fl_destroy(void *state)
{
    struct fl *f = state;
    free(f->delim);
    free(f);
}

static void *fl_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, fl_defs, err, errlen))
        return NULL;
    struct fl *f = calloc(1, sizeof(*f));
    f->side = side;
    f->delim = strdup(cfg_get_str(conf, fl_defs, "delimiter"));
    return f;
}

/* prefix + delimiter + name, or name at the top. malloc'd. */
static char *join(const struct fl *f, const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(f->delim) + strlen(name) + 1;
    char *s = malloc(n);
    if (*prefix)
        snprintf(s, n, "%s%s%s", prefix, f->delim, name);
    else
        snprintf(s, n, "%s", name);
    return s;
}

static int flat_map(const struct fl *f, json_t *map, const char *prefix, json_t *out, char *err,
                    size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) {
        char *name = join(f, prefix, k);
        int rc = 0;
        if (json_is_object(v))
            rc = flat_map(f, v, name, out, err, errlen);
        else
            json_object_set(out, name, v);
        free(name);
        if (rc)
            return -1;
    }
    return 0;
}

static int is_flat_type(const char *t)
{
    static const char *const kinds[] = {"int8",   "int16",   "int32",  "int64", "float",
                                        "double", "boolean", "string", "bytes", "array", NULL};
    for (int i = 0; kinds[i]; i++)
        if (!strcmp(t, kinds[i]))
            return 1;
    return 0;
}

static void unsupported(const char *type, const char *name, char *err, size_t errlen)
{
    char up[16];
    size_t i;
    for (i = 0; type[i] && i < sizeof(up) - 1; i++)
        up[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
    up[i] = '\0';
    snprintf(err, errlen, "Flatten transformation does not support %s for record with schemas "
             "(for field %s).", up, name);
}

/* Adds the flattened fields of struct schema s to fields; value v (may be NULL) to out. */
static int flat_struct(const struct fl *f, const json_t *s, json_t *v, const char *prefix,
                       int optional, json_t *parent_default, json_t *fields, json_t *out,
                       char *err, size_t errlen)
{
    json_t *field;
    size_t i;
    json_array_foreach(json_object_get(s, "fields"), i, field) {
        const char *fname = json_string_value(json_object_get(field, "field"));
        const char *t = smt_type(field);
        char *name = join(f, prefix, fname);
        int opt = optional || smt_optional(field), rc = 0;
        json_t *def = json_object_get(field, "default");
        if (!def || json_is_null(def))
            def = parent_default ? json_object_get(parent_default, fname) : NULL;
        json_t *fv = v ? json_object_get(v, fname) : NULL;
        if (is_flat_type(t)) {
            json_t *fs = smt_schema_basics(field, t, NULL);
            if (!strcmp(t, "array"))
                json_object_set(fs, "items", json_object_get(field, "items"));
            smt_schema_set_optional(fs, opt);
            if (def && !json_is_null(def))
                json_object_set(fs, "default", def);
            json_t *canon = smt_schema_canonical(fs);
            json_decref(fs);
            if (fields)
                json_array_append_new(fields, smt_field_entry(canon, name));
            json_decref(canon);
            if (out)
                json_object_set(out, name, fv ? fv : json_null());
        } else if (!strcmp(t, "struct")) {
            rc = flat_struct(f, field, fv && json_is_object(fv) ? fv : NULL, name, opt, def,
                             fields, out, err, errlen);
        } else {
            unsupported(t, name, err, errlen);
            rc = -1;
        }
        free(name);
        if (rc)
            return -1;
    }
    return 0;
}

static int fl_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct fl *f = state;
    struct cd_data *d = smt_operand(r, f->side);
    const char *purpose = "flattening";
    if (!d->value || json_is_null(d->value))
        return 1;
    if (!d->schema) {
        if (smt_require_map(d->value, purpose, err, errlen))
            return -1;
        json_t *out = json_object();
        flat_map(f, d->value, "", out, err, errlen);
        smt_data_set(d, NULL, out);
        return 1;
    }
    if (smt_require_struct(d->schema, d->value, purpose, err, errlen))
        return -1;
    json_t *fields = json_array(), *out = json_object();
    if (flat_struct(f, d->schema, d->value, "", smt_optional(d->schema),
                    json_object_get(d->schema, "default"), fields, out, err, errlen)) {
        json_decref(fields);
        json_decref(out);
        return -1;
    }
    smt_data_set(d, smt_schema_basics(d->schema, "struct", fields), out);
    return 1;
}

SMT_KEY_VALUE(smt_flatten, "Flatten", fl_defs, fl_create, fl_destroy, fl_apply);
