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

/* The last topic made, for the run of records of one topic within one period of the
 * timestamp format (a day for yyyyMMdd): most records reuse it. */
struct tr_cache {
    char *in, *out;
    int64_t from, until;
};

struct tr {
    char *topic_format;
    char *ts_format;
    int64_t period;
    struct tr_cache last;
};

static void *tr_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, tr_defs, err, errlen))
        return NULL;
    struct tr *t = calloc(1, sizeof(*t));
    t->topic_format = strdup(cfg_get_str(conf, tr_defs, "topic.format"));
    t->ts_format = strdup(cfg_get_str(conf, tr_defs, "timestamp.format"));
    t->period = smt_datefmt_period_ms(t->ts_format);
    return t;
}

static void tr_destroy(void *state)
{
    struct tr *t = state;
    free(t->topic_format);
    free(t->ts_format);
    free(t->last.in);
    free(t->last.out);
    free(t);
}

/* Appends n bytes of s to the growing buffer *out. */
static void append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *out = realloc(*out, *cap);
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

/* topic.format with the placeholders replaced: malloc'd. */
static char *tr_topic(const struct tr *t, const char *topic, int64_t timestamp)
{
    char ts[256];
    smt_datefmt_format(t->ts_format, timestamp, ts, sizeof(ts));
    char *out = NULL;
    size_t len = 0, cap = 0;
    append(&out, &len, &cap, "", 0);
    for (const char *p = t->topic_format; *p;) {
        if (!strncmp(p, "${topic}", 8)) {
            append(&out, &len, &cap, topic, strlen(topic));
            p += 8;
        } else if (!strncmp(p, "${timestamp}", 12)) {
            append(&out, &len, &cap, ts, strlen(ts));
            p += 12;
        } else {
            size_t n = strcspn(p + 1, "$") + 1;
            append(&out, &len, &cap, p, n);
            p += n;
        }
    }
    return out;
}

static int tr_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct tr *t = state;
    struct tr_cache *c = &t->last;
    const char *topic = r->topic ? r->topic : "";
    if (r->timestamp < 0) {
        snprintf(err, errlen, "Timestamp missing on record: topic %s", topic);
        return -1;
    }
    if (!c->out || r->timestamp < c->from || r->timestamp >= c->until || strcmp(c->in, topic)) {
        free(c->in);
        free(c->out);
        c->in = strdup(topic);
        c->out = tr_topic(t, topic, r->timestamp);
        c->from = r->timestamp - r->timestamp % t->period;
        c->until = c->from + t->period;
    }
    cd_record_set_topic(r, strdup(c->out));
    return 1;
}

const struct transform_plugin smt_timestamprouter_plugin = {
    .class_name = SMT_PKG "TimestampRouter",
    .config = tr_defs,
    .create = tr_create,
    .destroy = tr_destroy,
    .apply = tr_apply,
};
