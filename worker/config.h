/* config.h — table-driven config schemas (the one place a key is declared).
 *
 * A config is a jansson object whose values are strings, as Kafka Connect stores them.
 * A schema is an array of struct cfg_def ended by an entry with name == NULL. It drives
 * parsing (cfg_get_*), defaults, config/validate, /connector-plugins/{p}/config, generated
 * docs and secret redaction (type CFG_PASSWORD or flag secret). */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
    CFG_STRING = 0,
    CFG_INT,
    CFG_LONG,
    CFG_DOUBLE,
    CFG_BOOLEAN,
    CFG_LIST,     /* comma-separated */
    CFG_CLASS,
    CFG_PASSWORD, /* always secret */
};

enum cfg_importance { CFG_HIGH = 0, CFG_MEDIUM, CFG_LOW };

/* Returns 0 when value is fine, else writes a message to err (without the key name). */
typedef int (*cfg_validator_fn)(const char *value, char *err, size_t errlen);

struct cfg_def {
    const char *name;
    enum cfg_type type;
    const char *default_value;        /* NULL = no default */
    int required;                     /* 1 = must be set (and non-empty) */
    enum cfg_importance importance;
    const char *doc;
    const char *group;                /* display group, may be NULL */
    int secret;                       /* never logged; CFG_PASSWORD implies it */
    const char *const *allowed;       /* NULL-ended list of valid values (case-insensitive) */
    cfg_validator_fn validator;       /* extra check, may be NULL */
};

const char *cfg_type_name(enum cfg_type t);          /* "STRING", "INT", ... as Kafka */
const char *cfg_importance_name(enum cfg_importance i); /* "HIGH", ... */

const struct cfg_def *cfg_find(const struct cfg_def *defs, const char *name);

/* Raw string value of key: the config's value, else the schema default, else NULL.
 * Borrowed from conf or defs. */
const char *cfg_get_str(json_t *conf, const struct cfg_def *defs, const char *name);
/* Parsed typed values; on missing/unparsable value return dflt. */
int64_t cfg_get_int(json_t *conf, const struct cfg_def *defs, const char *name, int64_t dflt);
double cfg_get_double(json_t *conf, const struct cfg_def *defs, const char *name, double dflt);
int cfg_get_bool(json_t *conf, const struct cfg_def *defs, const char *name, int dflt);

/* Checks one value against its definition (type, allowed, validator).
 * Returns 0 when valid, else -1 with a message in err. */
int cfg_check_value(const struct cfg_def *d, const char *value, char *err, size_t errlen);

/* Validates conf against defs. Appends every problem to errors, an object
 * key -> array of message strings (created by caller). Returns the number of errors. */
int cfg_validate(json_t *conf, const struct cfg_def *defs, json_t *errors);

/* 1 when key is secret in any of the given schemas (NULL-ended array of schemas), or
 * when its name looks like one (password, secret, token, private.key, passphrase). */
int cfg_is_secret(const char *key, const struct cfg_def *const *schemas);

/* ConfigKeyInfo JSON for one definition (Kafka Connect's shape). Caller owns. */
json_t *cfg_def_to_json(const struct cfg_def *d, int order);

/* Converts every value of a JSON object to a string as Kafka Connect does
 * (numbers and booleans are stringified, null stays null). Returns a new object,
 * or NULL with err set when a value is an object/array. */
json_t *cfg_stringify(json_t *obj, char *err, size_t errlen);

#endif
