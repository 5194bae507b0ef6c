/* smt_extractfield.c — org.apache.kafka.connect.transforms.ExtractField$Key / $Value: the key
 * or value becomes the named field of its struct (schema) or map (schemaless). Null passes
 * through. field.syntax.version=V2 reads nested fields with a dotted path (`a.b`, backticks
 * around names that hold dots). */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const syntax_versions[] = {"V1", "V2", NULL};

static const struct cfg_def ef_defs[] = {
    {"field", CFG_STRING, NULL, 1, CFG_MEDIUM, "Field name to extract.", NULL, 0, NULL, NULL},
    SMT_REPLACE_NULL_DEF,
    {"field.syntax.version", CFG_STRING, "V1", 0, CFG_HIGH,
     "Defines the version of the syntax to access fields. V1: only fields at the root; V2: "
     "nested fields with dotted notation, backticks around names that contain dots.", NULL, 0,
     syntax_versions, NULL},
    SMT_END_DEFS,
};

struct ef {
    enum smt_side side;
    char *path;   /* as configured, for messages */
    json_t *steps; /* array of field names */
};

/* Kafka's SingleFieldPath V2: dot-separated steps; `a.b` quotes a step that contains dots,
 * \` escapes a backtick inside one. -1 with err on an unclosed backtick. */
static json_t *path_v2(const char *path, char *err, size_t errlen)
{
    json_t *steps = json_array();
    size_t len = strlen(path), i = 0;
    while (i < len) {
        if (path[i] != '`') {
            const char *dot = strchr(path + i, '.');
            size_t end = dot ? (size_t)(dot - path) : len;
            json_array_append_new(steps, json_stringn(path + i, end - i));
            i = dot ? end + 1 : len;
            continue;
        }
        size_t at = i++;
        char *field = calloc(1, len + 1);
        size_t fl = 0, start = i;
        for (;;) {
            const char *bt = strchr(path + i, '`');
            if (!bt) {
                snprintf(err, errlen, "field: Incomplete backtick pair in path: [%s], consider "
                         "adding a backslash before backtick at position %zu to escape it",
                         path, at);
                free(field);
                json_decref(steps);
                return NULL;
            }
            i = (size_t)(bt - path);
            int escaped = path[i - 1] == '\\';
            if (i >= len - 1 && !escaped) { /* closing backtick at the very end */
                memcpy(field + fl, path + start, i - start);
                fl += i - start;
                i++;
                break;
            }
            if (i >= len - 1 || path[i + 1] != '.') {
                if (i >= len - 1) { /* escaped backtick at the end: unclosed */
                    snprintf(err, errlen, "field: Incomplete backtick pair in path: [%s], "
                             "consider adding a backslash before backtick at position %zu to "
                             "escape it", path, at);
                    free(field);
                    json_decref(steps);
                    return NULL;
                }
                i++;
                continue;
            }
            if (escaped) {
                memcpy(field + fl, path + start, i - 1 - start);
                fl += i - 1 - start;
                field[fl++] = '`';
                start = ++i;
                continue;
            }
            memcpy(field + fl, path + start, i - start);
            fl += i - start;
            i += 2;
            break;
        }
        json_array_append_new(steps, json_stringn(field, fl));
        free(field);
    }
    if (len && path[len - 1] == '.')
        json_array_append_new(steps, json_string(""));
    return steps;
}

static void ef_destroy(void *state)
{
    struct ef *e = state;
    free(e->path);
    json_decref(e->steps);
    free(e);
}

static void *ef_create(json_t *conf, enum smt_side side, char *err, size_t errlen)
{
    if (smt_config_check(conf, ef_defs, err, errlen))
        return NULL;
    const char *path = cfg_get_str(conf, ef_defs, "field");
    json_t *steps;
    if (!strcasecmp(cfg_get_str(conf, ef_defs, "field.syntax.version"), "V2"))
        steps = path_v2(path, err, errlen);
    else
        steps = json_pack("[s]", path);
    if (!steps)
        return NULL;
    struct ef *e = calloc(1, sizeof(*e));
    e->side = side;
    e->path = strdup(path);
    e->steps = steps;
    return e;
}

static int ef_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct ef *e = state;
    struct cd_data *d = smt_operand(r, e->side);
    size_t n = json_array_size(e->steps);
    json_t *schema = d->schema, *v = d->value;
    if (!schema) {
        for (size_t i = 0; i < n && v && !json_is_null(v); i++) {
            if (smt_require_map(v, i ? "nested field access" : "field extraction", err, errlen))
                return -1;
            v = json_object_get(v, json_string_value(json_array_get(e->steps, i)));
        }
        smt_data_set(d, NULL, v && !json_is_null(v) ? json_incref(v) : NULL);
        return 1;
    }
    if (v && !json_is_null(v) && smt_require_struct(schema, v, "field extraction", err, errlen))
        return -1;
    json_t *field = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *step = json_string_value(json_array_get(e->steps, i));
        field = smt_field(schema, step);
        if (!field) {
            snprintf(err, errlen, "Unknown field: %s", e->path);
            return -1;
        }
        if (v && !json_is_null(v) && i > 0 &&
            smt_require_struct(schema, v, "nested field access", err, errlen))
            return -1;
        v = v ? json_object_get(v, step) : NULL;
        schema = field;
    }
    smt_data_set(d, smt_field_schema(field), v && !json_is_null(v) ? json_incref(v) : NULL);
    return 1;
}

SMT_KEY_VALUE(smt_extractfield, "ExtractField", ef_defs, ef_create, ef_destroy, ef_apply);
