/* mqtt_net.h — a non-blocking TCP or TLS (OpenSSL) connection to an MQTT broker. */
#ifndef CD_MQTT_NET_H
#define CD_MQTT_NET_H

#include "mqtt.h"

#include <openssl/ssl.h>
#include <netdb.h>
#include <sys/types.h>

struct mqtt_tls_conf {
    const char *ca, *cert, *key; /* "" = the system CA directory / no client certificate */
    int verify_host;
};

struct mqtt_net {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int phase;     /* MQTT_NET_TCP, MQTT_NET_TLS, MQTT_NET_UP */
    int tls_wants; /* POLLIN or POLLOUT the TLS layer waits for, 0 = none */
    struct addrinfo *addrs, *next_addr; /* the host's addresses: the next is tried on failure */
    char why[512]; /* the reason of the last failure */
};

enum { MQTT_NET_TCP, MQTT_NET_TLS, MQTT_NET_UP };

/* Starts a non-blocking connect (name resolution blocks). Returns 0; -1 when the host cannot
 * be reached now (n->why); -2 when the TLS settings are unusable (n->why), which retrying
 * will not fix. */
int mqtt_net_open(struct mqtt_net *n, const struct mqtt_uri *u, const struct mqtt_tls_conf *tls);

/* The poll events the connection waits for; want_write when there are bytes to send. */
short mqtt_net_events(const struct mqtt_net *n, int want_write);

/* Decrypted bytes wait inside the TLS layer, where poll does not see them. */
int mqtt_net_buffered(const struct mqtt_net *n);

/* Moves the TCP connect and the TLS handshake on once poll said the socket is ready.
 * Returns 1 when the connection is up, 0 while in progress, -1 on failure (n->why). */
int mqtt_net_progress(struct mqtt_net *n, short revents);

/* Return bytes moved, 0 when the socket would block, -1 on failure or close (n->why). */
ssize_t mqtt_net_read(struct mqtt_net *n, void *buf, size_t len);
ssize_t mqtt_net_write(struct mqtt_net *n, const void *buf, size_t len);

void mqtt_net_close(struct mqtt_net *n);

#endif
