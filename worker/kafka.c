/* kafka.c — librdkafka client configs from Kafka Connect style keys, and topic helpers. */
#include "kafka.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Java client keys with a librdkafka equivalent under another name or unit. */
struct key_map {
    const char *java;
    const char *rdk;
    int kib; /* value is bytes in Java, KiB in librdkafka */
};

static const struct key_map renamed[] = {
    {"buffer.memory", "queue.buffering.max.kbytes", 1},
    {"max.request.size", "message.max.bytes", 0},
    {"max.in.flight.requests.per.connection", "max.in.flight", 0},
    {"fetch.max.wait.ms", "fetch.wait.max.ms", 0},
    {NULL, NULL, 0},
};

/* Java client keys without an equivalent: skipped quietly-but-visibly. */
static const char *const java_only[] = {
    "max.poll.records", "key.serializer", "value.serializer", "key.deserializer",
    "value.deserializer", "interceptor.classes", "client.dns.lookup", "metric.reporters",
    "metrics.num.samples", "metrics.sample.window.ms", "metrics.recording.level",
    "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type",
    "ssl.keystore.type", "ssl.protocol", "ssl.enabled.protocols", "ssl.trustmanager.algorithm",
    "ssl.keymanager.algorithm", "ssl.secure.random.implementation", "default.api.timeout.ms",
    "exclude.internal.topics", "sasl.login.callback.handler.class", "sasl.client.callback.handler.class",
    "sasl.jaas.config", "send.buffer.bytes", "receive.buffer.bytes", NULL};

/* Worker top-level keys that configure every client (Connect passes them to all clients). */
static const char *const client_prefixes[] = {"security.protocol", "ssl.", "sasl.", "client.rack",
                                              "metadata.max.age.ms", "reconnect.backoff",
                                              "retry.backoff.ms", "socket.",
                                              "connections.max.idle.ms", NULL};

static int in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(key, *list))
            return 1;
    return 0;
}

static const char *assignor_name(const char *java)
{
    static const struct {
        const char *suffix, *rdk;
    } map[] = {{"CooperativeStickyAssignor", "cooperative-sticky"},
               {"RoundRobinAssignor", "roundrobin"},
               {"RangeAssignor", "range"},
               {NULL, NULL}};
    for (int i = 0; map[i].suffix; i++)
        if (strstr(java, map[i].suffix))
            return map[i].rdk;
    return java;
}

/* Pulls username/password out of a sasl.jaas.config PlainLoginModule/ScramLoginModule line. */
static void jaas_field(const char *jaas, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    char pat[32];
    snprintf(pat, sizeof(pat), "%s=\"", name);
    const char *p = strstr(jaas, pat);
    if (!p)
        return;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= outlen)
        return;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
}

static int set_raw(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                   size_t errlen)
{
    char e[512];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, value, e, sizeof(e));
    if (r == RD_KAFKA_CONF_OK)
        return 0;
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        log_warn(LOGS_KAFKA, "Kafka client config '%s' is not known to librdkafka; skipped", key);
        return 0;
    }
    snprintf(err, errlen, "Invalid value for Kafka client config %s: %s", key, e);
    return -1;
}

static int set_jaas(rd_kafka_conf_t *conf, const char *jaas, char *err, size_t errlen)
{
    char user[256], pass[256];
    jaas_field(jaas, "username", user, sizeof(user));
    jaas_field(jaas, "password", pass, sizeof(pass));
    if (!user[0]) {
        log_warn(LOGS_KAFKA, "sasl.jaas.config without a username is not supported; skipped");
        return 0;
    }
    int rc = set_raw(conf, "sasl.username", user, err, errlen) ||
             set_raw(conf, "sasl.password", pass, err, errlen);
    memset(pass, 0, sizeof(pass));
    return rc ? -1 : 0;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                   size_t errlen)
{
    if (!strcmp(key, "sasl.jaas.config"))
        return set_jaas(conf, value, err, errlen);
    if (in_list(key, java_only)) {
        log_warn(LOGS_KAFKA, "Java client config '%s' has no librdkafka equivalent; skipped", key);
        return 0;
    }
    for (int i = 0; renamed[i].java; i++) {
        if (strcmp(key, renamed[i].java))
            continue;
        char v[64];
        if (renamed[i].kib)
            snprintf(v, sizeof(v), "%lld", (atoll(value) + 1023) / 1024);
        return set_raw(conf, renamed[i].rdk, renamed[i].kib ? v : value, err, errlen);
    }
    if (!strcmp(key, "partition.assignment.strategy"))
        return set_raw(conf, key, assignor_name(value), err, errlen);
    if (!strcmp(key, "ssl.endpoint.identification.algorithm") && !*value)
        return set_raw(conf, key, "none", err, errlen);
    return set_raw(conf, key, value, err, errlen);
}

static int is_client_key(const char *key)
{
    for (int i = 0; client_prefixes[i]; i++)
        if (!strncmp(key, client_prefixes[i], strlen(client_prefixes[i])))
            return 1;
    return 0;
}

static int apply_worker(rd_kafka_conf_t *conf, json_t *wconf, const char *role, char *err,
                        size_t errlen)
{
    size_t rl = strlen(role);
    const char *key;
    json_t *v;
    json_object_foreach(wconf, key, v) {
        const char *s = json_string_value(v);
        if (!s || !is_client_key(key))
            continue;
        if (kafka_conf_set(conf, key, s, err, errlen))
            return -1;
    }
    json_object_foreach(wconf, key, v) {
        const char *s = json_string_value(v);
        if (!s || strncmp(key, role, rl) || key[rl] != '.')
            continue;
        if (kafka_conf_set(conf, key + rl + 1, s, err, errlen))
            return -1;
    }
    return 0;
}

rd_kafka_conf_t *kafka_conf_new(json_t *worker_conf, const char *role, json_t *overrides,
                                char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *bs = json_string_value(json_object_get(worker_conf, "bootstrap.servers"));
    int rc = set_raw(conf, "bootstrap.servers", bs ? bs : "localhost:9092", err, errlen);
    if (!rc && !strcmp(role, "producer"))
        rc = set_raw(conf, "partitioner", "murmur2_random", err, errlen);
    if (!rc)
        rc = apply_worker(conf, worker_conf, role, err, errlen);
    const char *key;
    json_t *v;
    json_object_foreach(overrides, key, v) {
        if (rc)
            break;
        if (json_string_value(v))
            rc = kafka_conf_set(conf, key, json_string_value(v), err, errlen);
    }
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Partition count from an all-topics metadata request, which never auto-creates topics. */
int kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e)
        return -1;
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* 1 when the controller the metadata names is one of the brokers. librdkafka's mock cluster
 * (embedded Kafka, dev-kafka) names controller 0, which is no broker, and CreateTopics would
 * wait for it until it times out. */
static int controller_known(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md;
    int32_t id = rd_kafka_controllerid(rk, 5000), found = 0;
    if (id < 0 || rd_kafka_metadata(rk, 0, NULL, &md, 5000))
        return 0;
    for (int i = 0; i < md->broker_cnt; i++)
        found |= md->brokers[i].id == id;
    rd_kafka_metadata_destroy(md);
    return found;
}

/* CreateTopics through the Admin API. Returns 0 when created or already there, 1 when the
 * cluster does not serve CreateTopics, -1 on another error. */
static int admin_create(rd_kafka_t *rk, const char *topic, int partitions, int replication,
                        json_t *configs, char *err, size_t errlen)
{
    char e[256];
    if (!controller_known(rk))
        return 1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, replication, e, sizeof(e));
    if (!nt) {
        snprintf(err, errlen, "cannot create topic %s: %s", topic, e);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(configs, key, v) rd_kafka_NewTopic_set_config(nt, key, json_string_value(v));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 10000, e, sizeof(e));
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    rd_kafka_resp_err_t re = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", ev ? rd_kafka_event_error_string(ev) : "timed out");
    if (!re && ev) {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        if (cnt == 1 && rd_kafka_topic_result_error(res[0])) {
            re = rd_kafka_topic_result_error(res[0]);
            const char *es = rd_kafka_topic_result_error_string(res[0]);
            snprintf(msg, sizeof(msg), "%s", es ? es : rd_kafka_err2str(re));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    if (!re || re == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return 0;
    if (re == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || re == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ||
        re == RD_KAFKA_RESP_ERR_INVALID_REQUEST)
        return 1;
    snprintf(err, errlen, "cannot create topic %s: %s", topic, msg);
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks for the topic by name, which makes a broker with auto-creation create it. */
static int auto_create(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t deadline = now_ms() + 10000;
    int n = 0;
    while (n <= 0 && now_ms() < deadline) {
        const struct rd_kafka_metadata *md;
        if (!rd_kafka_metadata(rk, 0, rkt, &md, 2000)) {
            if (md->topic_cnt == 1 && !md->topics[0].err)
                n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (n <= 0)
            usleep(100 * 1000);
    }
    rd_kafka_topic_destroy(rkt);
    if (n <= 0)
        snprintf(err, errlen, "topic %s does not exist and could not be created", topic);
    return n > 0 ? n : -1;
}

int kafka_topic_ensure(rd_kafka_t *rk, const char *topic, int partitions, int replication,
                       json_t *configs, char *err, size_t errlen)
{
    int n = kafka_topic_partitions(rk, topic, 10000);
    if (n < 0) {
        snprintf(err, errlen, "cannot reach Kafka to look up topic %s", topic);
        return -1;
    }
    if (n > 0)
        return n;
    int rc = admin_create(rk, topic, partitions, replication, configs, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1)
        log_info(LOGS_KAFKA, "cluster does not serve CreateTopics; relying on auto-creation of %s",
                 topic);
    else
        log_info(LOGS_KAFKA, "created topic %s with %d partitions", topic, partitions);
    for (int i = 0; i < 50 && rc == 0; i++) {
        n = kafka_topic_partitions(rk, topic, 5000);
        if (n > 0)
            return n;
        usleep(100 * 1000);
    }
    return auto_create(rk, topic, err, errlen);
}

char *kafka_cluster_id(rd_kafka_t *rk, int timeout_ms)
{
    return rd_kafka_clusterid(rk, timeout_ms);
}
