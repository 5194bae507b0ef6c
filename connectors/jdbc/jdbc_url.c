/* jdbc_url.c — connection.url parsing: JDBC URLs (jdbc:postgresql://h:5432/db?user=u&sslmode=x,
 * jdbc:mysql://h/db, jdbc:mariadb://...) and native URIs (postgresql://u:p@h/db, mysql://...). */
#include "jdbc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string ('+' stays '+', as JDBC drivers do). */
static char *pct_decode(const char *s, size_t n)
{
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            *w++ = (char)(h * 16 + l);
            i += 2;
        } else
            *w++ = s[i];
    }
    *w = 0;
    return o;
}

static const struct {
    const char *prefix;
    enum jdbc_dialect d;
} schemes[] = {
    {"jdbc:postgresql://", JDBC_PG}, {"postgresql://", JDBC_PG},  {"postgres://", JDBC_PG},
    {"jdbc:mysql://", JDBC_MYSQL},   {"jdbc:mariadb://", JDBC_MYSQL}, {"mysql://", JDBC_MYSQL},
    {"mariadb://", JDBC_MYSQL},
};

static int add_param(struct jdbc_url *u, const char *k, size_t kl, const char *v, size_t vl)
{
    char **nk = realloc(u->keys, sizeof(char *) * (size_t)(u->nparams + 1));
    if (!nk)
        return -1;
    u->keys = nk;
    char **nv = realloc(u->vals, sizeof(char *) * (size_t)(u->nparams + 1));
    if (!nv)
        return -1;
    u->vals = nv;
    u->keys[u->nparams] = pct_decode(k, kl);
    u->vals[u->nparams] = pct_decode(v, vl);
    if (!u->keys[u->nparams] || !u->vals[u->nparams])
        return -1;
    u->nparams++;
    return 0;
}

/* Parses "k=v&k2=v2" (also ';'-separated, as MySQL Connector/J accepts). */
static int parse_query(struct jdbc_url *u, const char *q)
{
    while (*q) {
        size_t n = strcspn(q, "&;");
        const char *eq = memchr(q, '=', n);
        if (n) {
            const char *v = eq ? eq + 1 : q + n;
            size_t kl = eq ? (size_t)(eq - q) : n;
            if (add_param(u, q, kl, v, (size_t)(q + n - v)))
                return -1;
        }
        q += n;
        if (*q)
            q++;
    }
    return 0;
}

int jdbc_url_parse(const char *url, struct jdbc_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!url || !*url) {
        snprintf(err, errlen, "connection.url is empty");
        return -1;
    }
    const char *p = NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (!strncasecmp(url, schemes[i].prefix, strlen(schemes[i].prefix))) {
            p = url + strlen(schemes[i].prefix);
            out->dialect = schemes[i].d;
            break;
        }
    if (!p) {
        snprintf(err, errlen,
                 "unsupported connection.url scheme (expected jdbc:postgresql://, postgresql://, "
                 "jdbc:mysql://, jdbc:mariadb:// or mysql://)");
        return -1;
    }
    /* authority ends at '/', '?' or end */
    size_t alen = strcspn(p, "/?");
    const char *auth = p, *rest = p + alen;
    const char *at = NULL;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@')
            at = c; /* last '@': passwords may hold '@' unencoded */
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            out->user = pct_decode(auth, (size_t)(colon - auth));
            out->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else
            out->user = pct_decode(auth, (size_t)(at - auth));
        auth = at + 1;
        alen = (size_t)(rest - auth);
    }
    /* host[:port], [v6]:port; a list of hosts takes the first */
    size_t hl = alen;
    const char *comma = memchr(auth, ',', alen);
    if (comma)
        hl = (size_t)(comma - auth);
    const char *portp = NULL;
    if (hl && auth[0] == '[') {
        const char *rb = memchr(auth, ']', hl);
        if (!rb) {
            snprintf(err, errlen, "connection.url: unterminated [ in host");
            goto fail;
        }
        out->host = pct_decode(auth + 1, (size_t)(rb - auth - 1));
        if (rb + 1 < auth + hl && rb[1] == ':')
            portp = rb + 2;
    } else {
        const char *colon = memchr(auth, ':', hl);
        size_t l = colon ? (size_t)(colon - auth) : hl;
        if (l)
            out->host = pct_decode(auth, l);
        if (colon)
            portp = colon + 1;
    }
    if (portp && portp < auth + hl) {
        char *end;
        long port = strtol(portp, &end, 10);
        if (end != auth + hl || port <= 0 || port > 65535) {
            snprintf(err, errlen, "connection.url: invalid port");
            goto fail;
        }
        out->port = (int)port;
    }
    if (*rest == '/') {
        rest++;
        size_t dl = strcspn(rest, "?");
        if (dl)
            out->db = pct_decode(rest, dl);
        rest += dl;
    }
    if (*rest == '?' && parse_query(out, rest + 1)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* user/password as URL parameters too (JDBC style) */
    const char *v;
    if ((v = jdbc_url_param(out, "user")) && !out->user)
        out->user = strdup(v);
    if ((v = jdbc_url_param(out, "password")) && !out->password)
        out->password = strdup(v);
    return 0;
fail:
    jdbc_url_free(out);
    return -1;
}

const char *jdbc_url_param(const struct jdbc_url *u, const char *key)
{
    for (int i = 0; i < u->nparams; i++)
        if (!strcasecmp(u->keys[i], key))
            return u->vals[i];
    return NULL;
}

void jdbc_url_free(struct jdbc_url *u)
{
    free(u->host);
    free(u->db);
    free(u->user);
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    for (int i = 0; i < u->nparams; i++) {
        free(u->keys[i]);
        free(u->vals[i]);
    }
    free(u->keys);
    free(u->vals);
    memset(u, 0, sizeof(*u));
}

/* Appends s[0..n) to b, masking the value of each key=value pair whose key holds "password".
 * A key starts after one of ?&;( or a blank; a value ends at one of &;) or a blank. */
static int redact_params(struct jdbc_buf *b, const char *s, size_t n)
{
    size_t key = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr("?&;( \t", s[i]))
            key = i + 1;
        if (s[i] != '=') {
            if (jdbc_buf_add(b, s + i, 1))
                return -1;
            continue;
        }
        int secret = 0;
        for (size_t k = key; k + 8 <= i && !secret; k++)
            secret = !strncasecmp(s + k, "password", 8);
        if (jdbc_buf_add(b, "=", 1))
            return -1;
        if (!secret)
            continue;
        size_t v = i + 1;
        while (v < n && !strchr("&;) \t", s[v]))
            v++;
        if (v > i + 1 && jdbc_buf_str(b, "****"))
            return -1;
        i = v - 1;
    }
    return 0;
}

char *jdbc_url_redact(const char *url)
{
    struct jdbc_buf b = {0};
    if (!url)
        url = "";
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    /* userinfo as jdbc_url_parse sees it: up to the last '@' of the authority */
    size_t alen = strcspn(p, "/?");
    const char *at = NULL, *colon = NULL;
    for (const char *c = p; c < p + alen; c++)
        if (*c == '@')
            at = c;
    if (at)
        colon = memchr(p, ':', (size_t)(at - p));
    if (colon) {
        if (redact_params(&b, url, (size_t)(colon + 1 - url)) || jdbc_buf_str(&b, "****"))
            goto oom;
        url = at;
    }
    if (redact_params(&b, url, strlen(url)) || jdbc_buf_add(&b, "", 1))
        goto oom;
    return b.p;
oom:
    jdbc_buf_free(&b);
    return NULL;
}

void jdbc_scrub(char *msg, size_t cap, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    if (sl < 3 || !msg || !cap)
        return;
    char *hit;
    size_t from = 0;
    while ((hit = strstr(msg + from, secret))) {
        size_t at = (size_t)(hit - msg), len = strlen(msg);
        size_t tail = len - at - sl; /* bytes after the secret */
        size_t keep = tail;
        if (at + 4 + keep >= cap) /* does not fit: cut the end */
            keep = cap > at + 5 ? cap - at - 5 : 0;
        if (at + 4 >= cap) {
            msg[at] = 0; /* not even **** fits */
            return;
        }
        memmove(msg + at + 4, hit + sl, keep);
        memcpy(msg + at, "****", 4);
        msg[at + 4 + keep] = 0;
        from = at + 4;
    }
}

const char *jdbc_url_target(const struct jdbc_url *u, char *buf, size_t len)
{
    int port = u->port ? u->port : u->dialect == JDBC_PG ? 5432 : 3306;
    const char *h = u->host ? u->host : "localhost";
    snprintf(buf, len, "%s%s%s:%d/%s", strchr(h, ':') ? "[" : "", h, strchr(h, ':') ? "]" : "",
             port, u->db ? u->db : "");
    return buf;
}
