/* transform.h — Single Message Transforms and predicates (Kafka Connect's built-ins).
 *
 * A connector config's `transforms=a,b` with `transforms.a.type=<class>` and the
 * `transforms.a.*` keys builds a chain; `predicates=p` with `predicates.p.type` and
 * `transforms.a.predicate=p` / `transforms.a.negate=true` gate a transform. Class names are
 * Kafka's (org.apache.kafka.connect.transforms.Cast$Value, ...predicates.TopicNameMatches);
 * the simple name (Cast$Value, TopicNameMatches) is accepted too. Every transform works on
 * schemaless records (schema NULL) and on records with a Connect schema, as Kafka's do. */
#ifndef CD_TRANSFORM_H
#define CD_TRANSFORM_H

#include "plugin.h"

struct transform_plugin {
    const char *class_name; /* e.g. "org.apache.kafka.connect.transforms.Cast$Value" */
    const char *const *aliases;
    const struct cfg_def *config; /* keys after the "transforms.<alias>." prefix */
    /* conf: this transform's keys with the prefix stripped (borrowed). NULL + err on a bad
     * config; err names the key (without the prefix; the caller adds it). */
    void *(*create)(json_t *conf, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Transforms r in place (it may replace r->topic, key, value, headers, timestamp).
     * Returns 1 to keep the record, 0 to drop it (Filter), -1 on error with err set. */
    int (*apply)(void *state, struct cd_record *r, char *err, size_t errlen);
};

struct predicate_plugin {
    const char *class_name; /* e.g. "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" */
    const char *const *aliases;
    const struct cfg_def *config; /* keys after "predicates.<alias>." */
    void *(*create)(json_t *conf, char *err, size_t errlen);
    void (*destroy)(void *state);
    int (*test)(void *state, const struct cd_record *r); /* 1 = matches */
};

extern const struct transform_plugin *const transform_plugins[];
extern const struct predicate_plugin *const predicate_plugins[];

const struct transform_plugin *transform_find(const char *name);
const struct predicate_plugin *predicate_find(const char *name);

struct transform_chain;

/* Builds the chain of conn_conf (an object of strings). A config without `transforms` gives
 * an empty chain (never NULL on success). NULL + err naming the full key on a bad config. */
struct transform_chain *transform_chain_new(json_t *conn_conf, char *err, size_t errlen);
/* Applies every transform in order. Returns 1 keep, 0 dropped, -1 error: err holds the
 * message and *failed_class (may be NULL) the class name of the transform that failed. */
int transform_chain_apply(struct transform_chain *c, struct cd_record *r, char *err,
                          size_t errlen, const char **failed_class);
int transform_chain_len(const struct transform_chain *c);
void transform_chain_free(struct transform_chain *c);

/* For config/validate: checks transforms.* / predicates.* keys of conn_conf. Adds messages to
 * errors (object: full key -> array of strings). Returns the number added. */
int transform_chain_validate(json_t *conn_conf, json_t *errors);

#endif
