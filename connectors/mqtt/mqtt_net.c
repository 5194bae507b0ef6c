/* mqtt_net.c — a non-blocking TCP or TLS connection to an MQTT broker. */
#define _GNU_SOURCE
#include "mqtt_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void why_ssl(struct mqtt_net *n, const char *what)
{
    unsigned long e = ERR_get_error();
    long v = n->ssl ? SSL_get_verify_result(n->ssl) : X509_V_OK;
    if (v != X509_V_OK)
        snprintf(n->why, sizeof(n->why), "%s: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(v));
    else if (e)
        snprintf(n->why, sizeof(n->why), "%s: %s", what, ERR_reason_error_string(e));
    else
        snprintf(n->why, sizeof(n->why), "%s: %s", what, errno ? strerror(errno) : "failed");
    ERR_clear_error();
}

static int tls_ctx(struct mqtt_net *n, const struct mqtt_tls_conf *tls)
{
    n->ctx = SSL_CTX_new(TLS_client_method());
    if (!n->ctx)
        return why_ssl(n, "TLS"), -1;
    SSL_CTX_set_verify(n->ctx, SSL_VERIFY_PEER, NULL);
    /* the write buffer may grow (move) between a short write and its retry */
    SSL_CTX_set_mode(n->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!SSL_CTX_load_verify_locations(n->ctx, *tls->ca ? tls->ca : NULL,
                                       *tls->ca ? NULL : "/etc/ssl/certs"))
        return why_ssl(n, "mqtt.ssl.ca.location"), -1;
    if (*tls->cert && SSL_CTX_use_certificate_chain_file(n->ctx, tls->cert) != 1)
        return why_ssl(n, "mqtt.ssl.certificate.location"), -1;
    if (*tls->key && SSL_CTX_use_PrivateKey_file(n->ctx, tls->key, SSL_FILETYPE_PEM) != 1)
        return why_ssl(n, "mqtt.ssl.key.location"), -1;
    return 0;
}

/* The broker's certificate must name the host connected to: an IP address or a DNS name. */
static int tls_session(struct mqtt_net *n, const char *host, int verify_host)
{
    n->ssl = SSL_new(n->ctx);
    if (!n->ssl || !SSL_set_fd(n->ssl, n->fd))
        return why_ssl(n, "TLS"), -1;
    unsigned char addr[16];
    int ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(n->ssl);
    if (!ip)
        SSL_set_tlsext_host_name(n->ssl, host);
    if (verify_host && !(ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                            : X509_VERIFY_PARAM_set1_host(param, host, 0)))
        return why_ssl(n, "TLS"), -1;
    SSL_set_connect_state(n->ssl);
    return 0;
}

/* Starts a non-blocking connect to the next address that takes one. */
static int tcp_next(struct mqtt_net *n)
{
    for (struct addrinfo *a = n->next_addr; a; a = a->ai_next) {
        n->next_addr = a->ai_next;
        n->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (n->fd < 0)
            continue;
        if (!connect(n->fd, a->ai_addr, a->ai_addrlen) || errno == EINPROGRESS) {
            int one = 1; /* acks are tiny and latency is the cycle time */
            setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            return 0;
        }
        snprintf(n->why, sizeof(n->why), "connect: %s", strerror(errno));
        close(n->fd);
        n->fd = -1;
    }
    return -1;
}

/* Name resolution blocks; the connects do not. A host name with several addresses (localhost
 * is ::1 and 127.0.0.1) has each tried in turn until one answers. */
static int tcp_connect(struct mqtt_net *n, const struct mqtt_uri *u)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char port[16];
    snprintf(port, sizeof(port), "%d", u->port);
    int rc = getaddrinfo(u->host, port, &hints, &n->addrs);
    if (rc) {
        snprintf(n->why, sizeof(n->why), "%.255s: %s", u->host, gai_strerror(rc));
        n->addrs = NULL;
        return -1;
    }
    n->next_addr = n->addrs;
    return tcp_next(n);
}

int mqtt_net_open(struct mqtt_net *n, const struct mqtt_uri *u, const struct mqtt_tls_conf *tls)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    n->phase = MQTT_NET_TCP;
    if (u->tls && tls_ctx(n, tls)) {
        mqtt_net_close(n);
        return -2;
    }
    if (tcp_connect(n, u) || (u->tls && tls_session(n, u->host, tls->verify_host))) {
        mqtt_net_close(n);
        return -1;
    }
    return 0;
}

short mqtt_net_events(const struct mqtt_net *n, int want_write)
{
    if (n->phase == MQTT_NET_TCP)
        return POLLOUT;
    if (n->phase == MQTT_NET_TLS) /* the queued CONNECT waits for the handshake */
        return (short)(n->tls_wants ? n->tls_wants : POLLIN);
    return (short)(POLLIN | (want_write || n->tls_wants == POLLOUT ? POLLOUT : 0));
}

int mqtt_net_buffered(const struct mqtt_net *n)
{
    return n->ssl && n->phase == MQTT_NET_UP && SSL_pending(n->ssl) > 0;
}

/* SSL_read/SSL_write/SSL_connect's outcome: 1 go on, 0 wait for the socket, -1 failed. */
static int tls_status(struct mqtt_net *n, int ret, const char *what)
{
    n->tls_wants = 0;
    switch (SSL_get_error(n->ssl, ret)) {
    case SSL_ERROR_NONE:
        return 1;
    case SSL_ERROR_WANT_READ:
        n->tls_wants = POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        n->tls_wants = POLLOUT;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(n->why, sizeof(n->why), "the broker closed the connection");
        return -1;
    default:
        why_ssl(n, what);
        return -1;
    }
}

int mqtt_net_progress(struct mqtt_net *n, short revents)
{
    if (n->phase == MQTT_NET_TCP) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return 0;
        int e = 0;
        socklen_t el = sizeof(e);
        getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e) {
            snprintf(n->why, sizeof(n->why), "connect: %s", strerror(e));
            close(n->fd);
            n->fd = -1;
            if (tcp_next(n))
                return -1;
            if (n->ssl && !SSL_set_fd(n->ssl, n->fd))
                return why_ssl(n, "TLS"), -1;
            return 0;
        }
        n->phase = n->ssl ? MQTT_NET_TLS : MQTT_NET_UP;
    }
    if (n->phase == MQTT_NET_TLS) {
        int rc = tls_status(n, SSL_connect(n->ssl), "TLS handshake");
        if (rc <= 0)
            return rc;
        n->phase = MQTT_NET_UP;
    }
    return 1;
}

ssize_t mqtt_net_read(struct mqtt_net *n, void *buf, size_t len)
{
    if (n->ssl) {
        int rc = SSL_read(n->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
        int st = tls_status(n, rc, "TLS read");
        return st > 0 ? rc : st;
    }
    ssize_t rc = recv(n->fd, buf, len, 0);
    if (rc > 0)
        return rc;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    snprintf(n->why, sizeof(n->why), "%s",
             rc ? strerror(errno) : "the broker closed the connection");
    return -1;
}

ssize_t mqtt_net_write(struct mqtt_net *n, const void *buf, size_t len)
{
    if (n->ssl) {
        int rc = SSL_write(n->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
        int st = tls_status(n, rc, "TLS write");
        return st > 0 ? rc : st;
    }
    ssize_t rc = send(n->fd, buf, len, MSG_NOSIGNAL);
    if (rc >= 0)
        return rc;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    snprintf(n->why, sizeof(n->why), "%s", strerror(errno));
    return -1;
}

void mqtt_net_close(struct mqtt_net *n)
{
    if (n->ssl)
        SSL_free(n->ssl);
    if (n->ctx)
        SSL_CTX_free(n->ctx);
    if (n->fd >= 0)
        close(n->fd);
    if (n->addrs)
        freeaddrinfo(n->addrs);
    n->addrs = n->next_addr = NULL;
    n->ssl = NULL;
    n->ctx = NULL;
    n->fd = -1;
}
