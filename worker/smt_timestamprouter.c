/* smt_timestamprouter.c — org.apache.kafka.connect.transforms.TimestampRouter: the topic
 * becomes `topic.format` with ${topic} and ${timestamp} (the record timestamp formatted with
 * `timestamp.format` in UTC) replaced. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static int check_format(const char *value, char *err, size_t errlen)
{
    return smt_datefmt_check(value, err, errlen);
}

static const struct cfg_def tr_defs[] = {
    {"topic.format", CFG_STRING, "${topic}-${timestamp}", 0, CFG_HIGH,
     "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic "
     "and timestamp, respectively.", NULL, 0, NULL, NULL},
    {"timestamp.format", CFG_STRING, "yyyyMMdd", 0, CFG_HIGH,
     "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.", NULL,
     0, NULL, check_format},
    SMT_END_DEFS,
};

struct tr {
    char *topic_format;
    char *ts_format;
};

static void *tr_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, tr_defs, err, errlen))
        return NULL;
    struct tr *t = calloc(1, sizeof(*t));
    t->topic_format = strdup(cfg_get_str(conf, tr_defs, "topic.format"));
    t->ts_format = strdup(cfg_get_str(conf, tr_defs, "timestamp.format"));
    return t;
}

static void tr_destroy(void *state)
{
    struct tr *t = state;
    free(t->topic_format);
    free(t->ts_format);
    free(t);
}

/* Appends s to the growing buffer *out. */
static void append(char **out, size_t *len, const char *s, size_t n)
{
    *out = realloc(*out, *len + n + 1);
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

static int tr_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct tr *t = state;
    if (r->timestamp < 0) {
        snprintf(err, errlen, "Timestamp missing on record: topic %s", r->topic ? r->topic : "");
        return -1;
    }
    char ts[256];
    smt_datefmt_format(t->ts_format, r->timestamp, ts, sizeof(ts));
    char *out = NULL;
    size_t len = 0;
    append(&out, &len, "", 0);
    for (const char *p = t->topic_format; *p;) {
        if (!strncmp(p, "${topic}", 8)) {
            append(&out, &len, r->topic ? r->topic : "", r->topic ? strlen(r->topic) : 0);
            p += 8;
        } else if (!strncmp(p, "${timestamp}", 12)) {
            append(&out, &len, ts, strlen(ts));
            p += 12;
        } else {
            append(&out, &len, p++, 1);
        }
    }
    free(r->topic);
    r->topic = out;
    return 1;
}

const struct transform_plugin smt_timestamprouter_plugin = {
    .class_name = SMT_PKG "TimestampRouter",
    .config = tr_defs,
    .create = tr_create,
    .destroy = tr_destroy,
    .apply = tr_apply,
};
