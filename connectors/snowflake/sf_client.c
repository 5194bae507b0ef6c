/* sf_client.c — see sf_client.h. Snowflake's clients use a 59-minute JWT and renew it at
 * 54; the scoped token's lifetime is undocumented, so it is renewed well before an hour and
 * on any 401. The lifetime is configurable (snowflake.jwt.lifetime.seconds), the renewal
 * points scale with it. */
#include "sf_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_ATTEMPTS 9
#define TOKEN_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* Wall clock: JWT iat/exp are wall-clock times. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sf_token_schedule(int lifetime_s, int64_t *jwt_renew_ms, int64_t *scoped_renew_ms)
{
    if (lifetime_s < 1)
        lifetime_s = SF_JWT_LIFETIME_S;
    *jwt_renew_ms = (int64_t)lifetime_s * 1000 * 54 / 59;
    *scoped_renew_ms = (int64_t)lifetime_s * 1000 * 45 / 59;
}

int sf_client_init(struct sf_client *c, struct task_ctx *t, const struct sf_url *url,
                   const char *account, const char *user, const char *role, EVP_PKEY *key)
{
    memset(c, 0, sizeof(*c));
    c->t = t;
    c->url = *url;
    snprintf(c->account, sizeof(c->account), "%s", account);
    snprintf(c->user, sizeof(c->user), "%s", user);
    snprintf(c->role, sizeof(c->role), "%s", role ? role : "");
    c->key = key;
    c->jwt_lifetime_s = SF_JWT_LIFETIME_S;
    if (sf_key_fingerprint(key, c->fp, sizeof(c->fp)))
        return -1;
    c->curl = curl_easy_init();
    return c->curl ? 0 : -1;
}

static void secret_free(char **s)
{
    if (*s) {
        memset(*s, 0, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void sf_client_free(struct sf_client *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    EVP_PKEY_free(c->key);
    secret_free(&c->jwt);
    secret_free(&c->scoped);
    memset(c, 0, sizeof(*c));
}

void sf_resp_free(struct sf_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct sf_resp *r = ud;
    size_t add = sz * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    b[r->len] = 0;
    return add;
}

int sf_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, len) + 32;
    *out = malloc(cap);
    if (!*out) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)*out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void sf_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
        int plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~", *c);
        if (o + (plain ? 1 : 3) >= outlen)
            break; /* truncated, never in the middle of an escape */
        if (plain)
            out[o++] = (char)*c;
        else {
            out[o++] = '%';
            out[o++] = hex[*c >> 4];
            out[o++] = hex[*c & 15];
        }
    }
    out[o] = 0;
}

void sf_resp_error(const struct sf_resp *r, char *code, size_t codelen, char *msg, size_t msglen)
{
    code[0] = msg[0] = 0;
    json_t *j = r->body ? json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL) : NULL;
    if (json_is_string(j))
        snprintf(code, codelen, "%s", json_string_value(j));
    else if (json_is_object(j)) {
        json_t *cd = json_object_get(j, "code");
        if (!cd)
            cd = json_object_get(j, "error_code");
        if (json_is_string(cd))
            snprintf(code, codelen, "%s", json_string_value(cd));
        const char *m = json_string_value(json_object_get(j, "message"));
        snprintf(msg, msglen, "%s", m ? m : "");
    } else if (r->body)
        snprintf(msg, msglen, "%.200s", r->body);
    json_decref(j);
}

/* One HTTP exchange, no retries. 0 with r filled, or -1 with c->err (transport failure). */
static int http_once(struct sf_client *c, const char *method, const char *url,
                     struct curl_slist *hdrs, const char *body, size_t len, struct sf_resp *r)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "connectd-snowflake/" CD_VERSION " (C) libcurl");
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        int ul = (int)strcspn(url, "?"); /* the query holds the continuation token */
        snprintf(c->err, sizeof(c->err), "%s %.*s: %s", method, ul < 300 ? ul : 300, url,
                 curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    return 0;
}

static int retriable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

/* Sleeps the backoff of attempt (200 ms doubling to 5 s, 50..100 % jitter); 1 when stopping. */
static int backoff(struct sf_client *c, int attempt)
{
    long ms = 200L << (attempt < 5 ? attempt : 5);
    if (ms > 5000)
        ms = 5000;
    ms = ms / 2 + rand() % (ms / 2 + 1);
    for (long slept = 0; slept < ms; slept += 50) {
        if (c->t && task_stopping(c->t))
            return 1;
        usleep(50000);
    }
    return 0;
}

static struct curl_slist *headers(const char *token, const char *type, const char *ctype,
                                  int gzip)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    size_t n = strlen(token) + 32;
    char *a = malloc(n);
    snprintf(a, n, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, a);
    memset(a, 0, n);
    free(a);
    char line[128];
    snprintf(line, sizeof(line), "X-Snowflake-Authorization-Token-Type: %s", type);
    h = curl_slist_append(h, line);
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    if (gzip)
        h = curl_slist_append(h, "Content-Encoding: gzip");
    h = curl_slist_append(h, "Expect:");
    return h;
}

static void slist_free_secret(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(h);
}

static int renew_jwt(struct sf_client *c)
{
    int64_t iat = now_ms() / 1000, jwt_ms, scoped_ms;
    sf_token_schedule(c->jwt_lifetime_s, &jwt_ms, &scoped_ms);
    char *tok = sf_jwt_build(c->key, c->account, c->user, c->fp, iat, iat + c->jwt_lifetime_s);
    if (!tok) {
        snprintf(c->err, sizeof(c->err), "signing the key-pair JWT failed");
        return -1;
    }
    secret_free(&c->jwt);
    c->jwt = tok;
    c->jwt_renew_at = iat * 1000 + jwt_ms; /* from the truncated iat: never late */
    return 0;
}

/* The ingest host from hostname discovery: plain text or {"hostname":"…"}. */
static int discover_host(struct sf_client *c, long *status)
{
    struct sf_resp r = {0};
    if (sf_call(c, SF_CONTROL, "GET", "/v2/streaming/hostname", NULL, NULL, 0, 0, &r))
        return -1;
    *status = r.status;
    int rc = -1;
    if (r.status != 200) {
        char code[128], msg[512];
        sf_resp_error(&r, code, sizeof(code), msg, sizeof(msg));
        snprintf(c->err, sizeof(c->err), "hostname discovery answered HTTP %ld %s %s",
                 r.status, code, msg);
        goto out;
    }
    json_t *j = json_loadb(r.body ? r.body : "", r.len, JSON_DECODE_ANY, NULL);
    const char *host = json_is_object(j) ? json_string_value(json_object_get(j, "hostname"))
                       : json_is_string(j) ? json_string_value(j) : r.body;
    if (host && *host) {
        size_t n = strcspn(host, " \r\n");
        if (n >= sizeof(c->ingest_host))
            n = sizeof(c->ingest_host) - 1;
        memcpy(c->ingest_host, host, n);
        c->ingest_host[n] = 0;
        /* Underscores in the ingest host make Snowflake fail internally (tutorial). */
        for (char *p = c->ingest_host; *p; p++)
            *p = *p == '_' ? '-' : *p;
        rc = 0;
    } else
        snprintf(c->err, sizeof(c->err), "hostname discovery returned no host name");
    json_decref(j);
out:
    sf_resp_free(&r);
    return rc;
}

/* Exchanges the JWT for a scoped token: the body is the token or {"token":"…"}. */
static int renew_scoped(struct sf_client *c, long *status)
{
    char *scope = curl_easy_escape(c->curl, c->ingest_host, 0);
    char form[1024];
    snprintf(form, sizeof(form), "grant_type=%s&scope=%s%s%s", TOKEN_GRANT, scope,
             c->role[0] ? "%20session%3Arole%3A" : "", c->role);
    curl_free(scope);
    struct sf_resp r = {0};
    if (sf_call(c, SF_CONTROL, "POST", "/oauth/token", "application/x-www-form-urlencoded",
                form, strlen(form), 0, &r))
        return -1;
    *status = r.status;
    int rc = -1;
    if (r.status != 200) {
        char code[128], msg[512];
        sf_resp_error(&r, code, sizeof(code), msg, sizeof(msg));
        snprintf(c->err, sizeof(c->err), "scoped-token exchange answered HTTP %ld %s %s",
                 r.status, code, msg);
        goto out;
    }
    json_t *j = json_loadb(r.body ? r.body : "", r.len, JSON_DECODE_ANY, NULL);
    const char *tok = json_is_object(j) ? json_string_value(json_object_get(j, "token"))
                      : json_is_string(j) ? json_string_value(j) : r.body;
    if (tok && *tok) {
        secret_free(&c->scoped);
        c->scoped = strndup(tok, strcspn(tok, " \r\n"));
        int64_t jwt_ms, scoped_ms;
        sf_token_schedule(c->jwt_lifetime_s, &jwt_ms, &scoped_ms);
        c->scoped_renew_at = now_ms() + scoped_ms;
        rc = 0;
    } else
        snprintf(c->err, sizeof(c->err), "scoped-token exchange returned no token");
    json_decref(j);
out:
    if (r.body)
        memset(r.body, 0, r.len);
    sf_resp_free(&r);
    return rc;
}

int sf_client_auth(struct sf_client *c, int force, long *status)
{
    *status = 0;
    if ((force || !c->jwt || now_ms() >= c->jwt_renew_at) && renew_jwt(c))
        return -1;
    if (!c->ingest_host[0] && discover_host(c, status))
        return -1;
    if ((force || !c->scoped || now_ms() >= c->scoped_renew_at) && renew_scoped(c, status))
        return -1;
    return 0;
}

static const char *plane_token(struct sf_client *c, enum sf_plane plane, long *status)
{
    if (plane == SF_CONTROL) {
        if ((!c->jwt || now_ms() >= c->jwt_renew_at) && renew_jwt(c))
            return NULL;
        return c->jwt;
    }
    if (sf_client_auth(c, 0, status))
        return NULL;
    return c->scoped;
}

int sf_call(struct sf_client *c, enum sf_plane plane, const char *method, const char *path,
            const char *ctype, const char *body, size_t len, int gzip, struct sf_resp *r)
{
    char *zbody = NULL;
    size_t zlen = len;
    if (gzip && body && sf_gzip(body, len, &zbody, &zlen)) {
        snprintf(c->err, sizeof(c->err), "gzip failed");
        return -1;
    }
    int renewed = 0, rc = -1;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        memset(r, 0, sizeof(*r));
        long auth_status = 0;
        const char *tok = plane_token(c, plane, &auth_status);
        if (!tok) {
            if (auth_status && !retriable(auth_status)) {
                r->status = auth_status; /* the token exchange itself was refused */
                rc = 0;
                break;
            }
            if (backoff(c, attempt))
                break;
            continue;
        }
        char url[2048];
        snprintf(url, sizeof(url), "%s%s%s", plane == SF_CONTROL ? c->url.base : c->url.scheme,
                 plane == SF_CONTROL ? "" : "://", plane == SF_CONTROL ? path : c->ingest_host);
        if (plane == SF_INGEST)
            snprintf(url + strlen(url), sizeof(url) - strlen(url), "%s", path);
        struct curl_slist *h =
            headers(tok, plane == SF_CONTROL ? "KEYPAIR_JWT" : "OAUTH", ctype, gzip && body);
        int tr = http_once(c, method, url, h, zbody ? zbody : body, zlen, r);
        slist_free_secret(h);
        if (tr == 0 && r->status == 401 && renewed < 2) {
            renewed++;
            if (plane == SF_CONTROL)
                c->jwt_renew_at = 0;
            else
                c->scoped_renew_at = 0;
            sf_resp_free(r);
            continue;
        }
        if (tr == 0 && !retriable(r->status)) {
            rc = 0;
            break;
        }
        if (tr == 0) {
            char code[128], msg[256];
            sf_resp_error(r, code, sizeof(code), msg, sizeof(msg));
            snprintf(c->err, sizeof(c->err), "%s %.*s answered HTTP %ld %.100s %.200s", method,
                     (int)strcspn(path, "?"), path, r->status, code, msg);
            sf_resp_free(r);
        }
        if (c->t)
            task_log(c->t, 1, "snowflake: %s; retrying", c->err);
        if (backoff(c, attempt))
            break;
    }
    free(zbody);
    return rc;
}
