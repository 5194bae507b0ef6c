/* validate.c — see validate.h. Follows Kafka's AbstractHerder.validateConnectorConfig: the
 * common connector keys plus the plugin's own, one ConfigInfos entry per key, and the extra
 * cross-key checks of ConnectorConfig / SinkConnectorConfig. */
#include "validate.h"

#include "transform.h"
#include "connector_config.h"
#include "registry.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATE_MSG_MAX 1024

static const char *const validate_header_converters[] = {
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    NULL,
};

/* Appends a formatted message to errors[key] (created when missing). */
static void validate_add_error(json_t *errors, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void validate_add_error(json_t *errors, const char *key, const char *fmt, ...)
{
    char msg[VALIDATE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *arr = json_object_get(errors, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(errors, key, arr);
    }
    json_array_append_new(arr, json_string(msg));
}

/* Non-blank string value of key in conf, else NULL. Borrowed from conf. */
static const char *validate_value(json_t *conf, const char *key)
{
    const char *v = json_string_value(json_object_get(conf, key));
    if (!v)
        return NULL;
    for (const char *p = v; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return v;
    return NULL;
}

/* Number of messages in an errors object. */
static int validate_count(json_t *errors)
{
    const char *k;
    json_t *arr;
    int n = 0;
    json_object_foreach(errors, k, arr)
    {
        n += (int)json_array_size(arr);
    }
    return n;
}

/* Appends every message of src to dst. */
static void validate_merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *arr;
    json_object_foreach(src, k, arr)
    {
        size_t i;
        json_t *m;
        json_array_foreach(arr, i, m)
        {
            if (json_is_string(m))
                validate_add_error(dst, k, "%s", json_string_value(m));
        }
    }
}

/* Resolves connector.class; an unknown class is an error on connector.class (a missing one
 * is reported by the schema). Returns the plugin or NULL. */
static const struct connector_plugin *validate_class(json_t *conf, json_t *errors)
{
    const char *cls = validate_value(conf, "connector.class");
    if (!cls)
        return NULL;
    const struct connector_plugin *p = registry_find_connector(cls);
    if (p)
        return p;
    char avail[VALIDATE_MSG_MAX / 2];
    size_t n = 0;
    avail[0] = '\0';
    for (int i = 0; registry_connectors[i] && n < sizeof(avail); i++)
        n += (size_t)snprintf(avail + n, sizeof(avail) - n, "%s%s", i ? ", " : "",
                              registry_connectors[i]->class_name);
    validate_add_error(errors, "connector.class",
                       "Failed to find any class that implements Connector and which name "
                       "matches %s, available connectors are: %s",
                       cls, avail);
    return NULL;
}

static void validate_converters(json_t *conf, json_t *errors)
{
    static const char *const keys[] = {"key.converter", "value.converter", NULL};
    for (const char *const *k = keys; *k; k++) {
        const char *v = validate_value(conf, *k);
        if (v && !registry_find_converter(v))
            validate_add_error(errors, *k, "Class %s could not be found.", v);
    }
    const char *h = validate_value(conf, "header.converter");
    if (!h)
        return;
    for (const char *const *c = validate_header_converters; *c; c++)
        if (registry_name_matches(*c, NULL, h))
            return;
    if (registry_find_converter(h))
        validate_add_error(errors, "header.converter",
                           "Class %s is not supported as a header converter.", h);
    else
        validate_add_error(errors, "header.converter", "Class %s could not be found.", h);
}

/* Copies the next comma-separated item of *s, trimmed, into out; advances *s.
 * Returns 0 at the end of the list. */
static int validate_next_item(const char **s, char *out, size_t outlen)
{
    const char *p = *s;
    if (!p)
        return 0;
    const char *comma = strchr(p, ',');
    const char *end = comma ? comma : p + strlen(p);
    *s = comma ? comma + 1 : NULL;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - p);
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

/* Every alias in list key ("transforms"/"predicates") needs "<key>.<alias>.type", and an
 * alias appears once. Errors go on key itself. */
static void validate_aliases(json_t *conf, json_t *errors, const char *key)
{
    const char *list = validate_value(conf, key);
    char alias[256], prop[320];
    json_t *seen = json_object();
    while (validate_next_item(&list, alias, sizeof(alias))) {
        if (!*alias)
            continue;
        if (json_object_get(seen, alias)) {
            validate_add_error(errors, key,
                               "Invalid value %s for configuration %s: Duplicate "
                               "alias provided.",
                               json_string_value(json_object_get(conf, key)), key);
            continue;
        }
        json_object_set_new(seen, alias, json_true());
        snprintf(prop, sizeof(prop), "%s.%s.type", key, alias);
        if (!validate_value(conf, prop))
            validate_add_error(errors, key,
                               "Missing required configuration \"%s\" which has no default value.",
                               prop);
    }
    json_decref(seen);
}

/* "[a, b]" like Java's List.toString of the trimmed topics; 1 when dlq is among them. */
static int validate_topics_contain(const char *topics, const char *dlq, char *out, size_t outlen)
{
    char t[256];
    int found = 0;
    size_t n = (size_t)snprintf(out, outlen, "[");
    int first = 1;
    while (validate_next_item(&topics, t, sizeof(t))) {
        if (!*t)
            continue;
        found |= !strcmp(t, dlq);
        if (n < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", first ? "" : ", ", t);
        first = 0;
    }
    if (n < outlen)
        snprintf(out + n, outlen - n, "]");
    return found;
}

/* 1 when the whole of s matches regex re (unparsable regexes are left to the runtime). */
static int validate_regex_matches(const char *re, const char *s)
{
    regex_t rx;
    regmatch_t m;
    if (regcomp(&rx, re, REG_EXTENDED))
        return 0;
    int full = !regexec(&rx, s, 1, &m, 0) && m.rm_so == 0 && (size_t)m.rm_eo == strlen(s);
    regfree(&rx);
    return full;
}

/* SinkConnectorConfig.validate: exactly one of topics / topics.regex, and the DLQ topic is
 * not among the consumed topics. */
static void validate_sink_topics(json_t *conf, json_t *errors)
{
    const char *topics = validate_value(conf, "topics");
    const char *regex = validate_value(conf, "topics.regex");
    const char *dlq = validate_value(conf, "errors.deadletterqueue.topic.name");
    if (topics && regex) {
        static const char msg[] =
            "topics and topics.regex are mutually exclusive options, but both are set.";
        validate_add_error(errors, "topics", "%s", msg);
        validate_add_error(errors, "topics.regex", "%s", msg);
    }
    if (!topics && !regex) {
        static const char msg[] = "Must configure one of topics or topics.regex";
        validate_add_error(errors, "topics", "%s", msg);
        validate_add_error(errors, "topics.regex", "%s", msg);
    }
    if (!dlq)
        return;
    char list[VALIDATE_MSG_MAX / 2];
    if (topics && validate_topics_contain(topics, dlq, list, sizeof(list)))
        validate_add_error(errors, "topics",
                           "The DLQ topic '%s' may not be included in the list of topics "
                           "('topics=%s') consumed by the connector",
                           dlq, list);
    if (regex && validate_regex_matches(regex, dlq))
        validate_add_error(errors, "topics.regex",
                           "The DLQ topic '%s' may not be matched by the regex for the topics "
                           "consumed by the connector ('topics.regex=%s')",
                           dlq, regex);
}

/* The keys listed for plugin p (NULL = unknown plugin: common keys only): the base tables
 * then the plugin's own, each name once. Returns a malloc'd NULL-ended copy of the
 * definitions (strings borrowed from the static tables); caller frees. */
static struct cfg_def *validate_merged_defs(const struct connector_plugin *p)
{
    const struct cfg_def *tables[4] = {connector_common_defs, NULL, NULL, NULL};
    size_t nt = 1, total = 1;
    if (p) {
        const struct cfg_def *const *base = connector_base_schemas(p->type);
        for (nt = 0; base[nt] && nt < 2; nt++)
            tables[nt] = base[nt];
        tables[nt++] = p->config;
    }
    for (size_t t = 0; t < nt; t++)
        for (const struct cfg_def *d = tables[t]; d && d->name; d++)
            total++;
    struct cfg_def *out = calloc(total, sizeof(*out));
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t t = 0; t < nt; t++)
        for (const struct cfg_def *d = tables[t]; d && d->name; d++)
            if (!cfg_find(out, d->name))
                out[n++] = *d;
    return out;
}

/* Kafka's order_in_group: 1-based position among the keys listed so far in the same group,
 * -1 for keys without a group. counters: group -> count. */
static int validate_order(json_t *counters, const char *group)
{
    if (!group)
        return -1;
    json_int_t n = json_integer_value(json_object_get(counters, group)) + 1;
    json_object_set_new(counters, group, json_integer(n));
    return (int)n;
}

/* ConfigValueInfo for definition d. */
static json_t *validate_value_info(const struct cfg_def *d, json_t *conf, json_t *errors)
{
    const char *v = json_string_value(json_object_get(conf, d->name));
    v = v ? v : d->default_value;
    json_t *rec = json_array();
    for (const char *const *a = d->allowed; a && *a; a++)
        json_array_append_new(rec, json_string(*a));
    json_t *errs = json_object_get(errors, d->name);
    json_t *jv;
    if (!v)
        jv = json_null();
    else if (d->secret || d->type == CFG_PASSWORD)
        jv = json_string("[hidden]");
    else
        jv = json_string(v);
    return json_pack("{s:s s:o s:o s:o s:b}", "name", d->name, "value", jv, "recommended_values",
                     rec, "errors", errs ? json_incref(errs) : json_array(), "visible", 1);
}

/* Appends {"definition","value"} for d to configs and d's group to groups. */
static void validate_add_config(json_t *configs, json_t *groups, json_t *counters,
                                const struct cfg_def *d, json_t *conf, json_t *errors)
{
    json_t *def = cfg_def_to_json(d, validate_order(counters, d->group));
    json_array_append_new(configs, json_pack("{s:o s:o}", "definition", def, "value",
                                             validate_value_info(d, conf, errors)));
    size_t i;
    json_t *g;
    if (!d->group)
        return;
    json_array_foreach(groups, i, g)
    {
        if (!strcmp(json_string_value(g), d->group))
            return;
    }
    json_array_append_new(groups, json_string(d->group));
}

/* Builds the ConfigInfos object from the merged definitions and the errors. Keys with errors
 * that no table declares get an entry of their own so that no message is lost. */
static json_t *validate_result(const char *name, const struct cfg_def *defs, json_t *conf,
                               json_t *errors, int count)
{
    json_t *configs = json_array(), *groups = json_array(), *counters = json_object();
    for (const struct cfg_def *d = defs; d->name; d++)
        validate_add_config(configs, groups, counters, d, conf, errors);
    const char *k;
    json_t *arr;
    json_object_foreach(errors, k, arr)
    {
        if (cfg_find(defs, k))
            continue;
        struct cfg_def extra = {.name = k, .type = CFG_STRING, .importance = CFG_LOW, .doc = ""};
        validate_add_config(configs, groups, counters, &extra, conf, errors);
    }
    json_decref(counters);
    return json_pack("{s:s? s:i s:o s:o}", "name", name, "error_count", count, "groups", groups,
                     "configs", configs);
}

json_t *connector_validate(json_t *conf, int *error_count)
{
    json_t *errors = json_object(), *result = NULL;
    const struct connector_plugin *p = validate_class(conf, errors);
    struct cfg_def *defs = validate_merged_defs(p);
    if (!defs)
        goto out;
    cfg_validate(conf, defs, errors);
    validate_converters(conf, errors);
    validate_aliases(conf, errors, "transforms");
    validate_aliases(conf, errors, "predicates");
    /* Each transform's type and own keys, once the alias lists themselves are sound. */
    if (!json_object_get(errors, "transforms") && !json_object_get(errors, "predicates"))
        transform_chain_validate(conf, errors);
    if (p && p->type == PLUGIN_SINK)
        validate_sink_topics(conf, errors);
    if (p && p->validate) {
        json_t *own = json_object();
        if (!cfg_validate(conf, p->config, own)) {
            p->validate(conf, own);
            validate_merge(errors, own);
        }
        json_decref(own);
    }
    int count = validate_count(errors);
    if (error_count)
        *error_count = count;
    result = validate_result(json_string_value(json_object_get(conf, "connector.class")), defs,
                             conf, errors, count);
out:
    free(defs);
    json_decref(errors);
    return result;
}

/* Appends '\n' + every error message of result to buf (grown with realloc). */
static char *validate_append_errors(char *buf, size_t *len, json_t *result)
{
    size_t i, j;
    json_t *c, *m;
    json_array_foreach(json_object_get(result, "configs"), i, c)
    {
        json_array_foreach(json_object_get(json_object_get(c, "value"), "errors"), j, m)
        {
            const char *s = json_string_value(m);
            size_t sl = s ? strlen(s) : 0;
            char *nb = realloc(buf, *len + sl + 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            buf[(*len)++] = '\n';
            memcpy(buf + *len, s ? s : "", sl);
            *len += sl;
            buf[*len] = '\0';
        }
    }
    return buf;
}

char *connector_validate_message(json_t *conf)
{
    static const char tail[] = "\nYou can also find the above list of errors at the endpoint "
                               "`/connector-plugins/{connectorType}/config/validate`";
    int count = 0;
    char *buf = NULL, *nb;
    json_t *result = connector_validate(conf, &count);
    if (!result || !count)
        goto out;
    char head[128];
    size_t len = (size_t)snprintf(head, sizeof(head),
                                  "Connector configuration is invalid and "
                                  "contains the following %d error(s):",
                                  count);
    buf = strdup(head);
    if (!buf)
        goto out;
    buf = validate_append_errors(buf, &len, result);
    if (!buf)
        goto out;
    nb = realloc(buf, len + sizeof(tail));
    if (!nb) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf = nb;
    memcpy(buf + len, tail, sizeof(tail));
out:
    json_decref(result);
    return buf;
}

json_t *connector_plugin_config(const struct connector_plugin *p)
{
    json_t *out = json_array(), *counters = json_object();
    const struct cfg_def *const *base = connector_base_schemas(p->type);
    const struct cfg_def *tables[4] = {p->config, base[0], base[0] ? base[1] : NULL, NULL};
    for (int t = 0; t < 3; t++)
        for (const struct cfg_def *d = tables[t]; d && d->name; d++) {
            int dup = 0;
            for (int u = 0; u < t && !dup; u++)
                dup = cfg_find(tables[u], d->name) != NULL;
            if (!dup)
                json_array_append_new(out, cfg_def_to_json(d, validate_order(counters, d->group)));
        }
    json_decref(counters);
    return out;
}
