/* mqtt.c — MqttSourceConnector: MQTT messages into Kafka without losing QoS 1 messages.
 *
 * Loss-free QoS 1: libmosquitto queues the PUBACK of a message when it reads it. With
 * mosquitto_threaded_set(m, true) the queue is only written when we call
 * mosquitto_loop_write, and we only call it when every message read so far (on this
 * connection) has been acknowledged by Kafka (commit_record). So a PUBACK never leaves before
 * its record is durable, and a crash before that makes the broker redeliver the message to the
 * persistent session. The write queue is shared with every other packet (PINGREQ, SUBSCRIBE),
 * so the cycle "read a batch, produce it, write" must stay far below the keepalive; the
 * broker's max_inflight_messages (default 20) bounds how many messages one cycle holds.
 *
 * QoS 2 is not crash-safe: libmosquitto only hands a QoS 2 message over after the PUBREC /
 * PUBREL exchange, when the broker already considers it delivered.
 *
 * Each connection attempt uses a fresh mosquitto object (failover between URIs with different
 * TLS settings is then simple); the broker keeps the session, not the client object. */
#define _GNU_SOURCE
#include "mqtt.h"

#include "deadline.h"
#include "log.h"
#include "plugin.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MQTT_BACKOFF_MIN_MS 250
#define MQTT_BACKOFF_MAX_MS 10000

static int uris_check(const char *v, char *err, size_t errlen);
static const char *const qos_values[] = {"0", "1", "2", NULL};

static const struct cfg_def mqtt_defs[] = {
    {"mqtt.server.uri", CFG_LIST, NULL, 1, CFG_HIGH,
     "MQTT brokers to connect to, tried in turn: tcp://host:1883 or ssl://host:8883.", "MQTT", 0,
     NULL, uris_check},
    {"mqtt.topics", CFG_LIST, NULL, 1, CFG_HIGH,
     "MQTT topic filters to subscribe to (wildcards + and # allowed).", "MQTT", 0, NULL, NULL},
    {"kafka.topic", CFG_STRING, NULL, 1, CFG_HIGH, "Kafka topic to write the messages to.",
     "Kafka", 0, NULL, NULL},
    {"mqtt.qos", CFG_INT, "1", 0, CFG_MEDIUM,
     "Subscription QoS. 1 is loss-free: the PUBACK goes back only after Kafka acknowledged the "
     "record. 0 loses what is in flight on a crash; 2 is acknowledged by libmosquitto before "
     "the message reaches the connector, so it is no safer than 1.",
     "MQTT", 0, qos_values, NULL},
    {"mqtt.clean.session.enabled", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Start a clean session on every connect. The default (false) keeps a persistent session "
     "so the broker queues QoS 1 messages while the connector is down.",
     "MQTT", 0, NULL, NULL},
    {"mqtt.username", CFG_STRING, NULL, 0, CFG_HIGH, "User name for the broker.", "MQTT", 0, NULL,
     NULL},
    {"mqtt.password", CFG_PASSWORD, NULL, 0, CFG_HIGH, "Password for the broker.", "MQTT", 1, NULL,
     NULL},
    {"mqtt.keepalive.interval.seconds", CFG_INT, "60", 0, CFG_LOW,
     "MQTT keepalive interval in seconds.", "MQTT", 0, NULL, NULL},
    {"mqtt.connect.timeout.seconds", CFG_INT, "30", 0, CFG_LOW,
     "How long to wait for the broker's CONNACK before trying the next server.", "MQTT", 0, NULL,
     NULL},
    {"mqtt.client.id", CFG_STRING, "", 0, CFG_MEDIUM,
     "Client id; empty = connectd-<connector>-<task>, stable so the session survives restarts. "
     "A set id gets -<task> appended when tasks.max > 1.",
     "MQTT", 0, NULL, NULL},
    {"mqtt.ssl.ca.location", CFG_STRING, "", 0, CFG_MEDIUM,
     "PEM file of the CA certificates that sign the broker's certificate (ssl:// servers); "
     "empty = the system's CA directory /etc/ssl/certs.",
     "TLS", 0, NULL, NULL},
    {"mqtt.ssl.certificate.location", CFG_STRING, "", 0, CFG_LOW,
     "PEM client certificate for TLS client authentication.", "TLS", 0, NULL, NULL},
    {"mqtt.ssl.key.location", CFG_STRING, "", 0, CFG_LOW,
     "PEM private key (unencrypted) of the client certificate.", "TLS", 0, NULL, NULL},
    {"mqtt.ssl.verify.hostname", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "Check that the broker's certificate names the host connected to.", "TLS", 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

int mqtt_uri_parse(const char *s, struct mqtt_uri *u, char *err, size_t errlen)
{
    static const struct {
        const char *scheme;
        int tls, port;
    } schemes[] = {{"tcp://", 0, 1883}, {"mqtt://", 0, 1883}, {"ssl://", 1, 8883},
                   {"mqtts://", 1, 8883}};
    memset(u, 0, sizeof(*u));
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !rest; i++)
        if (!strncasecmp(s, schemes[i].scheme, strlen(schemes[i].scheme))) {
            rest = s + strlen(schemes[i].scheme);
            u->tls = schemes[i].tls;
            u->port = schemes[i].port;
        }
    if (!rest) {
        snprintf(err, errlen, "'%s' is not an MQTT server URI (tcp://host:port or ssl://host:port)",
                 s);
        return -1;
    }
    const char *colon = strrchr(rest, ':');
    size_t hl = colon ? (size_t)(colon - rest) : strlen(rest);
    if (hl && rest[hl - 1] == '/')
        hl--;
    if (!hl || hl >= sizeof(u->host)) {
        snprintf(err, errlen, "'%s' has no host", s);
        return -1;
    }
    memcpy(u->host, rest, hl);
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || (*end && strcmp(end, "/")) || p < 1 || p > 65535) {
            snprintf(err, errlen, "'%s' has an invalid port", s);
            return -1;
        }
        u->port = (int)p;
    }
    return 0;
}

int mqtt_task_filter(const char *filter, const char *group, int ntasks, char *out, size_t outlen)
{
    int n = ntasks > 1 && strncmp(filter, "$share/", 7)
                ? snprintf(out, outlen, "$share/%s/%s", group, filter)
                : snprintf(out, outlen, "%s", filter);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int uris_check(const char *v, char *err, size_t errlen)
{
    char *copy = strdup(v), *save = NULL;
    int rc = 0, n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        struct mqtt_uri u;
        rc = mqtt_uri_parse(tok, &u, err, errlen);
        n++;
    }
    free(copy);
    if (!rc && !n) {
        snprintf(err, errlen, "at least one server URI is needed");
        rc = -1;
    }
    return rc;
}

static json_t *mqtt_task_configs(json_t *conf, int max_tasks)
{
    json_t *arr = json_array();
    for (int i = 0; i < max_tasks; i++) {
        json_t *c = json_deep_copy(conf);
        char b[16];
        snprintf(b, sizeof(b), "%d", max_tasks);
        json_object_set_new(c, "task.count", json_string(b));
        json_array_append_new(arr, c);
    }
    return arr;
}

/* A message read from the broker, waiting to be handed to the runtime. */
struct mqtt_msg {
    char *topic;
    void *payload;
    int len, qos, retain, mid;
    uintptr_t gen; /* the connection it was read on */
    struct mqtt_msg *next;
};

struct mq {
    struct task_ctx *t;
    struct mosquitto *m;
    struct mqtt_uri *uris;
    int nuris, uri_next;
    char **filters;
    int nfilters;
    char *client_id, *kafka_topic, *user, *pass, *ca, *cert, *key;
    int qos, clean, keepalive, connect_timeout_ms, verify_host;
    struct mqtt_msg *head, *tail;
    long pending;  /* read on this connection and not yet acknowledged by Kafka */
    uintptr_t gen; /* connection generation: commits of older connections do not count */
    int connected; /* CONNACK accepted */
    long long connect_started, next_attempt;
    int backoff_ms;
    int fatal;
    char fatal_msg[512];
    json_t *key_schema, *value_schema;
    /* Set by mqtt_wake (a librdkafka thread) when delivery reports arrive: the wait for
     * Kafka's acks ends at once instead of on a timer. */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    int woken;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_fatal(struct mq *s, const char *fmt, const char *arg)
{
    if (s->fatal)
        return;
    s->fatal = 1;
    snprintf(s->fatal_msg, sizeof(s->fatal_msg), fmt, arg);
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags)
{
    struct mq *s = obj;
    if (rc) {
        /* Refusals the broker will repeat (bad protocol, id, credentials) fail the task;
         * "server unavailable" is retried. */
        if (rc == 3)
            task_log(s->t, LOG_WARN, "broker refused the connection: %s",
                     mosquitto_connack_string(rc));
        else
            set_fatal(s, "MQTT broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    s->connected = 1;
    s->backoff_ms = MQTT_BACKOFF_MIN_MS;
    task_log(s->t, LOG_INFO, "connected as %s (session present: %s)", s->client_id,
             flags & 1 ? "yes" : "no");
    int src = mosquitto_subscribe_multiple(m, NULL, s->nfilters, s->filters, s->qos, 0, NULL);
    if (src)
        task_log(s->t, LOG_WARN, "subscribe failed: %s", mosquitto_strerror(src));
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    struct mq *s = obj;
    for (int i = 0; i < n; i++)
        if (granted[i] == 0x80)
            set_fatal(s, "the MQTT broker refused the subscription to %s",
                      i < s->nfilters ? s->filters[i] : "?");
    if (!s->fatal)
        task_log(s->t, LOG_INFO, "subscribed to %d filter(s)", n);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    struct mq *s = obj;
    struct mqtt_msg *q = calloc(1, sizeof(*q));
    q->topic = strdup(msg->topic);
    q->len = msg->payloadlen;
    q->payload = malloc(q->len ? (size_t)q->len : 1);
    memcpy(q->payload, msg->payload, (size_t)q->len);
    q->qos = msg->qos;
    q->retain = msg->retain;
    q->mid = msg->mid;
    q->gen = s->gen;
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    s->pending++;
}

/* Drops the connection (keeping messages already read: they go to Kafka, and the broker
 * redelivers them too since their PUBACK never left) and schedules a reconnect. */
static void mq_drop(struct mq *s, const char *why)
{
    if (s->m) {
        task_log(s->t, LOG_WARN, "connection lost (%s); reconnecting in %d ms", why,
                 s->backoff_ms);
        mosquitto_destroy(s->m);
        s->m = NULL;
    }
    s->connected = 0;
    s->pending = 0;
    s->gen++;
    s->next_attempt = mono_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > MQTT_BACKOFF_MAX_MS ? MQTT_BACKOFF_MAX_MS
                                                            : s->backoff_ms * 2;
}

static int mq_tls(struct mq *s, struct mosquitto *m)
{
    int rc = mosquitto_tls_set(m, *s->ca ? s->ca : NULL, *s->ca ? NULL : "/etc/ssl/certs",
                               *s->cert ? s->cert : NULL, *s->key ? s->key : NULL, NULL);
    if (!rc)
        rc = mosquitto_tls_insecure_set(m, !s->verify_host);
    return rc;
}

static void mq_connect(struct mq *s)
{
    struct mqtt_uri *u = &s->uris[s->uri_next];
    s->uri_next = (s->uri_next + 1) % s->nuris;
    struct mosquitto *m = mosquitto_new(s->client_id, s->clean, s);
    if (!m) {
        set_fatal(s, "cannot create the MQTT client: %s", "out of memory");
        return;
    }
    mosquitto_threaded_set(m, true); /* queued packets wait for mosquitto_loop_write */
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_with_flags_callback_set(m, on_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_callback_set(m, on_message);
    int rc = s->user ? mosquitto_username_pw_set(m, s->user, s->pass) : 0;
    if (!rc && u->tls)
        rc = mq_tls(s, m);
    if (rc) {
        set_fatal(s, "invalid MQTT client settings: %s", mosquitto_strerror(rc));
        mosquitto_destroy(m);
        return;
    }
    s->m = m;
    s->connect_started = mono_ms();
    /* Non-blocking TCP connect: CONNECT is queued and written once the socket is writable
     * (POLLOUT in mq_read), so a host that never answers costs mqtt.connect.timeout.seconds,
     * not the kernel's two minutes on the task thread. Name resolution still blocks. */
    rc = mosquitto_connect_async(m, u->host, u->port, s->keepalive);
    if (rc) {
        char why[300];
        snprintf(why, sizeof(why), "%s:%d: %s", u->host, u->port, mosquitto_strerror(rc));
        mq_drop(s, why);
    }
}

static struct cd_record *mq_record(struct mq *s, struct mqtt_msg *q)
{
    struct cd_record *r = cd_record_new(s->kafka_topic);
    r->key.schema = json_incref(s->key_schema);
    r->key.value = json_string(q->topic);
    r->value.schema = json_incref(s->value_schema);
    r->value.value = json_stringn_nocheck(q->payload, (size_t)q->len);
    r->headers = rd_kafka_headers_new(4);
    char b[16];
    rd_kafka_header_add(r->headers, "mqtt.topic", -1, q->topic, -1);
    snprintf(b, sizeof(b), "%d", q->qos);
    rd_kafka_header_add(r->headers, "mqtt.qos", -1, b, -1);
    rd_kafka_header_add(r->headers, "mqtt.retained", -1, q->retain ? "true" : "false", -1);
    snprintf(b, sizeof(b), "%d", q->mid);
    rd_kafka_header_add(r->headers, "mqtt.message.id", -1, b, -1);
    return r;
}

static int mq_take(struct mq *s, struct cd_record **recs, int max)
{
    int n = 0;
    while (s->head && n < max) {
        struct mqtt_msg *q = s->head;
        s->head = q->next;
        if (!s->head)
            s->tail = NULL;
        struct cd_record *r = mq_record(s, q);
        r->opaque = (void *)q->gen;
        recs[n++] = r;
        free(q->topic);
        free(q->payload);
        free(q);
    }
    return n;
}

/* Writes the queued packets (PUBACKs, PINGREQ, SUBSCRIBE). Only called when nothing read on
 * this connection awaits Kafka. */
static void mq_write(struct mq *s)
{
    /* One call normally writes the whole queue; loop in case it stopped early (its loop
     * also returns on a stale EAGAIN in errno) until the queue is empty or the socket full. */
    for (int i = 0; i < 64 && s->m && mosquitto_want_write(s->m); i++) {
        errno = 0;
        int rc = mosquitto_loop_write(s->m, 1);
        if (rc) {
            mq_drop(s, mosquitto_strerror(rc));
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return; /* the rest goes when the socket is writable (POLLOUT in mq_read) */
    }
}

static void mq_read(struct mq *s, int timeout_ms, int max)
{
    struct pollfd p = {.fd = mosquitto_socket(s->m), .events = POLLIN};
    if (mosquitto_want_write(s->m))
        p.events |= POLLOUT;
    if (poll(&p, 1, timeout_ms) <= 0)
        return;
    if (p.revents & POLLOUT) {
        mq_write(s);
        if (!s->m)
            return;
    }
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    /* Read until the socket is drained or a batch is full. */
    do {
        int rc = mosquitto_loop_read(s->m, 1);
        if (rc) {
            mq_drop(s, rc == MOSQ_ERR_CONN_LOST ? "the broker closed the connection"
                                                : mosquitto_strerror(rc));
            return;
        }
        p.revents = 0;
    } while (s->pending < max && !s->fatal && poll(&p, 1, 0) > 0 && (p.revents & POLLIN));
}

static void mqtt_wake(void *state)
{
    struct mq *s = state;
    pthread_mutex_lock(&s->wake_mu);
    s->woken = 1;
    pthread_cond_signal(&s->wake_cv);
    pthread_mutex_unlock(&s->wake_mu);
}

/* Until mqtt_wake says delivery reports arrived (perhaps already), or timeout_ms. */
static void mq_wait_woken(struct mq *s, int timeout_ms)
{
    struct timespec until;
    cd_deadline(&until, timeout_ms);
    pthread_mutex_lock(&s->wake_mu);
    if (!s->woken)
        pthread_cond_timedwait(&s->wake_cv, &s->wake_mu, &until);
    s->woken = 0;
    pthread_mutex_unlock(&s->wake_mu);
}

static int mqtt_poll(void *state, struct task_ctx *t, struct cd_record **recs, int max,
                     int timeout_ms)
{
    struct mq *s = state;
    if (s->fatal) {
        task_set_error(t, "%s", s->fatal_msg);
        return CD_ERR_FATAL;
    }
    if (s->head)
        return mq_take(s, recs, max);
    if (!s->m) {
        long long wait = s->next_attempt - mono_ms();
        if (wait > 0) {
            struct timespec ts = {0, (wait < timeout_ms ? wait : timeout_ms) * 1000000L};
            nanosleep(&ts, NULL);
            return 0;
        }
        mq_connect(s);
        return 0;
    }
    if (s->pending > 0) {
        /* Waiting for Kafka: the runtime serves delivery reports between polls. */
        mq_wait_woken(s, 10);
        return 0;
    }
    mq_write(s);
    if (s->m && mosquitto_loop_misc(s->m) == MOSQ_ERR_SUCCESS)
        mq_write(s);
    if (s->m && !s->connected && mono_ms() - s->connect_started > s->connect_timeout_ms)
        mq_drop(s, "no CONNACK within mqtt.connect.timeout.seconds");
    if (!s->m)
        return 0;
    mq_read(s, timeout_ms < 100 ? timeout_ms : 100, max);
    if (s->fatal) {
        task_set_error(t, "%s", s->fatal_msg);
        return CD_ERR_FATAL;
    }
    return mq_take(s, recs, max);
}

static void mqtt_commit(void *state, struct task_ctx *t, const struct cd_record *r)
{
    struct mq *s = state;
    if ((uintptr_t)r->opaque == s->gen && s->pending > 0)
        s->pending--;
}

static char *conf_dup(json_t *conf, const char *k)
{
    const char *v = cfg_get_str(conf, mqtt_defs, k);
    return v ? strdup(v) : NULL;
}

/* Splits a comma list into trimmed, non-empty strings. Returns the count. */
static int split_list(const char *v, char ***out)
{
    char *copy = strdup(v ? v : ""), *save = NULL;
    int n = 0;
    *out = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (!l)
            continue;
        *out = realloc(*out, sizeof(char *) * (size_t)(n + 1));
        (*out)[n++] = strdup(tok);
    }
    free(copy);
    return n;
}

static int mq_setup_filters(struct mq *s, json_t *conf, int ntasks)
{
    char **raw;
    int n = split_list(cfg_get_str(conf, mqtt_defs, "mqtt.topics"), &raw);
    char group[300];
    snprintf(group, sizeof(group), "connectd-%s", task_connector_name(s->t));
    s->filters = calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) {
        char f[1024];
        if (mqtt_task_filter(raw[i], group, ntasks, f, sizeof(f)) == 0)
            s->filters[s->nfilters++] = strdup(f);
        free(raw[i]);
    }
    free(raw);
    if (!s->nfilters) {
        task_set_error(s->t, "mqtt.topics: at least one topic filter is needed");
        return CD_ERR_CONFIG;
    }
    return 0;
}

static int mq_setup_uris(struct mq *s, json_t *conf)
{
    char **raw;
    int n = split_list(cfg_get_str(conf, mqtt_defs, "mqtt.server.uri"), &raw);
    s->uris = calloc((size_t)(n ? n : 1), sizeof(*s->uris));
    int rc = n ? 0 : CD_ERR_CONFIG;
    for (int i = 0; i < n; i++) {
        char err[300];
        if (!rc && mqtt_uri_parse(raw[i], &s->uris[s->nuris], err, sizeof(err))) {
            task_set_error(s->t, "mqtt.server.uri: %s", err);
            rc = CD_ERR_CONFIG;
        }
        s->nuris++;
        free(raw[i]);
    }
    free(raw);
    if (!n)
        task_set_error(s->t, "mqtt.server.uri: at least one server URI is needed");
    return rc;
}

static void mq_client_id(struct mq *s, json_t *conf, int ntasks)
{
    const char *id = cfg_get_str(conf, mqtt_defs, "mqtt.client.id");
    char b[512];
    if (id && *id && ntasks > 1)
        snprintf(b, sizeof(b), "%s-%d", id, task_id(s->t));
    else if (id && *id)
        snprintf(b, sizeof(b), "%s", id);
    else
        snprintf(b, sizeof(b), "connectd-%s-%d", task_connector_name(s->t), task_id(s->t));
    s->client_id = strdup(b);
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mosquitto_lib_init();
}

static void mqtt_stop(void *state, struct task_ctx *t);

static int mqtt_start(struct task_ctx *t, json_t *conf, void **state)
{
    pthread_once(&lib_once, lib_init);
    struct mq *s = calloc(1, sizeof(*s));
    s->t = t;
    pthread_mutex_init(&s->wake_mu, NULL);
    pthread_cond_init(&s->wake_cv, NULL);
    *state = s;
    const char *tc = json_string_value(json_object_get(conf, "task.count"));
    int ntasks = tc && atoi(tc) > 0 ? atoi(tc) : 1;
    int rc = mq_setup_uris(s, conf);
    if (!rc)
        rc = mq_setup_filters(s, conf, ntasks);
    if (rc) {
        mqtt_stop(s, t);
        *state = NULL;
        return rc;
    }
    mq_client_id(s, conf, ntasks);
    s->kafka_topic = conf_dup(conf, "kafka.topic");
    s->user = conf_dup(conf, "mqtt.username");
    s->pass = conf_dup(conf, "mqtt.password");
    s->ca = conf_dup(conf, "mqtt.ssl.ca.location");
    s->cert = conf_dup(conf, "mqtt.ssl.certificate.location");
    s->key = conf_dup(conf, "mqtt.ssl.key.location");
    s->qos = (int)cfg_get_int(conf, mqtt_defs, "mqtt.qos", 1);
    s->clean = cfg_get_bool(conf, mqtt_defs, "mqtt.clean.session.enabled", 0);
    s->keepalive = (int)cfg_get_int(conf, mqtt_defs, "mqtt.keepalive.interval.seconds", 60);
    s->connect_timeout_ms =
        (int)cfg_get_int(conf, mqtt_defs, "mqtt.connect.timeout.seconds", 30) * 1000;
    s->verify_host = cfg_get_bool(conf, mqtt_defs, "mqtt.ssl.verify.hostname", 1);
    s->backoff_ms = MQTT_BACKOFF_MIN_MS;
    s->key_schema = json_pack("{s:s s:b}", "type", "string", "optional", 0);
    s->value_schema = json_pack("{s:s s:b}", "type", "bytes", "optional", 0);
    task_log(t, LOG_INFO, "subscribing to %d filter(s) at QoS %d as %s (%s session)",
             s->nfilters, s->qos, s->client_id, s->clean ? "clean" : "persistent");
    return 0;
}

/* Called after the runtime flushed the producer and handed back every acknowledged record,
 * so the PUBACKs still queued are safe to send before saying goodbye. */
static void mqtt_stop(void *state, struct task_ctx *t)
{
    struct mq *s = state;
    if (!s)
        return;
    if (s->m) {
        if (s->connected && s->pending == 0) {
            mq_write(s);
            if (s->m) {
                mosquitto_disconnect(s->m);
                mq_write(s);
            }
        }
        if (s->m)
            mosquitto_destroy(s->m);
    }
    while (s->head) {
        struct mqtt_msg *q = s->head;
        s->head = q->next;
        free(q->topic);
        free(q->payload);
        free(q);
    }
    for (int i = 0; i < s->nfilters; i++)
        free(s->filters[i]);
    free(s->filters);
    free(s->uris);
    free(s->client_id);
    free(s->kafka_topic);
    free(s->user);
    free(s->pass);
    free(s->ca);
    free(s->cert);
    free(s->key);
    json_decref(s->key_schema);
    json_decref(s->value_schema);
    pthread_mutex_destroy(&s->wake_mu);
    pthread_cond_destroy(&s->wake_cv);
    free(s);
}

static const char *const mqtt_aliases[] = {"io.confluent.connect.mqtt.MqttSourceConnector",
                                           "MqttSource", NULL};

/* A read batch is PUBACKed only once Kafka acked all of it, and the broker sends no more than
 * max_inflight_messages meanwhile: the produce latency is the cycle time, so linger.ms is 1
 * instead of librdkafka's 5. */
static const char *const mqtt_producer_defaults[] = {"linger.ms", "1", NULL};

const struct connector_plugin mqtt_source_plugin = {
    .class_name = "io.connectd.mqtt.MqttSourceConnector",
    .aliases = mqtt_aliases,
    .type = PLUGIN_SOURCE,
    .version = CD_VERSION,
    .config = mqtt_defs,
    .task_configs = mqtt_task_configs,
    .task_start = mqtt_start,
    .task_stop = mqtt_stop,
    .poll = mqtt_poll,
    .commit_record = mqtt_commit,
    .producer_defaults = mqtt_producer_defaults,
    .wake = mqtt_wake,
};
