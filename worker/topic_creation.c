/* topic_creation.c — KIP-158 topic creation for source connectors: topics a source writes to
 * are created on first use with the settings of the first matching topic.creation group. */
#include "topic_creation.h"

#include "kafka.h"
#include "log.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tc_group {
    char *name;
    regex_t include, exclude;
    int has_include, has_exclude;
    int partitions, replication;
    json_t *configs; /* other topic.creation.<group>.* keys: topic configs */
};

struct topic_creation {
    struct tc_group *groups; /* the named groups in order, then "default" last */
    int ngroups;
    json_t *done; /* topics already checked */
};

static const char *get(json_t *c, const char *prefix, const char *group, const char *key)
{
    char k[512];
    snprintf(k, sizeof(k), "%s%s.%s", prefix, group, key);
    return json_string_value(json_object_get(c, k));
}

/* A comma-separated list of Java regexes as one anchored POSIX alternation. */
static int compile_list(regex_t *re, const char *list)
{
    size_t n = strlen(list) * 2 + 16;
    char *pat = malloc(n), *copy = strdup(list), *save = NULL;
    size_t used = (size_t)snprintf(pat, n, "^(");
    int first = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        used += (size_t)snprintf(pat + used, n - used, "%s(%s)", first ? "" : "|", tok);
        first = 0;
    }
    snprintf(pat + used, n - used, ")$");
    int rc = first ? -1 : regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    free(copy);
    return rc;
}

static int group_init(struct tc_group *g, json_t *c, const char *name, const struct tc_group *dflt,
                      char *err, size_t errlen)
{
    const char *pre = "topic.creation.";
    g->name = strdup(name);
    const char *inc = get(c, pre, name, "include"), *exc = get(c, pre, name, "exclude");
    if ((inc && *inc && (g->has_include = !compile_list(&g->include, inc)) == 0) ||
        (exc && *exc && (g->has_exclude = !compile_list(&g->exclude, exc)) == 0)) {
        snprintf(err, errlen, "Invalid regex in topic.creation.%s.%s", name,
                 inc && !g->has_include ? "include" : "exclude");
        return -1;
    }
    const char *p = get(c, pre, name, "partitions"), *r = get(c, pre, name, "replication.factor");
    g->partitions = p ? atoi(p) : dflt ? dflt->partitions : -1;
    g->replication = r ? atoi(r) : dflt ? dflt->replication : -1;
    g->configs = dflt ? json_deep_copy(dflt->configs) : json_object();
    char gp[300];
    size_t gl = (size_t)snprintf(gp, sizeof(gp), "%s%s.", pre, name);
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        const char *sub = k + gl;
        if (strncmp(k, gp, gl) || !strcmp(sub, "include") || !strcmp(sub, "exclude") ||
            !strcmp(sub, "partitions") || !strcmp(sub, "replication.factor"))
            continue;
        json_object_set(g->configs, sub, v);
    }
    return 0;
}

static void group_free(struct tc_group *g)
{
    if (g->has_include)
        regfree(&g->include);
    if (g->has_exclude)
        regfree(&g->exclude);
    json_decref(g->configs);
    free(g->name);
}

struct topic_creation *topic_creation_new(json_t *conn_conf, json_t *worker_conf, char *err,
                                          size_t errlen)
{
    const char *enable = json_string_value(json_object_get(worker_conf, "topic.creation.enable"));
    if ((enable && !strcasecmp(enable, "false")) ||
        !json_object_get(conn_conf, "topic.creation.default.replication.factor") ||
        !json_object_get(conn_conf, "topic.creation.default.partitions"))
        return NULL;
    const char *names = json_string_value(json_object_get(conn_conf, "topic.creation.groups"));
    struct topic_creation *tc = calloc(1, sizeof(*tc));
    tc->done = json_object();
    tc->groups = calloc(64, sizeof(*tc->groups));
    struct tc_group dflt = {0};
    int rc = group_init(&dflt, conn_conf, "default", NULL, err, errlen);
    char *copy = strdup(names ? names : ""), *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok && !rc && tc->ngroups < 63;
         tok = strtok_r(NULL, ", ", &save))
        rc = group_init(&tc->groups[tc->ngroups++], conn_conf, tok, &dflt, err, errlen);
    free(copy);
    tc->groups[tc->ngroups++] = dflt;
    if (rc) {
        topic_creation_free(tc);
        return NULL;
    }
    return tc;
}

static const struct tc_group *match(const struct topic_creation *tc, const char *topic)
{
    for (int i = 0; i < tc->ngroups - 1; i++) {
        const struct tc_group *g = &tc->groups[i];
        if (g->has_include && !regexec(&g->include, topic, 0, NULL, 0) &&
            !(g->has_exclude && !regexec(&g->exclude, topic, 0, NULL, 0)))
            return g;
    }
    return &tc->groups[tc->ngroups - 1];
}

int topic_creation_ensure(struct topic_creation *tc, rd_kafka_t *rk, const char *topic,
                          char *err, size_t errlen)
{
    if (!tc || json_object_get(tc->done, topic))
        return 0;
    const struct tc_group *g = match(tc, topic);
    int n = kafka_topic_ensure(rk, topic, g->partitions, g->replication, g->configs, err, errlen);
    if (n < 0)
        return -1;
    log_debug(LOGS_TASK, "topic %s ready (%d partitions, group %s)", topic, n, g->name);
    json_object_set_new(tc->done, topic, json_true());
    return 0;
}

void topic_creation_free(struct topic_creation *tc)
{
    if (!tc)
        return;
    for (int i = 0; i < tc->ngroups; i++)
        group_free(&tc->groups[i]);
    free(tc->groups);
    json_decref(tc->done);
    free(tc);
}
