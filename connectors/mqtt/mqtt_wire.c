/* mqtt_wire.c — MQTT 3.1.1 packet encoding and decoding: pure code, no I/O. */
#include "mqtt.h"

#include <stdlib.h>
#include <string.h>

void mqtt_buf_free(struct mqtt_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static int buf_reserve(struct mqtt_buf *b, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0; /* all written: reuse from the start */
    if (b->off > b->cap / 2) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Fixed header: type, flags, and the remaining length in MQTT's variable-length encoding. */
static int put_header(struct mqtt_buf *b, int type, int flags, size_t rest)
{
    if (rest > 268435455 || buf_reserve(b, rest + 5))
        return -1;
    b->p[b->len++] = (unsigned char)(type << 4 | flags);
    do {
        unsigned char d = rest % 128;
        rest /= 128;
        b->p[b->len++] = rest ? d | 0x80 : d;
    } while (rest);
    return 0;
}

static void put_u16(struct mqtt_buf *b, unsigned v)
{
    b->p[b->len++] = (unsigned char)(v >> 8);
    b->p[b->len++] = (unsigned char)(v & 0xff);
}

static void put_str(struct mqtt_buf *b, const char *s, size_t n)
{
    put_u16(b, (unsigned)n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

int mqtt_put_connect(struct mqtt_buf *b, const char *client_id, const char *user,
                     const char *pass, int keepalive, int clean)
{
    size_t lid = strlen(client_id), lu = user ? strlen(user) : 0, lp = pass ? strlen(pass) : 0;
    if (lid > 65535 || lu > 65535 || lp > 65535)
        return -1;
    size_t rest = 10 + 2 + lid + (user ? 2 + lu : 0) + (user && pass ? 2 + lp : 0);
    if (put_header(b, MQTT_CONNECT, 0, rest))
        return -1;
    put_str(b, "MQTT", 4);
    b->p[b->len++] = 4; /* protocol level: 3.1.1 */
    /* a password without a user name is not allowed in 3.1.1 */
    b->p[b->len++] = (unsigned char)((user ? 0x80 : 0) | (user && pass ? 0x40 : 0) |
                                     (clean ? 0x02 : 0));
    put_u16(b, (unsigned)keepalive);
    put_str(b, client_id, lid);
    if (user)
        put_str(b, user, lu);
    if (user && pass)
        put_str(b, pass, lp);
    return 0;
}

int mqtt_put_subscribe(struct mqtt_buf *b, uint16_t mid, char *const *filters, int n, int qos)
{
    size_t rest = 2;
    for (int i = 0; i < n; i++) {
        if (strlen(filters[i]) > 65535)
            return -1;
        rest += 2 + strlen(filters[i]) + 1;
    }
    if (put_header(b, MQTT_SUBSCRIBE, 2, rest))
        return -1;
    put_u16(b, mid);
    for (int i = 0; i < n; i++) {
        put_str(b, filters[i], strlen(filters[i]));
        b->p[b->len++] = (unsigned char)qos;
    }
    return 0;
}

int mqtt_put_ack(struct mqtt_buf *b, int type, uint16_t mid)
{
    if (put_header(b, type, type == MQTT_PUBREL ? 2 : 0, 2))
        return -1;
    put_u16(b, mid);
    return 0;
}

int mqtt_put_empty(struct mqtt_buf *b, int type)
{
    return put_header(b, type, 0, 0);
}

long mqtt_packet_next(const unsigned char *p, size_t len, struct mqtt_packet *pk, size_t *need)
{
    *need = 0;
    size_t rest = 0, i = 1;
    for (unsigned shift = 0;; shift += 7, i++) {
        if (i > 4)
            return -1; /* a remaining length takes at most four bytes */
        if (i >= len)
            return 0;
        rest |= (size_t)(p[i] & 0x7f) << shift;
        if (!(p[i] & 0x80))
            break;
    }
    size_t total = i + 1 + rest;
    if (len < total) {
        *need = total;
        return 0;
    }
    pk->type = p[0] >> 4;
    pk->flags = p[0] & 0x0f;
    pk->body = p + i + 1;
    pk->body_len = rest;
    return (long)total;
}

int mqtt_publish_parse(const struct mqtt_packet *pk, struct mqtt_publish *m)
{
    const unsigned char *p = pk->body;
    size_t n = pk->body_len;
    m->qos = pk->flags >> 1 & 3;
    m->retain = pk->flags & 1;
    m->dup = pk->flags >> 3 & 1;
    if (m->qos == 3 || n < 2)
        return -1;
    m->topic_len = (size_t)p[0] << 8 | p[1];
    size_t at = 2 + m->topic_len + (m->qos ? 2 : 0);
    if (at > n)
        return -1;
    m->topic = (const char *)p + 2;
    m->mid = m->qos ? (uint16_t)(p[at - 2] << 8 | p[at - 1]) : 0;
    if (m->qos && !m->mid)
        return -1;
    m->payload = p + at;
    m->payload_len = n - at;
    return 0;
}

const char *mqtt_connack_string(int rc)
{
    static const char *const names[] = {
        "Connection Accepted.",
        "Connection Refused: unacceptable protocol version.",
        "Connection Refused: identifier rejected.",
        "Connection Refused: broker unavailable.",
        "Connection Refused: bad user name or password.",
        "Connection Refused: not authorised.",
    };
    return rc >= 0 && rc < 6 ? names[rc] : "Connection Refused: unknown reason.";
}
