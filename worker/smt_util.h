/* smt_util.h — helpers shared by the built-in transforms (worker/smt_*.c).
 *
 * Connect data in memory (plugin.h): a schema in JsonConverter envelope form (NULL =
 * schemaless) and a jansson value. A struct is a JSON object keyed by field name whose schema
 * has "fields"; a schemaless map is a JSON object. Schemas built here keep the key order
 * Kafka's JsonConverter writes (type, fields/items/keys/values, optional, name, version, doc,
 * parameters, default; "field" last in a struct field), so output matches Kafka's byte for
 * byte. */
#ifndef CD_SMT_UTIL_H
#define CD_SMT_UTIL_H

#include "transform.h"

#include <regex.h>
#include <stdint.h>

#define SMT_PKG "org.apache.kafka.connect.transforms."

/* Which part of the record a $Key / $Value transform works on. */
enum smt_side { SMT_KEY = 0, SMT_VALUE = 1 };

static inline struct cd_data *smt_operand(struct cd_record *r, enum smt_side side)
{
    return side == SMT_KEY ? &r->key : &r->value;
}

/* Replaces d's schema and value with the given new references (either may be NULL). */
void smt_data_set(struct cd_data *d, json_t *schema, json_t *value);
/* A struct or map value for a transform to change and hand to smt_data_set: v itself (a new
 * reference) when the record holds the only reference, else a shallow copy. Only its own
 * members may be set or removed: their values may be shared. A transform that fails after
 * changing it in place leaves the record half changed, which is then dropped anyway. */
json_t *smt_writable(json_t *v);
/* Sets key of obj to v (stolen): through at, obj's member found by json_object_iter_at (one
 * hash lookup for a read and a write), or as a new member when at is NULL. */
void smt_set_at(json_t *obj, void *at, const char *key, json_t *v);

/* ---- config ---- */

/* Checks conf against defs (required keys, types, allowed values, validators). Returns 0, or
 * -1 with err = "<key>: <message>" for the first problem (the chain prefixes the alias). */
int smt_config_check(json_t *conf, const struct cfg_def *defs, char *err, size_t errlen);
/* A LIST key as trimmed items, empty ones dropped (Kafka's ConfigDef.Type.LIST). New array of
 * strings; an empty array when unset. */
json_t *smt_config_list(json_t *conf, const struct cfg_def *defs, const char *key);
/* 1 when the array of strings holds s. */
int smt_list_has(const json_t *list, const char *s);

/* ---- schemas ---- */

const char *smt_type(const json_t *schema); /* "" when absent */
const char *smt_name(const json_t *schema); /* NULL when absent */
int smt_optional(const json_t *schema);
int smt_is_logical(const json_t *schema, const char *logical);
/* The field entry (a schema plus "field") named name in a struct schema; borrowed or NULL. */
json_t *smt_field(const json_t *struct_schema, const char *name);
/* A field's own schema: a copy of the entry without its "field" key. New reference. */
json_t *smt_field_schema(const json_t *field);
/* A struct field entry: a copy of schema with "field": name set last. New reference. */
json_t *smt_field_entry(const json_t *schema, const char *name);
/* A new schema of type with src's name, version, doc and parameters (Kafka's
 * SchemaUtil.copySchemaBasics: "optional" is false, callers set it where Kafka does). For a
 * struct, fields (stolen, may be NULL) come right after "type". src may be NULL. */
json_t *smt_schema_basics(const json_t *src, const char *type, json_t *fields);
/* {"type":type,"optional":optional} plus name/version for a logical type (logical may be
 * NULL). */
json_t *smt_schema_simple(const char *type, int optional, const char *logical);
/* A shallow copy of schema with its keys in JsonConverter's order. New reference. */
json_t *smt_schema_canonical(const json_t *schema);
/* Sets "optional" on a schema built here (keeps its position). */
void smt_schema_set_optional(json_t *schema, int optional);

/* ---- Kafka's Requirements ---- */

/* requireMap / requireStruct: 0 when v fits, else -1 with Kafka's DataException message.
 * purpose is the transform's phrase ("field extraction"). */
int smt_require_map(const json_t *v, const char *purpose, char *err, size_t errlen);
int smt_require_struct(const json_t *schema, const json_t *v, const char *purpose, char *err,
                       size_t errlen);
/* The Java class Kafka would see for a value (for error messages): java.lang.Long, ... */
const char *smt_java_class(const json_t *schema, const json_t *v);

/* ---- values ---- */

/* Text of a value as SimpleHeaderConverter writes it (Values.convertToString): strings raw,
 * numbers as Java prints them, bytes base64, structs/maps/arrays as compact JSON. malloc'd
 * (caller frees), *len set; NULL for a null value. */
char *smt_value_text(const json_t *schema, const json_t *v, size_t *len);

/* ---- headers ---- */

/* Adds a header (value may be NULL for a null header) to r, creating the list if needed. */
void smt_header_add(struct cd_record *r, const char *name, const void *value, size_t len);

/* ---- Java regular expressions on POSIX regex ---- */

/* Compiles a Java regex for whole-string matching (Matcher.matches) as a POSIX extended regex;
 * \d and \D are translated, Java-only constructs such as (?:...) are refused. 0 or -1 with
 * err set. */
int smt_regex_compile(regex_t *re, const char *java_re, char *err, size_t errlen);
/* 1 when re matches the whole of s; fills up to nmatch groups (group 0 = whole). */
int smt_regex_matches(const regex_t *re, const char *s, size_t nmatch, regmatch_t *m);
/* Java's Matcher.replaceFirst after a whole match: $n and ${n} refer to groups, \x escapes.
 * malloc'd result. */
char *smt_regex_replace(const char *s, const regmatch_t *m, size_t nmatch, const char *repl);

/* ---- java.text.SimpleDateFormat, always in UTC ---- */

/* Checks a pattern; 0 or -1 with err naming the bad letter. */
int smt_datefmt_check(const char *pattern, char *err, size_t errlen);
/* Formats ms since the epoch. Writes a NUL-terminated string to out. */
void smt_datefmt_format(const char *pattern, int64_t ms, char *out, size_t n);
/* The length of the epoch-aligned periods over which the pattern's text stays the same:
 * 86400000 for date-only patterns, 1 when it shows milliseconds. */
int64_t smt_datefmt_period_ms(const char *pattern);
/* Parses text; 0 with *ms set, or -1 when text does not match the pattern. */
int smt_datefmt_parse(const char *pattern, const char *text, int64_t *ms);

/* Declares the $Key and $Value descriptors of a transform whose create takes the side. */
#define SMT_KEY_VALUE(var, simple, defs, create_fn, destroy_fn, apply_fn)                        \
    static void *var##_create_key(json_t *c, char *e, size_t n)                                  \
    {                                                                                            \
        return create_fn(c, SMT_KEY, e, n);                                                      \
    }                                                                                            \
    static void *var##_create_value(json_t *c, char *e, size_t n)                                \
    {                                                                                            \
        return create_fn(c, SMT_VALUE, e, n);                                                    \
    }                                                                                            \
    const struct transform_plugin var##_key_plugin = {                                           \
        .class_name = SMT_PKG simple "$Key", .config = defs, .create = var##_create_key,         \
        .destroy = destroy_fn, .apply = apply_fn};                                               \
    const struct transform_plugin var##_value_plugin = {                                         \
        .class_name = SMT_PKG simple "$Value", .config = defs, .create = var##_create_value,     \
        .destroy = destroy_fn, .apply = apply_fn}

/* Kafka's replace.null.with.default, accepted for compatibility: JsonConverter already puts a
 * field's default in place of a null when it reads the record, so false changes nothing. */
#define SMT_REPLACE_NULL_DEF                                                                     \
    {"replace.null.with.default", CFG_BOOLEAN, "true", 0, CFG_MEDIUM,                            \
     "Whether to replace fields that have a default value and that are null to the default "     \
     "value. connectd: JsonConverter already fills defaults when it reads a record, so false "   \
     "has no effect.", NULL, 0, NULL, NULL}

#define SMT_END_DEFS {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL}

#endif
