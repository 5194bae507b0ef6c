/* smt_predicates.c — Kafka's predicates: TopicNameMatches (`pattern`, a regex matched against
 * the whole topic), HasHeaderKey (`name`), RecordIsTombstone (null value). */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

#define PRED_PKG SMT_PKG "predicates."

static int check_pattern(const char *value, char *err, size_t errlen)
{
    regex_t re;
    if (smt_regex_compile(&re, value, err, errlen))
        return -1;
    regfree(&re);
    return 0;
}

static const struct cfg_def tnm_defs[] = {
    {"pattern", CFG_STRING, NULL, 1, CFG_MEDIUM,
     "A Java regular expression for matching against the name of a record's topic.", NULL, 0,
     NULL, check_pattern},
    SMT_END_DEFS,
};

static void *tnm_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, tnm_defs, err, errlen))
        return NULL;
    regex_t *re = calloc(1, sizeof(*re));
    smt_regex_compile(re, cfg_get_str(conf, tnm_defs, "pattern"), err, errlen);
    return re;
}

static void tnm_destroy(void *state)
{
    regfree(state);
    free(state);
}

static int tnm_test(void *state, const struct cd_record *r)
{
    return r->topic && smt_regex_matches(state, r->topic, 0, NULL);
}

const struct predicate_plugin smt_topicnamematches_plugin = {
    .class_name = PRED_PKG "TopicNameMatches",
    .config = tnm_defs,
    .create = tnm_create,
    .destroy = tnm_destroy,
    .test = tnm_test,
};

static const struct cfg_def hhk_defs[] = {
    {"name", CFG_STRING, NULL, 1, CFG_MEDIUM, "The header name.", NULL, 0, NULL, NULL},
    SMT_END_DEFS,
};

static void *hhk_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, hhk_defs, err, errlen))
        return NULL;
    return strdup(cfg_get_str(conf, hhk_defs, "name"));
}

static void hhk_destroy(void *state)
{
    free(state);
}

static int hhk_test(void *state, const struct cd_record *r)
{
    const void *v;
    size_t n;
    return r->headers && !rd_kafka_header_get_last(r->headers, state, &v, &n);
}

const struct predicate_plugin smt_hasheaderkey_plugin = {
    .class_name = PRED_PKG "HasHeaderKey",
    .config = hhk_defs,
    .create = hhk_create,
    .destroy = hhk_destroy,
    .test = hhk_test,
};

static const struct cfg_def tomb_defs[] = {
    SMT_END_DEFS,
};

static void *tomb_create(json_t *conf, char *err, size_t errlen)
{
    return (void *)tomb_defs; /* stateless */
}

static void tomb_destroy(void *state)
{
}

static int tomb_test(void *state, const struct cd_record *r)
{
    return !r->value.value || json_is_null(r->value.value);
}

const struct predicate_plugin smt_recordistombstone_plugin = {
    .class_name = PRED_PKG "RecordIsTombstone",
    .config = tomb_defs,
    .create = tomb_create,
    .destroy = tomb_destroy,
    .test = tomb_test,
};
