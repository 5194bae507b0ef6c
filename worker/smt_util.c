/* smt_util.c — helpers shared by the built-in transforms (see smt_util.h). */
#include "smt_util.h"

#include "conv_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smt_data_set(struct cd_data *d, json_t *schema, json_t *value)
{
    cd_data_clear(d);
    d->schema = schema;
    d->value = value;
}

json_t *smt_writable(json_t *v)
{
    /* a copy per transform was most of a chain's cost: five made a sink 70% slower */
    return v && v->refcount == 1 ? json_incref(v) : json_copy(v);
}

void smt_set_at(json_t *obj, void *at, const char *key, json_t *v)
{
    if (at)
        json_object_iter_set_new(obj, at, v);
    else
        json_object_set_new(obj, key, v);
}

/* ---------------- config ---------------- */

int smt_config_check(json_t *conf, const struct cfg_def *defs, char *err, size_t errlen)
{
    json_t *errors = json_object();
    int n = cfg_validate(conf, defs, errors);
    if (n) {
        /* The first key of the schema that has an error, so the message is stable. */
        for (const struct cfg_def *d = defs; d->name; d++) {
            json_t *msgs = json_object_get(errors, d->name);
            if (msgs) {
                const char *m = json_string_value(json_array_get(msgs, 0));
                /* Validators give the reason only; Kafka's ConfigException form adds the rest. */
                if (!strncmp(m, "Invalid value", 13) || !strncmp(m, "Missing required", 16))
                    snprintf(err, errlen, "%s: %s", d->name, m);
                else
                    snprintf(err, errlen, "%s: Invalid value %s for configuration %s: %s",
                             d->name, json_string_value(json_object_get(conf, d->name)), d->name,
                             m);
                break;
            }
        }
    }
    json_decref(errors);
    return n ? -1 : 0;
}

json_t *smt_config_list(json_t *conf, const struct cfg_def *defs, const char *key)
{
    json_t *out = json_array();
    const char *s = cfg_get_str(conf, defs, key);
    while (s && *s) {
        size_t len = strcspn(s, ",");
        const char *b = s, *e = s + len;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b)
            json_array_append_new(out, json_stringn(b, (size_t)(e - b)));
        s += len;
        if (*s == ',')
            s++;
    }
    return out;
}

int smt_list_has(const json_t *list, const char *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (!strcmp(json_string_value(x), s)) return 1;
    return 0;
}

/* ---------------- schemas ---------------- */

const char *smt_type(const json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t ? t : "";
}

const char *smt_name(const json_t *schema)
{
    return json_string_value(json_object_get(schema, "name"));
}

int smt_optional(const json_t *schema)
{
    return json_is_true(json_object_get(schema, "optional"));
}

int smt_is_logical(const json_t *schema, const char *logical)
{
    const char *n = smt_name(schema);
    return n && !strcmp(n, logical);
}

json_t *smt_field(const json_t *struct_schema, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(struct_schema, "fields"), i, f) {
        const char *fn = json_string_value(json_object_get(f, "field"));
        if (fn && !strcmp(fn, name))
            return f;
    }
    return NULL;
}

json_t *smt_field_schema(const json_t *field)
{
    json_t *s = json_copy((json_t *)field);
    json_object_del(s, "field");
    return s;
}

json_t *smt_field_entry(const json_t *schema, const char *name)
{
    json_t *s = json_copy((json_t *)schema);
    json_object_del(s, "field");
    json_object_set_new(s, "field", json_string(name));
    return s;
}

json_t *smt_schema_basics(const json_t *src, const char *type, json_t *fields)
{
    json_t *s = json_object();
    json_object_set_new(s, "type", json_string(type));
    if (!strcmp(type, "struct"))
        json_object_set_new(s, "fields", fields ? fields : json_array());
    else if (fields)
        json_decref(fields);
    json_object_set_new(s, "optional", json_false()); /* copySchemaBasics leaves it out */
    static const char *const basics[] = {"name", "version", "doc", "parameters", NULL};
    for (int i = 0; basics[i]; i++) {
        json_t *v = json_object_get(src, basics[i]);
        if (v && !json_is_null(v))
            json_object_set(s, basics[i], v);
    }
    return s;
}

json_t *smt_schema_simple(const char *type, int optional, const char *logical)
{
    json_t *s = json_pack("{s:s s:b}", "type", type, "optional", optional);
    if (logical) {
        json_object_set_new(s, "name", json_string(logical));
        json_object_set_new(s, "version", json_integer(1));
    }
    return s;
}

json_t *smt_schema_canonical(const json_t *schema)
{
    static const char *const order[] = {"type",    "items", "keys", "values",     "fields",
                                        "optional", "name", "version", "doc", "parameters",
                                        "default", "field", NULL};
    json_t *out = json_object(), *v;
    const char *k;
    for (int i = 0; order[i]; i++)
        if ((v = json_object_get(schema, order[i])))
            json_object_set(out, order[i], v);
    json_object_foreach((json_t *)schema, k, v) if (!json_object_get(out, k))
        json_object_set(out, k, v);
    return out;
}

void smt_schema_set_optional(json_t *schema, int optional)
{
    json_object_set_new(schema, "optional", json_boolean(optional));
}

/* ---------------- Requirements ---------------- */

const char *smt_java_class(const json_t *schema, const json_t *v)
{
    if (!v || json_is_null(v))
        return "null";
    if (schema) {
        const char *t = smt_type(schema);
        if (smt_is_logical(schema, DECIMAL_LOGICAL))
            return "java.math.BigDecimal";
        if (smt_is_logical(schema, DATE_LOGICAL) || smt_is_logical(schema, TIME_LOGICAL) ||
            smt_is_logical(schema, TIMESTAMP_LOGICAL))
            return "java.util.Date";
        static const char *const map[][2] = {
            {"int8", "java.lang.Byte"},     {"int16", "java.lang.Short"},
            {"int32", "java.lang.Integer"}, {"int64", "java.lang.Long"},
            {"float", "java.lang.Float"},   {"double", "java.lang.Double"},
            {"boolean", "java.lang.Boolean"}, {"string", "java.lang.String"},
            {"bytes", "[B"},                {"array", "java.util.ArrayList"},
            {"map", "java.util.HashMap"},   {"struct", "org.apache.kafka.connect.data.Struct"},
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (!strcmp(t, map[i][0]))
                return map[i][1];
    }
    /* Schemaless JSON as JsonConverter reads it. */
    if (json_is_integer(v))
        return "java.lang.Long";
    if (json_is_real(v))
        return "java.lang.Double";
    if (json_is_string(v))
        return "java.lang.String";
    if (json_is_boolean(v))
        return "java.lang.Boolean";
    if (json_is_array(v))
        return "java.util.ArrayList";
    return "java.util.HashMap";
}

int smt_require_map(const json_t *v, const char *purpose, char *err, size_t errlen)
{
    if (json_is_object(v))
        return 0;
    snprintf(err, errlen, "Only Map objects supported in absence of schema for [%s], found: %s",
             purpose, smt_java_class(NULL, v));
    return -1;
}

int smt_require_struct(const json_t *schema, const json_t *v, const char *purpose, char *err,
                       size_t errlen)
{
    if (!strcmp(smt_type(schema), "struct") && json_is_object(v))
        return 0;
    snprintf(err, errlen, "Only Struct objects supported for [%s], found: %s", purpose,
             smt_java_class(schema, v));
    return -1;
}

/* ---------------- values ---------------- */

char *smt_value_text(const json_t *schema, const json_t *v, size_t *len)
{
    char buf[64];
    *len = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v)) {
        if (!strcmp(smt_type(schema), "bytes") && !smt_is_logical(schema, DECIMAL_LOGICAL))
            return b64_encode((const unsigned char *)json_string_value(v), json_string_length(v),
                              len);
        *len = json_string_length(v);
        char *s = malloc(*len + 1);
        memcpy(s, json_string_value(v), *len + 1);
        return s;
    }
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        java_double(json_real_value(v), buf, sizeof(buf));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    else
        return json_compact(v, len);
    *len = strlen(buf);
    return strdup(buf);
}

/* ---------------- headers ---------------- */

void smt_header_add(struct cd_record *r, const char *name, const void *value, size_t len)
{
    if (!r->headers)
        r->headers = rd_kafka_headers_new(4);
    rd_kafka_header_add(r->headers, name, -1, value, value ? (ssize_t)len : 0);
}

/* ---------------- regular expressions ---------------- */

/* Appends Java regex src translated to POSIX ERE to out (size n). -1 on a construct POSIX
 * lacks. */
static int regex_translate(const char *src, char *out, size_t n)
{
    size_t o = 0;
    int in_bracket = 0;
#define PUT(s)                                                                                   \
    do {                                                                                         \
        size_t l_ = strlen(s);                                                                   \
        if (o + l_ >= n)                                                                         \
            return -1;                                                                           \
        memcpy(out + o, s, l_);                                                                  \
        o += l_;                                                                                 \
    } while (0)
    for (const char *p = src; *p; p++) {
        char one[3] = {p[0], 0, 0};
        if (*p == '\\' && p[1]) {
            char c = *++p;
            static const char *const cls[][3] = {
                {"d", "[0-9]", "0-9"},
                {"D", "[^0-9]", NULL},
                {"s", "[[:space:]]", "[:space:]"},
                {"S", "[^[:space:]]", NULL},
                {"w", "[[:alnum:]_]", "[:alnum:]_"},
                {"W", "[^[:alnum:]_]", NULL},
            };
            const char *rep = NULL;
            int known = 0;
            for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
                if (c == cls[i][0][0]) {
                    known = 1;
                    rep = cls[i][in_bracket ? 2 : 1];
                }
            if (known && !rep)
                return -1;
            if (rep) {
                PUT(rep);
            } else if (in_bracket) { /* POSIX brackets have no escapes: the char itself */
                one[0] = c;
                PUT(one);
            } else {
                one[0] = '\\';
                one[1] = c;
                PUT(one);
            }
            continue;
        }
        if (!in_bracket && *p == '(' && p[1] == '?')
            return -1;
        if (!in_bracket && *p == '[') {
            in_bracket = 1;
            PUT("[");
            if (p[1] == '^') {
                PUT("^");
                p++;
            }
            if (p[1] == ']') {
                PUT("]");
                p++;
            }
            continue;
        }
        if (in_bracket && *p == ']')
            in_bracket = 0;
        PUT(one);
    }
    out[o] = '\0';
    return 0;
#undef PUT
}

int smt_regex_compile(regex_t *re, const char *java_re, char *err, size_t errlen)
{
    size_t n = strlen(java_re) * 12 + 16;
    char *posix = malloc(n);
    memcpy(posix, "^(", 2);
    int rc = regex_translate(java_re, posix + 2, n - 4);
    if (rc) {
        snprintf(err, errlen, "entry must be a Java-compatible regular expression supported by "
                 "connectd (POSIX extended syntax plus \\d, \\s, \\w): %s", java_re);
        free(posix);
        return -1;
    }
    strcat(posix, ")$");
    rc = regcomp(re, posix, REG_EXTENDED);
    free(posix);
    if (rc) {
        char msg[256];
        regerror(rc, re, msg, sizeof(msg));
        snprintf(err, errlen, "entry must be a Java-compatible regular expression: %s", msg);
        return -1;
    }
    return 0;
}

int smt_regex_matches(const regex_t *re, const char *s, size_t nmatch, regmatch_t *m)
{
    regmatch_t all[11];
    if (regexec(re, s, 11, all, 0))
        return 0;
    /* all[1] is the wrapping group, i.e. the whole match; user group k is all[k + 1]. */
    for (size_t i = 0; i < nmatch && i < 10; i++)
        m[i] = all[i ? i + 1 : 0];
    return 1;
}

char *smt_regex_replace(const char *s, const regmatch_t *m, size_t nmatch, const char *repl)
{
    size_t cap = strlen(s) + strlen(repl) + 64, o = 0;
    char *out = malloc(cap);
    for (const char *p = repl; *p; p++) {
        const char *add = p;
        size_t alen = 1;
        if (*p == '\\' && p[1]) {
            add = ++p;
        } else if (*p == '$' && (p[1] == '{' || (p[1] >= '0' && p[1] <= '9'))) {
            int braces = p[1] == '{';
            size_t g;
            if (braces) {
                g = (size_t)strtoul(p + 2, (char **)&p, 10);
                if (*p != '}')
                    p--;
            } else {
                /* Java: the first digit always counts, further ones while the group exists. */
                g = (size_t)(*++p - '0');
                while (p[1] >= '0' && p[1] <= '9' && g * 10 + (size_t)(p[1] - '0') < nmatch &&
                       m[g * 10 + (size_t)(p[1] - '0')].rm_so >= 0)
                    g = g * 10 + (size_t)(*++p - '0');
            }
            alen = 0;
            if (g < nmatch && m[g].rm_so >= 0) {
                add = s + m[g].rm_so;
                alen = (size_t)(m[g].rm_eo - m[g].rm_so);
            }
        }
        if (o + alen + 1 > cap) {
            cap = (o + alen + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + o, add, alen);
        o += alen;
    }
    out[o] = '\0';
    return out;
}
