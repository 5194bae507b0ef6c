/* smt_replacefield.c — org.apache.kafka.connect.transforms.ReplaceField$Key / $Value: keeps
 * only `include` fields (all when empty), drops `exclude` ones (exclude wins), and renames
 * with `renames` (old:new,...). The deprecated `whitelist` / `blacklist` keys are read as
 * `include` / `exclude` when those are not set. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static int check_renames(const char *value, char *err, size_t errlen);

static const struct cfg_def rf_defs[] = {
    {"exclude", CFG_LIST, "", 0, CFG_MEDIUM,
     "Fields to exclude. This takes precedence over the fields to include.", NULL, 0, NULL, NULL},
    {"include", CFG_LIST, "", 0, CFG_MEDIUM,
     "Fields to include. If specified, only these fields will be used.", NULL, 0, NULL, NULL},
    {"renames", CFG_LIST, "", 0, CFG_MEDIUM, "Field rename mappings.", NULL, 0, NULL,
     check_renames},
    SMT_REPLACE_NULL_DEF,
    {"blacklist", CFG_LIST, NULL, 0, CFG_LOW, "Deprecated. Use exclude instead.", NULL, 0, NULL,
     NULL},
    {"whitelist", CFG_LIST, NULL, 0, CFG_LOW, "Deprecated. Use include instead.", NULL, 0, NULL,
     NULL},
    SMT_END_DEFS,
};

/* Parses old:new pairs into an object old -> new; NULL with err on a bad mapping. */
static json_t *parse_renames(const char *value, char *err, size_t errlen)
{
    json_t *conf = json_pack("{s:s}", "renames", value);
    json_t *items = smt_config_list(conf, rf_defs, "renames"), *out = json_object(), *it;
    size_t i;
    json_decref(conf);
    json_array_foreach(items, i, it) {
        const char *s = json_string_value(it), *colon = strchr(s, ':');
        /* Java's split(":") drops trailing empty parts, so "a:" is one part. */
        if (!colon || colon == s || !colon[1] || strchr(colon + 1, ':')) {
            snprintf(err, errlen, "Invalid rename mapping: %s", s);
            json_decref(out);
            out = NULL;
            break;
        }
        char *old = strndup(s, (size_t)(colon - s));
        json_object_set_new(out, old, json_string(colon + 1));
        free(old);
    }
    json_decref(items);
    return out;
}

static int check_renames(const char *value, char *err, size_t errlen)
{
    json_t *m = parse_renames(value, err, errlen);
    json_decref(m);
    return m ? 0 : -1;
}

struct rf {
    enum smt_side side;
    json_t *include, *exclude; /* arrays of names */
    json_t *renames, *reverse; /* objects old -> new and new -> old */
};

static void rf_destroy(void *state)
{
    struct rf *f = state;
    json_decref(f->include);
    json_decref(f->exclude);
    json_decref(f->renames);
    json_decref(f->reverse);
    free(f);
}

/* The list of key, or of its deprecated alias when key is not set (ConfigUtils'
 * translateDeprecatedConfigs). */
static json_t *list_or_deprecated(json_t *conf, const char *key, const char *old)
{
    if (!json_object_get(conf, key) && json_object_get(conf, old))
        return smt_config_list(conf, rf_defs, old);
    return smt_config_list(conf, rf_defs, key);
}

static void *rf_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, rf_defs, err, errlen))
        return NULL;
    struct rf *f = calloc(1, sizeof(*f));
    f->side = side;
    f->include = list_or_deprecated(conf, "include", "whitelist");
    f->exclude = list_or_deprecated(conf, "exclude", "blacklist");
    f->renames = parse_renames(cfg_get_str(conf, rf_defs, "renames"), err, errlen);
    f->reverse = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(f->renames, k, v) json_object_set_new(f->reverse, json_string_value(v),
                                                              json_string(k));
    return f;
}

static int keep(const struct rf *f, const char *name)
{
    return !smt_list_has(f->exclude, name) &&
           (!json_array_size(f->include) || smt_list_has(f->include, name));
}

static const char *renamed(const struct rf *f, const char *name)
{
    const char *to = json_string_value(json_object_get(f->renames, name));
    return to ? to : name;
}

/* The common exclude-only case: a lookup per excluded name rather than a list search per
 * field, and no copy when the record has none of them. In place keeps the order. */
static void drop_excluded(const struct rf *f, struct cd_data *d)
{
    size_t i;
    json_t *name, *out = NULL;
    json_array_foreach(f->exclude, i, name) {
        const char *k = json_string_value(name);
        if (!json_object_get(out ? out : d->value, k))
            continue;
        if (!out)
            out = smt_writable(d->value);
        json_object_del(out, k);
    }
    if (out)
        smt_data_set(d, NULL, out);
}

static int rf_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct rf *f = state;
    struct cd_data *d = smt_operand(r, f->side);
    const char *purpose = "field replacement", *k;
    json_t *v;
    if (!d->value || json_is_null(d->value))
        return 1;
    if (!d->schema) {
        if (smt_require_map(d->value, purpose, err, errlen))
            return -1;
        if (!json_object_size(f->renames) && !json_array_size(f->include)) {
            drop_excluded(f, d);
            return 1;
        }
        if (!json_object_size(f->renames)) { /* removals only: in place keeps the order */
            json_t *out = smt_writable(d->value);
            void *tmp;
            json_object_foreach_safe(out, tmp, k, v) if (!keep(f, k)) json_object_del(out, k);
            smt_data_set(d, NULL, out);
            return 1;
        }
        json_t *out = json_object();
        json_object_foreach(d->value, k, v) if (keep(f, k))
            json_object_set(out, renamed(f, k), v);
        smt_data_set(d, NULL, out);
        return 1;
    }
    if (smt_require_struct(d->schema, d->value, purpose, err, errlen))
        return -1;
    json_t *fields = json_array(), *out = json_object(), *field;
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, field) {
        const char *name = json_string_value(json_object_get(field, "field"));
        if (!name || !keep(f, name))
            continue;
        json_array_append_new(fields, smt_field_entry(field, renamed(f, name)));
        v = json_object_get(d->value, name);
        json_object_set(out, renamed(f, name), v ? v : json_null());
    }
    smt_data_set(d, smt_schema_basics(d->schema, "struct", fields), out);
    return 1;
}

SMT_KEY_VALUE(smt_replacefield, "ReplaceField", rf_defs, rf_create, rf_destroy, rf_apply);
