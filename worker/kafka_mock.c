/* kafka_mock.c — the embedded Kafka: librdkafka's mock cluster plus a tiny command language
 * for fault injection (used by `connectd dev-kafka` on stdin). Everything is in memory. */
#include "kafka.h"

#include "log.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kafka_mock {
    rd_kafka_t *rk; /* owner handle the mock cluster needs for its bookkeeping */
    rd_kafka_mock_cluster_t *mc;
    int brokers;
};

struct kafka_mock *kafka_mock_start(int brokers, char *err, size_t errlen)
{
    char e[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!rk) {
        snprintf(err, errlen, "embedded Kafka: %s", e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
    if (!mc) {
        snprintf(err, errlen, "embedded Kafka: cannot start the mock cluster");
        rd_kafka_destroy(rk);
        return NULL;
    }
    struct kafka_mock *m = calloc(1, sizeof(*m));
    m->rk = rk;
    m->mc = mc;
    m->brokers = brokers < 1 ? 1 : brokers;
    return m;
}

const char *kafka_mock_bootstraps(const struct kafka_mock *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->mc);
}

int kafka_mock_topic_create(struct kafka_mock *m, const char *topic, int partitions)
{
    int rf = m->brokers < 3 ? m->brokers : 3;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, topic, partitions, rf);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        log_error(LOGS_KAFKA, "embedded Kafka: cannot create topic %s: %s", topic,
                  rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static const char *conf_str(json_t *conf, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(conf, key));
    return v && *v ? v : dflt;
}

static int conf_int(json_t *conf, const char *key, int dflt)
{
    const char *v = json_string_value(json_object_get(conf, key));
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

int kafka_mock_create_internal_topics(struct kafka_mock *m, json_t *worker_conf)
{
    if (kafka_mock_topic_create(m, conf_str(worker_conf, "config.storage.topic", "connect-configs"), 1))
        return -1;
    if (kafka_mock_topic_create(m, conf_str(worker_conf, "offset.storage.topic", "connect-offsets"),
                                conf_int(worker_conf, "offset.storage.partitions", 25)))
        return -1;
    return kafka_mock_topic_create(m, conf_str(worker_conf, "status.storage.topic", "connect-status"),
                                   conf_int(worker_conf, "status.storage.partitions", 5));
}

static const char mock_help[] =
    "commands: broker-down ID | broker-up ID | rtt ID MS | topic NAME PARTITIONS | "
    "error API_KEY ERR_CODE [COUNT] | clear-errors | help";

/* Splits line into at most max words in place. */
static int split_words(char *line, char **w, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && n < max;
         t = strtok_r(NULL, " \t\r\n", &save))
        w[n++] = t;
    return n;
}

static int broker_cmd(struct kafka_mock *m, char **w, int n, char *out, size_t outlen)
{
    int id = n > 1 ? atoi(w[1]) : 0;
    if (id < 1 || id > m->brokers) {
        snprintf(out, outlen, "error: broker id must be 1..%d", m->brokers);
        return -1;
    }
    rd_kafka_resp_err_t e;
    if (!strcmp(w[0], "broker-down"))
        e = rd_kafka_mock_broker_set_down(m->mc, id);
    else if (!strcmp(w[0], "broker-up"))
        e = rd_kafka_mock_broker_set_up(m->mc, id);
    else if (n > 2)
        e = rd_kafka_mock_broker_set_rtt(m->mc, id, atoi(w[2]));
    else {
        snprintf(out, outlen, "error: usage: rtt ID MS");
        return -1;
    }
    snprintf(out, outlen, e ? "error: %s" : "ok", rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int error_cmd(struct kafka_mock *m, char **w, int n, char *out, size_t outlen)
{
    if (n < 3) {
        snprintf(out, outlen, "error: usage: error API_KEY ERR_CODE [COUNT]");
        return -1;
    }
    int cnt = n > 3 ? atoi(w[3]) : 1;
    if (cnt < 1 || cnt > 1000) {
        snprintf(out, outlen, "error: COUNT must be 1..1000");
        return -1;
    }
    rd_kafka_resp_err_t *errs = calloc((size_t)cnt, sizeof(*errs));
    for (int i = 0; i < cnt; i++)
        errs[i] = (rd_kafka_resp_err_t)atoi(w[2]);
    rd_kafka_mock_push_request_errors_array(m->mc, (int16_t)atoi(w[1]), (size_t)cnt, errs);
    free(errs);
    snprintf(out, outlen, "ok");
    return 0;
}

int kafka_mock_command(struct kafka_mock *m, const char *line, char *out, size_t outlen)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", line);
    char *w[6];
    int n = split_words(buf, w, 6);
    if (n == 0) {
        snprintf(out, outlen, "error: empty command; %s", mock_help);
        return -1;
    }
    if (!strcmp(w[0], "broker-down") || !strcmp(w[0], "broker-up") || !strcmp(w[0], "rtt"))
        return broker_cmd(m, w, n, out, outlen);
    if (!strcmp(w[0], "error"))
        return error_cmd(m, w, n, out, outlen);
    if (!strcmp(w[0], "clear-errors")) {
        for (int16_t k = 0; k < 80; k++)
            rd_kafka_mock_clear_request_errors(m->mc, k);
        snprintf(out, outlen, "ok");
        return 0;
    }
    if (!strcmp(w[0], "topic") && n == 3 && atoi(w[2]) > 0) {
        int rc = kafka_mock_topic_create(m, w[1], atoi(w[2]));
        snprintf(out, outlen, rc ? "error: cannot create topic" : "ok");
        return rc;
    }
    if (!strcmp(w[0], "help")) {
        snprintf(out, outlen, "%s", mock_help);
        return 0;
    }
    snprintf(out, outlen, "error: unknown command '%s'; %s", w[0], mock_help);
    return -1;
}

void kafka_mock_stop(struct kafka_mock *m)
{
    if (!m)
        return;
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
    free(m);
}
