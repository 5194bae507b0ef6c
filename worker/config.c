/* config.c — see config.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cfg_type_name(enum cfg_type t)
{
    static const char *names[] = {"STRING", "INT",  "LONG",  "DOUBLE",
                                  "BOOLEAN", "LIST", "CLASS", "PASSWORD"};
    return t <= CFG_PASSWORD ? names[t] : "STRING";
}

const char *cfg_importance_name(enum cfg_importance i)
{
    static const char *names[] = {"HIGH", "MEDIUM", "LOW"};
    return i <= CFG_LOW ? names[i] : "LOW";
}

const struct cfg_def *cfg_find(const struct cfg_def *defs, const char *name)
{
    for (; defs && defs->name; defs++)
        if (!strcmp(defs->name, name))
            return defs;
    return NULL;
}

const char *cfg_get_str(json_t *conf, const struct cfg_def *defs, const char *name)
{
    const char *v = conf ? json_string_value(json_object_get(conf, name)) : NULL;
    if (v)
        return v;
    const struct cfg_def *d = cfg_find(defs, name);
    return d ? d->default_value : NULL;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(s, "false")) {
        *out = 0;
        return 0;
    }
    return -1;
}

int64_t cfg_get_int(json_t *conf, const struct cfg_def *defs, const char *name, int64_t dflt)
{
    const char *s = cfg_get_str(conf, defs, name);
    int64_t v;
    return s && !parse_int(s, &v) ? v : dflt;
}

double cfg_get_double(json_t *conf, const struct cfg_def *defs, const char *name, double dflt)
{
    const char *s = cfg_get_str(conf, defs, name);
    double v;
    return s && !parse_double(s, &v) ? v : dflt;
}

int cfg_get_bool(json_t *conf, const struct cfg_def *defs, const char *name, int dflt)
{
    const char *s = cfg_get_str(conf, defs, name);
    int v;
    return s && !parse_bool(s, &v) ? v : dflt;
}

static int check_allowed(const struct cfg_def *d, const char *value, char *err, size_t errlen)
{
    if (!d->allowed)
        return 0;
    for (const char *const *a = d->allowed; *a; a++)
        if (!strcasecmp(*a, value))
            return 0;
    size_t n = (size_t)snprintf(err, errlen,
                                "Invalid value %s for configuration %s: String must be one of: ",
                                value, d->name);
    for (const char *const *a = d->allowed; *a && n < errlen; a++)
        n += (size_t)snprintf(err + n, errlen - n, "%s%s", a == d->allowed ? "" : ", ", *a);
    return -1;
}

int cfg_check_value(const struct cfg_def *d, const char *value, char *err, size_t errlen)
{
    int64_t i;
    double dv;
    int b;
    switch (d->type) {
    case CFG_INT:
    case CFG_LONG:
        if (parse_int(value, &i) ||
            (d->type == CFG_INT && (i < INT32_MIN || i > INT32_MAX))) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: Not a number of type %s",
                     value, d->name, cfg_type_name(d->type));
            return -1;
        }
        break;
    case CFG_DOUBLE:
        if (parse_double(value, &dv)) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: Not a number of type DOUBLE",
                     value, d->name);
            return -1;
        }
        break;
    case CFG_BOOLEAN:
        if (parse_bool(value, &b)) {
            snprintf(err, errlen,
                     "Invalid value %s for configuration %s: Expected value to be either true or false",
                     value, d->name);
            return -1;
        }
        break;
    default:
        break;
    }
    if (check_allowed(d, value, err, errlen))
        return -1;
    if (d->validator && d->validator(value, err, errlen))
        return -1;
    return 0;
}

static void add_error(json_t *errors, const char *key, const char *msg)
{
    json_t *arr = json_object_get(errors, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(errors, key, arr);
    }
    json_array_append_new(arr, json_string(msg));
}

int cfg_validate(json_t *conf, const struct cfg_def *defs, json_t *errors)
{
    int n = 0;
    char err[512];
    for (const struct cfg_def *d = defs; d && d->name; d++) {
        json_t *jv = json_object_get(conf, d->name);
        const char *v = json_string_value(jv);
        if (!v || !*v) {
            if (d->required && !(v && d->type == CFG_STRING && d->default_value)) {
                snprintf(err, sizeof(err), "Missing required configuration \"%s\" which has no default value.",
                         d->name);
                add_error(errors, d->name, err);
                n++;
            }
            continue;
        }
        if (cfg_check_value(d, v, err, sizeof(err))) {
            add_error(errors, d->name, err);
            n++;
        }
    }
    return n;
}

int cfg_is_secret(const char *key, const struct cfg_def *const *schemas)
{
    for (; schemas && *schemas; schemas++) {
        const struct cfg_def *d = cfg_find(*schemas, key);
        if (d && (d->secret || d->type == CFG_PASSWORD))
            return 1;
    }
    static const char *words[] = {"password", "secret", "token", "private.key", "passphrase",
                                  "sasl.jaas", "credentials", NULL};
    for (const char **w = words; *w; w++)
        if (strstr(key, *w))
            return 1;
    return 0;
}

json_t *cfg_def_to_json(const struct cfg_def *d, int order)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(d->name));
    json_object_set_new(j, "type", json_string(cfg_type_name(d->type)));
    json_object_set_new(j, "required", json_boolean(d->required));
    json_object_set_new(j, "default_value",
                        d->default_value ? json_string(d->default_value) : json_null());
    json_object_set_new(j, "importance", json_string(cfg_importance_name(d->importance)));
    json_object_set_new(j, "documentation", json_string(d->doc ? d->doc : ""));
    json_object_set_new(j, "group", d->group ? json_string(d->group) : json_null());
    json_object_set_new(j, "order", json_integer(order));
    json_object_set_new(j, "width", json_string("NONE"));
    json_object_set_new(j, "display_name", json_string(d->name));
    json_object_set_new(j, "dependents", json_array());
    return j;
}

json_t *cfg_stringify(json_t *obj, char *err, size_t errlen)
{
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "configuration must be a JSON object");
        return NULL;
    }
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        json_t *s = NULL;
        char buf[64];
        if (json_is_string(v))
            s = json_incref(v);
        else if (json_is_null(v))
            s = json_null();
        else if (json_is_integer(v)) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = json_string(buf);
        } else if (json_is_real(v)) {
            snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
            s = json_string(buf);
        } else if (json_is_boolean(v))
            s = json_string(json_is_true(v) ? "true" : "false");
        else {
            snprintf(err, errlen, "value of configuration key '%s' must be a string, number or boolean", k);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, k, s);
    }
    return out;
}
