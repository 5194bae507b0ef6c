/* mqtt.h — the pure parts of the MQTT source, shared with its unit tests. */
#ifndef CD_MQTT_H
#define CD_MQTT_H

#include <stddef.h>
#include <stdint.h>

struct mqtt_uri {
    char host[256];
    int port;
    int tls; /* ssl:// or mqtts:// */
};

/* Parses tcp://host:port, ssl://host:port (also mqtt://, mqtts://; the port defaults to 1883
 * or 8883). Returns 0, or -1 with a message in err. */
int mqtt_uri_parse(const char *s, struct mqtt_uri *u, char *err, size_t errlen);

/* The subscription filter a task uses: the filter itself, or with more than one task an MQTT
 * shared subscription "$share/<group>/<filter>" so the broker spreads messages over the tasks.
 * Writes into out; returns 0, or -1 when it does not fit. */
int mqtt_task_filter(const char *filter, const char *group, int ntasks, char *out, size_t outlen);

/* MQTT 3.1.1 packets (mqtt_wire.c). The task speaks the protocol itself rather than through
 * libmosquitto, whose single write queue holds a PUBACK behind every unacknowledged message
 * read after it: here each PUBACK is written as soon as Kafka has the message. */
enum {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_PUBREC = 5,
    MQTT_PUBREL = 6,
    MQTT_PUBCOMP = 7,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
};

/* Outgoing bytes: p[off..len) is still to be written. */
struct mqtt_buf {
    unsigned char *p;
    size_t len, cap, off;
};

void mqtt_buf_free(struct mqtt_buf *b);

/* Encoders append one packet to b; each returns 0, or -1 when out of memory or a string is
 * longer than MQTT's 65535 bytes. user and pass may be NULL. */
int mqtt_put_connect(struct mqtt_buf *b, const char *client_id, const char *user,
                     const char *pass, int keepalive, int clean);
int mqtt_put_subscribe(struct mqtt_buf *b, uint16_t mid, char *const *filters, int n, int qos);
int mqtt_put_ack(struct mqtt_buf *b, int type, uint16_t mid); /* PUBACK, PUBREC, PUBCOMP */
int mqtt_put_empty(struct mqtt_buf *b, int type);             /* PINGREQ, DISCONNECT */

struct mqtt_packet {
    int type, flags;
    const unsigned char *body;
    size_t body_len;
};

/* The packet at the start of p[0..len): returns its whole size, 0 when it is not complete
 * yet (*need then says how many bytes it takes, when known), -1 when malformed. */
long mqtt_packet_next(const unsigned char *p, size_t len, struct mqtt_packet *pk, size_t *need);

struct mqtt_publish {
    const char *topic; /* not NUL-terminated */
    size_t topic_len;
    int qos, retain, dup;
    uint16_t mid; /* 0 for QoS 0 */
    const unsigned char *payload;
    size_t payload_len;
};

/* Returns 0, or -1 when the PUBLISH is malformed (QoS 3, short, packet id 0). */
int mqtt_publish_parse(const struct mqtt_packet *pk, struct mqtt_publish *m);

/* The CONNACK return code's meaning, as MQTT 3.1.1 names it. */
const char *mqtt_connack_string(int rc);

#endif
