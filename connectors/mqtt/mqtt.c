/* mqtt.c — MqttSourceConnector: MQTT messages into Kafka without losing QoS 1 messages.
 *
 * Loss-free QoS 1: the task speaks MQTT 3.1.1 itself (mqtt_wire.c, mqtt_net.c) and writes a
 * message's PUBACK only once Kafka acknowledged its record (commit_record, called in the
 * order the messages were read). A crash before that makes the broker redeliver the message
 * to the persistent session. Acks are sent as Kafka's acks arrive, so the broker keeps
 * sending meanwhile: reading, producing and acknowledging overlap, and the broker's
 * max_inflight_messages is the only bound on what is in flight. (libmosquitto cannot do
 * this: its one write queue holds a message's PUBACK behind every packet queued before it,
 * so the task had to stop reading until a whole batch was in Kafka.)
 *
 * QoS 2 works the same way with PUBREC, so it is at least once too: a message redelivered
 * before its PUBREC left becomes a second record.
 *
 * Each connection attempt starts afresh (failover between URIs with different TLS settings
 * is then simple); the broker keeps the session, not the connection. */
#define _GNU_SOURCE
#include "mqtt.h"

#include "deadline.h"
#include "log.h"
#include "plugin.h"

#include "mqtt_net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

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
     "Subscription QoS. 1 and 2 are loss-free (at least once): the PUBACK (QoS 2: PUBREC) goes "
     "back only after Kafka acknowledged the record. 0 loses what is in flight on a crash.",
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

struct mq {
    struct task_ctx *t;
    struct mqtt_net net; /* net.fd < 0: no connection */
    struct mqtt_uri *uris;
    int nuris, uri_next;
    char **filters;
    int nfilters;
    char *client_id, *kafka_topic, *user, *pass, *ca, *cert, *key;
    int qos, clean, keepalive, connect_timeout_ms, verify_host;
    /* records read and not yet handed to the runtime: q[qhead..qlen) */
    struct cd_record **q;
    int qhead, qlen, qcap;
    unsigned char *in; /* bytes read, the start of a packet first */
    size_t in_len, in_cap;
    struct mqtt_buf out; /* CONNECT, SUBSCRIBE, acknowledgements, PINGREQ */
    uintptr_t gen;       /* connection generation: acks of older connections are not sent */
    int connected;       /* CONNACK accepted */
    long long connect_started, next_attempt, last_out, ping_sent;
    int backoff_ms;
    int fatal;
    char fatal_msg[768];
    json_t *key_schema, *value_schema;
    /* mqtt_wake (a librdkafka thread) writes to it when delivery reports arrive, so a task
     * waiting on the socket goes on to hand them over at once. */
    int wake_fd;
};

#define MQTT_IN_MIN (64 * 1024)

/* What commit_record needs to acknowledge a record: its connection, QoS and packet id. */
static void *ack_pack(uintptr_t gen, int qos, unsigned mid)
{
    return (void *)(gen << 18 | (uintptr_t)qos << 16 | mid);
}

static void set_fatal(struct mq *s, const char *fmt, const char *arg)
{
    if (s->fatal)
        return;
    s->fatal = 1;
    snprintf(s->fatal_msg, sizeof(s->fatal_msg), fmt, arg);
}

/* Drops the connection (keeping records already read: they go to Kafka, and the broker
 * redelivers them too since their acknowledgement never left) and schedules a reconnect. */
static void mq_drop(struct mq *s, const char *why)
{
    task_log(s->t, LOG_WARN, "connection lost (%s); reconnecting in %d ms", why, s->backoff_ms);
    mqtt_net_close(&s->net);
    s->connected = 0;
    s->out.len = s->out.off = 0;
    s->in_len = 0;
    s->gen++;
    s->next_attempt = task_now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > MQTT_BACKOFF_MAX_MS ? MQTT_BACKOFF_MAX_MS
                                                            : s->backoff_ms * 2;
}

/* Starts a non-blocking connect with CONNECT queued: a host that never answers costs
 * mqtt.connect.timeout.seconds, not the kernel's two minutes on the task thread. */
static void mq_connect(struct mq *s)
{
    struct mqtt_uri *u = &s->uris[s->uri_next];
    s->uri_next = (s->uri_next + 1) % s->nuris;
    struct mqtt_tls_conf tls = {s->ca, s->cert, s->key, s->verify_host};
    int rc = mqtt_net_open(&s->net, u, &tls);
    if (rc == -2) {
        set_fatal(s, "invalid MQTT TLS settings: %s", s->net.why);
        return;
    }
    if (rc) {
        mq_drop(s, s->net.why);
        return;
    }
    s->connect_started = s->last_out = task_now_ms();
    s->ping_sent = 0;
    if (mqtt_put_connect(&s->out, s->client_id, s->user, s->pass, s->keepalive, s->clean))
        set_fatal(s, "cannot encode the MQTT CONNECT: %s", "a string is over 65535 bytes");
}

static void mq_flush(struct mq *s)
{
    while (s->net.fd >= 0 && s->net.phase == MQTT_NET_UP && s->out.off < s->out.len) {
        ssize_t n = mqtt_net_write(&s->net, s->out.p + s->out.off, s->out.len - s->out.off);
        if (n < 0) {
            mq_drop(s, s->net.why);
            return;
        }
        if (n == 0)
            return; /* the rest goes when the socket is writable */
        s->out.off += (size_t)n;
        s->last_out = task_now_ms();
    }
}

static void mq_on_connack(struct mq *s, const struct mqtt_packet *pk)
{
    int rc = pk->body_len >= 2 ? pk->body[1] : 255;
    if (rc == 3) { /* server unavailable: retried; other refusals would repeat */
        mq_drop(s, mqtt_connack_string(rc));
        return;
    }
    if (rc) {
        set_fatal(s, "MQTT broker refused the connection: %s", mqtt_connack_string(rc));
        return;
    }
    s->connected = 1;
    s->backoff_ms = MQTT_BACKOFF_MIN_MS;
    task_log(s->t, LOG_INFO, "connected as %s (session present: %s)", s->client_id,
             pk->body[0] & 1 ? "yes" : "no");
    if (mqtt_put_subscribe(&s->out, 1, s->filters, s->nfilters, s->qos))
        set_fatal(s, "cannot encode the MQTT SUBSCRIBE: %s", "a filter is over 65535 bytes");
}

static void mq_on_suback(struct mq *s, const struct mqtt_packet *pk)
{
    int n = pk->body_len > 2 ? (int)pk->body_len - 2 : 0;
    for (int i = 0; i < n; i++)
        if (pk->body[2 + i] == 0x80)
            set_fatal(s, "the MQTT broker refused the subscription to %s",
                      i < s->nfilters ? s->filters[i] : "?");
    if (!s->fatal)
        task_log(s->t, LOG_INFO, "subscribed to %d filter(s)", n);
}

static struct cd_record *mq_record(struct mq *s, const struct mqtt_publish *m)
{
    struct cd_record *r = cd_record_new(s->kafka_topic);
    r->key.schema = json_incref(s->key_schema);
    r->key.value = json_stringn_nocheck(m->topic, m->topic_len);
    r->value.schema = json_incref(s->value_schema);
    r->value.value = json_stringn_nocheck((const char *)m->payload, m->payload_len);
    r->headers = rd_kafka_headers_new(4);
    char b[16];
    rd_kafka_header_add(r->headers, "mqtt.topic", -1, m->topic, (ssize_t)m->topic_len);
    snprintf(b, sizeof(b), "%d", m->qos);
    rd_kafka_header_add(r->headers, "mqtt.qos", -1, b, -1);
    rd_kafka_header_add(r->headers, "mqtt.retained", -1, m->retain ? "true" : "false", -1);
    snprintf(b, sizeof(b), "%d", m->mid);
    rd_kafka_header_add(r->headers, "mqtt.message.id", -1, b, -1);
    r->opaque = ack_pack(s->gen, m->qos, m->mid);
    return r;
}

/* QoS 1 and 2 are acknowledged (PUBACK, PUBREC) only in mqtt_commit, once Kafka has the
 * record; a QoS 2 message redelivered before that becomes a second record (at least once). */
static int mq_on_publish(struct mq *s, const struct mqtt_packet *pk)
{
    struct mqtt_publish m;
    if (mqtt_publish_parse(pk, &m))
        return -1;
    if (s->qlen == s->qcap) {
        int cap = s->qcap ? s->qcap * 2 : 1024;
        struct cd_record **q = realloc(s->q, sizeof(*q) * (size_t)cap);
        if (!q)
            return -1;
        s->q = q;
        s->qcap = cap;
    }
    s->q[s->qlen++] = mq_record(s, &m);
    return 0;
}

static int mq_handle(struct mq *s, const struct mqtt_packet *pk)
{
    if (!s->connected && pk->type != MQTT_CONNACK)
        return -1;
    switch (pk->type) {
    case MQTT_CONNACK:
        mq_on_connack(s, pk);
        return 0;
    case MQTT_SUBACK:
        mq_on_suback(s, pk);
        return 0;
    case MQTT_PUBLISH:
        return mq_on_publish(s, pk);
    case MQTT_PUBREL: /* QoS 2: the record is in Kafka already (we sent PUBREC) */
        return pk->body_len < 2 ? -1
                                : mqtt_put_ack(&s->out, MQTT_PUBCOMP,
                                               (uint16_t)(pk->body[0] << 8 | pk->body[1]));
    case MQTT_PINGRESP:
        s->ping_sent = 0;
        return 0;
    default: /* PUBACK, PUBREC, PUBCOMP: we publish nothing */
        return 0;
    }
}

/* Handles every complete packet in the input buffer; the start of the next one stays. */
static void mq_parse(struct mq *s)
{
    size_t at = 0, need = 0;
    while (s->net.fd >= 0 && !s->fatal) {
        struct mqtt_packet pk;
        long n = mqtt_packet_next(s->in + at, s->in_len - at, &pk, &need);
        if (n == 0)
            break;
        if (n < 0 || mq_handle(s, &pk)) {
            mq_drop(s, "malformed or unexpected packet from the broker");
            return;
        }
        at += (size_t)n;
    }
    if (s->net.fd < 0)
        return;
    memmove(s->in, s->in + at, s->in_len - at);
    s->in_len -= at;
    size_t cap = need > s->in_cap ? need : s->in_len + 4096 > s->in_cap ? s->in_cap * 2 : 0;
    if (!s->in_len && s->in_cap > 16 * MQTT_IN_MIN)
        cap = MQTT_IN_MIN; /* after a huge message */
    if (cap) {
        unsigned char *p = realloc(s->in, cap);
        if (p) {
            s->in = p;
            s->in_cap = cap;
        }
    }
}

/* Reads until the socket is drained or a batch is queued. */
static void mq_read(struct mq *s, int max)
{
    while (s->net.fd >= 0 && !s->fatal && s->qlen - s->qhead < max) {
        ssize_t n = mqtt_net_read(&s->net, s->in + s->in_len, s->in_cap - s->in_len);
        if (n < 0) {
            mq_drop(s, s->net.why);
            return;
        }
        if (n == 0)
            return;
        s->in_len += (size_t)n;
        mq_parse(s);
    }
}

static void mq_wake_drain(struct mq *s)
{
    uint64_t v;
    while (read(s->wake_fd, &v, sizeof(v)) > 0) {
    }
}

/* Waits for the socket or a wake, then moves the connection on: handshake, write, read. */
static void mq_io(struct mq *s, int timeout_ms, int max)
{
    struct pollfd p[2] = {
        {.fd = s->net.fd, .events = mqtt_net_events(&s->net, s->out.off < s->out.len)},
        {.fd = s->wake_fd, .events = POLLIN}};
    if (mqtt_net_buffered(&s->net))
        timeout_ms = 0;
    if (poll(p, 2, timeout_ms) < 0)
        return;
    if (p[1].revents)
        mq_wake_drain(s);
    if (s->net.phase != MQTT_NET_UP) {
        int rc = p[0].revents ? mqtt_net_progress(&s->net, p[0].revents) : 0;
        if (rc < 0)
            mq_drop(s, s->net.why);
        if (rc <= 0)
            return;
    }
    if (p[0].revents & POLLOUT || s->out.off < s->out.len)
        mq_flush(s);
    if (s->net.fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR) ||
                           mqtt_net_buffered(&s->net)))
        mq_read(s, max);
}

/* The CONNACK deadline, and PINGREQ when nothing was sent for half a keepalive interval: the
 * broker drops a client silent for 1.5 intervals, and pinging only after a full one left half
 * an interval for a busy machine to schedule the task (a 1 s keepalive failed that way in CI). */
static void mq_timers(struct mq *s)
{
    long long now = task_now_ms(), ka = (long long)s->keepalive * 1000;
    if (!s->connected) {
        if (now - s->connect_started > s->connect_timeout_ms)
            mq_drop(s, "no CONNACK within mqtt.connect.timeout.seconds");
        return;
    }
    if (!ka)
        return;
    if (s->ping_sent && now - s->ping_sent > ka)
        mq_drop(s, "no PINGRESP within the keepalive interval");
    else if (!s->ping_sent && now - s->last_out >= ka / 2 &&
             !mqtt_put_empty(&s->out, MQTT_PINGREQ))
        s->ping_sent = now;
}

static int mq_take(struct mq *s, struct cd_record **recs, int max)
{
    int n = s->qlen - s->qhead < max ? s->qlen - s->qhead : max;
    if (n <= 0)
        return 0;
    memcpy(recs, s->q + s->qhead, sizeof(*recs) * (size_t)n);
    s->qhead += n;
    if (s->qhead == s->qlen)
        s->qhead = s->qlen = 0;
    return n;
}

static void mqtt_wake(void *state)
{
    struct mq *s = state;
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: the task is awake anyway */
    }
}

static void mq_backoff_wait(struct mq *s, int timeout_ms)
{
    long long wait = s->next_attempt - task_now_ms();
    if (wait <= 0) {
        mq_connect(s);
        return;
    }
    struct timespec ts = {0, (wait < timeout_ms ? wait : timeout_ms) * 1000000L};
    nanosleep(&ts, NULL);
}

static int mqtt_poll(void *state, struct task_ctx *t, struct cd_record **recs, int max,
                     int timeout_ms)
{
    struct mq *s = state;
    if (!s->fatal && s->qhead < s->qlen) {
        mq_flush(s); /* acks of earlier rounds go out while a long backlog is handed over */
        return s->fatal ? 0 : mq_take(s, recs, max);
    }
    if (!s->fatal && s->net.fd < 0)
        mq_backoff_wait(s, timeout_ms);
    else if (!s->fatal) {
        mq_flush(s); /* the acknowledgements mqtt_commit queued */
        if (s->net.fd >= 0)
            mq_timers(s);
        if (s->net.fd >= 0)
            mq_io(s, timeout_ms < 100 ? timeout_ms : 100, max);
    }
    if (s->fatal) {
        task_set_error(t, "%s", s->fatal_msg);
        return CD_ERR_FATAL;
    }
    return mq_take(s, recs, max);
}

/* Kafka has the record (called in the order the records were read): acknowledge it to the
 * broker. The ack is written by the next poll, with the others of the same round. */
static void mqtt_commit(void *state, struct task_ctx *t, const struct cd_record *r)
{
    struct mq *s = state;
    uintptr_t v = (uintptr_t)r->opaque;
    int qos = (int)(v >> 16 & 3);
    if (qos && v >> 18 == s->gen && s->connected &&
        mqtt_put_ack(&s->out, qos == 2 ? MQTT_PUBREC : MQTT_PUBACK, (uint16_t)(v & 0xffff)))
        mq_drop(s, "out of memory");
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

static void mqtt_stop(void *state, struct task_ctx *t);

static int mqtt_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct mq *s = calloc(1, sizeof(*s));
    s->t = t;
    s->net.fd = -1;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->in = malloc(MQTT_IN_MIN);
    s->in_cap = MQTT_IN_MIN;
    *state = s;
    if (s->wake_fd < 0 || !s->in) {
        task_set_error(t, "cannot set up the MQTT task: %s", strerror(errno));
        mqtt_stop(s, t);
        *state = NULL;
        return CD_ERR_FATAL;
    }
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
    if (s->keepalive < 0 || s->keepalive > 65535) /* a 16-bit field of CONNECT */
        s->keepalive = s->keepalive < 0 ? 0 : 65535;
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

/* Writes what is queued, waiting up to timeout_ms for the socket. */
static void mq_flush_for(struct mq *s, int timeout_ms)
{
    long long until = task_now_ms() + timeout_ms;
    mq_flush(s);
    while (s->net.fd >= 0 && s->out.off < s->out.len && task_now_ms() < until) {
        struct pollfd p = {.fd = s->net.fd, .events = mqtt_net_events(&s->net, 1)};
        poll(&p, 1, 100);
        mq_flush(s);
    }
}

/* Called after the runtime flushed the producer and handed back every acknowledged record,
 * so the acknowledgements queued are safe to send before saying goodbye. Records read but
 * never handed over get none: the broker delivers them again. */
static void mqtt_stop(void *state, struct task_ctx *t)
{
    struct mq *s = state;
    if (!s)
        return;
    if (s->net.fd >= 0 && s->connected) {
        mqtt_put_empty(&s->out, MQTT_DISCONNECT);
        mq_flush_for(s, 2000);
    }
    mqtt_net_close(&s->net);
    while (s->qhead < s->qlen)
        cd_record_free(s->q[s->qhead++]);
    free(s->q);
    free(s->in);
    mqtt_buf_free(&s->out);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
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
