/* transform.c — building and running a connector's transform chain (see transform.h). */
#include "transform.h"

#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The built-in transforms and predicates (worker/smt_*.c). */
#define KV(name) extern const struct transform_plugin name##_key_plugin, name##_value_plugin;
KV(smt_cast)
KV(smt_extractfield)
KV(smt_flatten)
KV(smt_headerfrom)
KV(smt_hoistfield)
KV(smt_insertfield)
KV(smt_maskfield)
KV(smt_replacefield)
KV(smt_setschemametadata)
KV(smt_timestampconverter)
#undef KV
extern const struct transform_plugin smt_dropheaders_plugin, smt_filter_plugin,
    smt_insertheader_plugin, smt_regexrouter_plugin, smt_timestamprouter_plugin,
    smt_valuetokey_plugin;
extern const struct predicate_plugin smt_topicnamematches_plugin, smt_hasheaderkey_plugin,
    smt_recordistombstone_plugin;

const struct transform_plugin *const transform_plugins[] = {
    &smt_cast_key_plugin,
    &smt_cast_value_plugin,
    &smt_dropheaders_plugin,
    &smt_extractfield_key_plugin,
    &smt_extractfield_value_plugin,
    &smt_filter_plugin,
    &smt_flatten_key_plugin,
    &smt_flatten_value_plugin,
    &smt_headerfrom_key_plugin,
    &smt_headerfrom_value_plugin,
    &smt_hoistfield_key_plugin,
    &smt_hoistfield_value_plugin,
    &smt_insertfield_key_plugin,
    &smt_insertfield_value_plugin,
    &smt_insertheader_plugin,
    &smt_maskfield_key_plugin,
    &smt_maskfield_value_plugin,
    &smt_regexrouter_plugin,
    &smt_replacefield_key_plugin,
    &smt_replacefield_value_plugin,
    &smt_setschemametadata_key_plugin,
    &smt_setschemametadata_value_plugin,
    &smt_timestampconverter_key_plugin,
    &smt_timestampconverter_value_plugin,
    &smt_timestamprouter_plugin,
    &smt_valuetokey_plugin,
    NULL,
};

const struct predicate_plugin *const predicate_plugins[] = {
    &smt_topicnamematches_plugin,
    &smt_hasheaderkey_plugin,
    &smt_recordistombstone_plugin,
    NULL,
};

/* Kafka names nested classes Cast$Value; registry_name_matches handles the package. */
const struct transform_plugin *transform_find(const char *name)
{
    for (int i = 0; transform_plugins[i]; i++)
        if (registry_name_matches(transform_plugins[i]->class_name, transform_plugins[i]->aliases,
                                  name))
            return transform_plugins[i];
    return NULL;
}

const struct predicate_plugin *predicate_find(const char *name)
{
    for (int i = 0; predicate_plugins[i]; i++)
        if (registry_name_matches(predicate_plugins[i]->class_name, predicate_plugins[i]->aliases,
                                  name))
            return predicate_plugins[i];
    return NULL;
}

struct pred_inst {
    const struct predicate_plugin *p;
    void *state;
};

struct step {
    const struct transform_plugin *p;
    void *state;
    struct pred_inst *pred; /* borrowed from the chain's predicate list, may be NULL */
    int negate;
};

struct transform_chain {
    struct step *steps;
    int nsteps;
    struct pred_inst *preds;
    char **pred_names;
    int npreds;
};

/* Splits a comma-separated list into trimmed, non-empty items (malloc'd array of strdup'd). */
static char **split_list(const char *list, int *n)
{
    *n = 0;
    if (!list)
        return NULL;
    char **out = calloc(strlen(list) / 2 + 2, sizeof(*out));
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok)
            out[(*n)++] = strdup(tok);
    }
    free(copy);
    return out;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* The keys of conf under "<prefix>" with the prefix stripped, minus "type". */
static json_t *sub_config(json_t *conf, const char *prefix)
{
    json_t *out = json_object();
    size_t pl = strlen(prefix);
    const char *k;
    json_t *v;
    json_object_foreach(conf, k, v) if (!strncmp(k, prefix, pl) && strcmp(k + pl, "type"))
        json_object_set(out, k + pl, v);
    return out;
}

static const char *str_of(json_t *conf, const char *key)
{
    return json_string_value(json_object_get(conf, key));
}

static void class_error(char *err, size_t errlen, const char *type, const char *key)
{
    if (type)
        snprintf(err, errlen, "Invalid value %s for configuration %s: Class %s could not be found.",
                 type, key, type);
    else
        snprintf(err, errlen, "Missing required configuration \"%s\" which has no default value.",
                 key);
}

static int make_predicate(struct pred_inst *pi, json_t *conf, const char *alias, char *err,
                          size_t errlen)
{
    char key[300], prefix[300], e[512] = "";
    snprintf(key, sizeof(key), "predicates.%s.type", alias);
    snprintf(prefix, sizeof(prefix), "predicates.%s.", alias);
    const char *type = str_of(conf, key);
    pi->p = type ? predicate_find(type) : NULL;
    if (!pi->p) {
        class_error(err, errlen, type, key);
        return -1;
    }
    json_t *sub = sub_config(conf, prefix);
    pi->state = pi->p->create(sub, e, sizeof(e));
    json_decref(sub);
    if (!pi->state) {
        snprintf(err, errlen, "Invalid configuration %s%s", prefix, e);
        return -1;
    }
    return 0;
}

static int make_step(struct transform_chain *c, struct step *st, json_t *conf, const char *alias,
                     char *err, size_t errlen)
{
    char key[300], prefix[300], e[512] = "";
    snprintf(key, sizeof(key), "transforms.%s.type", alias);
    snprintf(prefix, sizeof(prefix), "transforms.%s.", alias);
    const char *type = str_of(conf, key);
    st->p = type ? transform_find(type) : NULL;
    if (!st->p) {
        class_error(err, errlen, type, key);
        return -1;
    }
    snprintf(key, sizeof(key), "transforms.%s.predicate", alias);
    const char *pred = str_of(conf, key);
    for (int i = 0; pred && *pred && i < c->npreds && !st->pred; i++)
        if (!strcmp(c->pred_names[i], pred))
            st->pred = &c->preds[i];
    if (pred && *pred && !st->pred) {
        snprintf(err, errlen, "Invalid value %s for configuration %s: the predicate is not listed "
                 "in predicates", pred, key);
        return -1;
    }
    snprintf(key, sizeof(key), "transforms.%s.negate", alias);
    st->negate = str_of(conf, key) && !strcasecmp(str_of(conf, key), "true");
    json_t *sub = sub_config(conf, prefix);
    json_object_del(sub, "predicate");
    json_object_del(sub, "negate");
    st->state = st->p->create(sub, e, sizeof(e));
    json_decref(sub);
    if (!st->state) {
        snprintf(err, errlen, "Invalid configuration %s%s", prefix, e);
        return -1;
    }
    return 0;
}

struct transform_chain *transform_chain_new(json_t *conn_conf, char *err, size_t errlen)
{
    struct transform_chain *c = calloc(1, sizeof(*c));
    int nt = 0;
    char **tnames = split_list(str_of(conn_conf, "transforms"), &nt);
    c->pred_names = split_list(str_of(conn_conf, "predicates"), &c->npreds);
    c->preds = calloc((size_t)c->npreds + 1, sizeof(*c->preds));
    c->steps = calloc((size_t)nt + 1, sizeof(*c->steps));
    int rc = 0;
    for (int i = 0; i < c->npreds && !rc; i++)
        rc = make_predicate(&c->preds[i], conn_conf, c->pred_names[i], err, errlen);
    for (int i = 0; i < nt && !rc; i++, c->nsteps++)
        rc = make_step(c, &c->steps[i], conn_conf, tnames[i], err, errlen);
    free_list(tnames, nt);
    if (rc) {
        transform_chain_free(c);
        return NULL;
    }
    return c;
}

int transform_chain_apply(struct transform_chain *c, struct cd_record *r, char *err,
                          size_t errlen, const char **failed_class)
{
    for (int i = 0; i < c->nsteps; i++) {
        struct step *st = &c->steps[i];
        if (st->pred && st->pred->p->test(st->pred->state, r) == st->negate)
            continue;
        int rc = st->p->apply(st->state, r, err, errlen);
        if (rc <= 0) {
            if (rc < 0 && failed_class)
                *failed_class = st->p->class_name;
            return rc;
        }
    }
    return 1;
}

int transform_chain_len(const struct transform_chain *c)
{
    return c ? c->nsteps : 0;
}

void transform_chain_free(struct transform_chain *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nsteps; i++)
        if (c->steps[i].state)
            c->steps[i].p->destroy(c->steps[i].state);
    for (int i = 0; i < c->npreds; i++)
        if (c->preds[i].state)
            c->preds[i].p->destroy(c->preds[i].state);
    free(c->steps);
    free(c->preds);
    free_list(c->pred_names, c->npreds);
    free(c);
}

/* The key an error message belongs to: the first "transforms.x.y"/"predicates.x.y" in it. */
static void error_key(const char *msg, char *key, size_t n)
{
    const char *t = strstr(msg, "transforms."), *p = strstr(msg, "predicates.");
    const char *s = t && (!p || t < p) ? t : p;
    size_t len = s ? strcspn(s, " \":") : 0;
    snprintf(key, n, "%.*s", (int)len, s ? s : "transforms");
    if (len && key[len - 1] == '.')
        key[len - 1] = '\0';
}

int transform_chain_validate(json_t *conn_conf, json_t *errors)
{
    char err[1024];
    struct transform_chain *c = transform_chain_new(conn_conf, err, sizeof(err));
    if (c) {
        transform_chain_free(c);
        return 0;
    }
    char key[300];
    error_key(err, key, sizeof(key));
    json_t *arr = json_object_get(errors, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(errors, key, arr);
    }
    json_array_append_new(arr, json_string(err));
    return 1;
}
