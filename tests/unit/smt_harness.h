/* smt_harness.h — runs a connector config's transform chain on one record the way a sink task
 * does: key and value bytes go through the real JsonConverter (schemas.enable as asked), the
 * chain runs, and the result is written back by JsonConverter, so tests compare the exact
 * bytes Kafka Connect would produce. Included by the tests/unit/test_smt_*.c files. */
#ifndef SMT_HARNESS_H
#define SMT_HARNESS_H

/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "registry.h"
#include "transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct smt_in {
    const char *const *conf; /* "key", "value", ... pairs, NULL-ended */
    int schemas;             /* JsonConverter schemas.enable for key and value */
    const char *key;         /* JSON text or NULL */
    const char *value;       /* JSON text or NULL (tombstone) */
    const char *topic;       /* default "test" */
    int32_t partition;
    int64_t offset;    /* -1 = a source record */
    int64_t timestamp; /* -1 = none */
    const char *const *headers; /* name, value pairs, NULL-ended */
};

struct smt_out {
    int rc;          /* 1 kept, 0 dropped, -1 failed, -2 bad config */
    char err[1024];  /* the chain's message when rc < 0 */
    char key[4096];  /* JsonConverter output ("null" for a null) */
    char value[4096];
    char topic[256];
    rd_kafka_headers_t *headers; /* owned; smt_out_free */
};

static inline json_t *smt_conf(const char *const *kv)
{
    json_t *c = json_object();
    for (; kv && kv[0]; kv += 2)
        json_object_set_new(c, kv[0], json_string(kv[1]));
    return c;
}

static inline void smt_write(const struct converter_plugin *jp, void *conv, const char *topic,
                      struct cd_data *d, char *out, size_t n)
{
    void *buf;
    size_t len;
    char err[512];
    if (jp->from_connect(conv, topic, d, &buf, &len, err, sizeof(err)))
        fail_msg("JsonConverter could not write the result: %s", err);
    snprintf(out, n, "%.*s", buf ? (int)len : 4, buf ? (const char *)buf : "null");
    free(buf);
}

static inline void smt_read(const struct converter_plugin *jp, void *conv, const char *topic,
                     const char *text, struct cd_data *d)
{
    char err[512];
    if (jp->to_connect(conv, topic, text, text ? strlen(text) : 0, d, err, sizeof(err)))
        fail_msg("JsonConverter could not read %s: %s", text, err);
}

static inline struct smt_out smt_run(const struct smt_in *in)
{
    struct smt_out o;
    memset(&o, 0, sizeof(o));
    const struct converter_plugin *jp = registry_find_converter("JsonConverter");
    json_t *cc = json_pack("{s:s}", "schemas.enable", in->schemas ? "true" : "false");
    char err[512];
    void *conv = jp->create(cc, 0, err, sizeof(err));
    json_decref(cc);
    json_t *conf = smt_conf(in->conf);
    struct transform_chain *chain = transform_chain_new(conf, o.err, sizeof(o.err));
    json_decref(conf);
    if (!chain) {
        o.rc = -2;
        jp->destroy(conv);
        return o;
    }
    struct cd_record *r = cd_record_new(in->topic ? in->topic : "test");
    r->partition = in->partition;
    r->offset = in->offset;
    r->timestamp = in->timestamp;
    for (const char *const *h = in->headers; h && h[0]; h += 2) {
        if (!r->headers)
            r->headers = rd_kafka_headers_new(4);
        rd_kafka_header_add(r->headers, h[0], -1, h[1], -1);
    }
    smt_read(jp, conv, r->topic, in->key, &r->key);
    smt_read(jp, conv, r->topic, in->value, &r->value);
    const char *cls = NULL;
    o.rc = transform_chain_apply(chain, r, o.err, sizeof(o.err), &cls);
    if (o.rc == 1) {
        smt_write(jp, conv, r->topic, &r->key, o.key, sizeof(o.key));
        smt_write(jp, conv, r->topic, &r->value, o.value, sizeof(o.value));
        snprintf(o.topic, sizeof(o.topic), "%s", r->topic);
        o.headers = r->headers;
        r->headers = NULL;
    }
    cd_record_free(r);
    transform_chain_free(chain);
    jp->destroy(conv);
    return o;
}

static inline void smt_out_free(struct smt_out *o)
{
    if (o->headers)
        rd_kafka_headers_destroy(o->headers);
    o->headers = NULL;
}

/* The text of the last header called name, or NULL when absent ("(null)" for a null one). */
static inline const char *smt_header(const struct smt_out *o, const char *name, char *buf, size_t n)
{
    const void *v;
    size_t len;
    if (!o->headers || rd_kafka_header_get_last(o->headers, name, &v, &len))
        return NULL;
    snprintf(buf, n, "%.*s", v ? (int)len : 6, v ? (const char *)v : "(null)");
    return buf;
}

/* Runs one value through the chain and checks the written value (and that it was kept). */
#define SMT_CHECK_VALUE(in, expected)                                                            \
    do {                                                                                         \
        struct smt_out o_ = smt_run(in);                                                         \
        if (o_.rc != 1)                                                                          \
            fail_msg("chain returned %d: %s", o_.rc, o_.err);                                    \
        assert_string_equal(o_.value, expected);                                                 \
        smt_out_free(&o_);                                                                       \
    } while (0)

/* Runs and checks the chain failed with exactly this message. */
#define SMT_CHECK_ERROR(in, rcode, msg)                                                          \
    do {                                                                                         \
        struct smt_out o_ = smt_run(in);                                                         \
        assert_int_equal(o_.rc, rcode);                                                          \
        assert_string_equal(o_.err, msg);                                                        \
        smt_out_free(&o_);                                                                       \
    } while (0)

#endif
