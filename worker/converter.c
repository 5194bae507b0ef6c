/* converter.c — converter instances from connector/worker configs, and Java-style text. */
#include "converter.h"

#include "conv_util.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "<which>." keys of conf with the prefix stripped, checked against the plugin's table. */
static json_t *own_keys(json_t *conf, const char *which, const struct converter_plugin *p,
                        char *err, size_t errlen)
{
    json_t *own = json_object();
    size_t wl = strlen(which);
    const char *k;
    json_t *v;
    json_object_foreach(conf, k, v) {
        if (strncmp(k, which, wl) || k[wl] != '.' || !json_is_string(v))
            continue;
        const struct cfg_def *d = cfg_find(p->config, k + wl + 1);
        char e[512];
        if (d && cfg_check_value(d, json_string_value(v), e, sizeof(e))) {
            snprintf(err, errlen, "Invalid value %s for configuration %s: %s",
                     json_string_value(v), k, e);
            json_decref(own);
            return NULL;
        }
        json_object_set(own, k + wl + 1, v);
    }
    return own;
}

struct converter *converter_new(json_t *conn_conf, json_t *worker_conf, const char *which,
                                char *err, size_t errlen)
{
    json_t *src = conn_conf;
    const char *cls = json_string_value(json_object_get(conn_conf, which));
    if (!cls || !*cls) {
        src = worker_conf;
        cls = json_string_value(json_object_get(worker_conf, which));
    }
    if (!cls || !*cls)
        cls = "org.apache.kafka.connect.json.JsonConverter"; /* the worker's default */
    const struct converter_plugin *p = registry_find_converter(cls);
    if (!p) {
        snprintf(err, errlen, "Invalid value %s for configuration %s: Class %s could not be found.",
                 cls, which, cls);
        return NULL;
    }
    json_t *own = own_keys(src, which, p, err, errlen);
    if (!own)
        return NULL;
    char e[512] = "";
    void *state = p->create(own, !strcmp(which, "key.converter"), e, sizeof(e));
    json_decref(own);
    if (!state) {
        snprintf(err, errlen, "%s: %s", which, e);
        return NULL;
    }
    struct converter *c = calloc(1, sizeof(*c));
    c->plugin = p;
    c->state = state;
    return c;
}

void converter_free(struct converter *c)
{
    if (!c)
        return;
    c->plugin->destroy(c->state);
    free(c);
}

struct tbuf {
    char *p;
    size_t len, cap;
};

static void tb_put(struct tbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 128;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void tb_str(struct tbuf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

static void text_of(struct tbuf *b, const json_t *schema, const json_t *v);

static void text_struct(struct tbuf *b, const json_t *schema, const json_t *v)
{
    tb_str(b, "Struct{");
    json_t *f;
    size_t i;
    int first = 1;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        json_t *fv = json_object_get(v, name);
        if (!name || !fv || json_is_null(fv))
            continue; /* Java's Struct.toString skips null fields */
        if (!first)
            tb_str(b, ",");
        first = 0;
        tb_str(b, name);
        tb_str(b, "=");
        text_of(b, f, fv);
    }
    tb_str(b, "}");
}

static void text_of(struct tbuf *b, const json_t *schema, const json_t *v)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    char num[64];
    if (t && !strcmp(t, "struct") && json_is_object(v)) {
        text_struct(b, schema, v);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        int first = 1;
        tb_str(b, "{");
        json_object_foreach((json_t *)v, k, x) {
            tb_str(b, first ? "" : ", ");
            first = 0;
            tb_str(b, k);
            tb_str(b, "=");
            text_of(b, json_object_get(schema, "values"), x);
        }
        tb_str(b, "}");
    } else if (json_is_array(v)) {
        tb_str(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            tb_str(b, i ? ", " : "");
            text_of(b, json_object_get(schema, "items"), json_array_get(v, i));
        }
        tb_str(b, "]");
    } else if (json_is_string(v)) {
        tb_put(b, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        tb_put(b, num, cd_int_text(num, json_integer_value(v))); /* printf: a tenth of a sink */
    } else if (json_is_real(v)) {
        java_double(json_real_value(v), num, sizeof(num));
        tb_str(b, num);
    } else {
        tb_str(b, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
    }
}

char *cd_data_to_text(const struct cd_data *d, size_t *len)
{
    struct tbuf b = {0};
    tb_put(&b, "", 0);
    text_of(&b, d->schema, d->value);
    *len = b.len;
    return b.p;
}
