/* smt_regexrouter.c — org.apache.kafka.connect.transforms.RegexRouter: when `regex` matches
 * the whole topic, the topic becomes `replacement` with $1... filled from the match. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static int check_regex(const char *value, char *err, size_t errlen)
{
    regex_t re;
    if (smt_regex_compile(&re, value, err, errlen))
        return -1;
    regfree(&re);
    return 0;
}

static const struct cfg_def rr_defs[] = {
    {"regex", CFG_STRING, NULL, 1, CFG_HIGH, "Regular expression to use for matching.", NULL, 0,
     NULL, check_regex},
    {"replacement", CFG_STRING, NULL, 1, CFG_HIGH, "Replacement string.", NULL, 0, NULL, NULL},
    SMT_END_DEFS,
};

struct rr {
    regex_t re;
    char *replacement;
};

static void *rr_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, rr_defs, err, errlen))
        return NULL;
    struct rr *r = calloc(1, sizeof(*r));
    smt_regex_compile(&r->re, cfg_get_str(conf, rr_defs, "regex"), err, errlen);
    r->replacement = strdup(cfg_get_str(conf, rr_defs, "replacement"));
    return r;
}

static void rr_destroy(void *state)
{
    struct rr *r = state;
    regfree(&r->re);
    free(r->replacement);
    free(r);
}

static int rr_apply(void *state, struct cd_record *rec, char *err, size_t errlen)
{
    struct rr *r = state;
    regmatch_t m[10];
    if (!rec->topic || !smt_regex_matches(&r->re, rec->topic, 10, m))
        return 1;
    char *topic = smt_regex_replace(rec->topic, m, 10, r->replacement);
    cd_record_set_topic(rec, topic);
    return 1;
}

const struct transform_plugin smt_regexrouter_plugin = {
    .class_name = SMT_PKG "RegexRouter",
    .config = rr_defs,
    .create = rr_create,
    .destroy = rr_destroy,
    .apply = rr_apply,
};
