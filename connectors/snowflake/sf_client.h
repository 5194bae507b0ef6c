/* sf_client.h — HTTP client of the Snowflake sink: key-pair JWT on the control plane, scoped
 * token on the ingest plane, hostname discovery, retries with jittered backoff on transport
 * errors, 408, 429 and 5xx, token renewal before expiry and on 401. One per task thread. */
#ifndef CD_SF_CLIENT_H
#define CD_SF_CLIENT_H

#include "plugin.h"
#include "sf_auth.h"

#include <curl/curl.h>

enum sf_plane { SF_CONTROL = 0, SF_INGEST };

struct sf_client {
    struct task_ctx *t; /* for logs and stop checks; may be NULL (validate) */
    CURL *curl;
    struct sf_url url;
    char account[256], user[256], role[256];
    char fp[64];
    EVP_PKEY *key;          /* owned */
    int jwt_lifetime_s;     /* exp - iat of the JWTs we sign; SF_JWT_LIFETIME_S by default */
    char *jwt;              /* never logged */
    int64_t jwt_renew_at;   /* ms since the epoch */
    char *scoped;           /* never logged */
    int64_t scoped_renew_at; /* ms since the epoch */
    char ingest_host[300];  /* host[:port] from hostname discovery, "" until known */
    char err[1024];         /* last failure, readable, no secrets */
};

struct sf_resp {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
};

/* Snowflake's own clients sign 59-minute JWTs and renew them at 54 minutes. */
#define SF_JWT_LIFETIME_S 3540

/* When to renew, in ms after issue, for JWTs of lifetime_s seconds: the JWT at 54/59 of its
 * lifetime (54 minutes for 59) and the scoped token at 45/59 (45 minutes), since the scoped
 * token's lifetime is undocumented (one client assumes 55 minutes). */
void sf_token_schedule(int lifetime_s, int64_t *jwt_renew_ms, int64_t *scoped_renew_ms);

/* Takes ownership of key. Returns 0 or -1 (curl init failed). */
int sf_client_init(struct sf_client *c, struct task_ctx *t, const struct sf_url *url,
                   const char *account, const char *user, const char *role, EVP_PKEY *key);
void sf_client_free(struct sf_client *c);
void sf_resp_free(struct sf_resp *r);

/* One request with auth and retries. path starts with '/'. body may be gzip-compressed first
 * (gzip=1). Returns 0 when a final reply arrived (any status: 2xx, or an error status that
 * retrying cannot fix, or still 401 after renewing the tokens); -1 when retries ran out or the
 * task is stopping (c->err says why). */
int sf_call(struct sf_client *c, enum sf_plane plane, const char *method, const char *path,
            const char *ctype, const char *body, size_t len, int gzip, struct sf_resp *r);

/* The error code and message of an error reply ({"code","message"}, {"error_code",...} or a
 * bare JSON string), written to code/msg (may be empty). */
void sf_resp_error(const struct sf_resp *r, char *code, size_t codelen, char *msg, size_t msglen);

/* Makes sure the JWT, the ingest host and the scoped token are usable; force renews them.
 * 0, or -1 with c->err (status in *status when the service answered, else 0). */
int sf_client_auth(struct sf_client *c, int force, long *status);

/* gzip of in (malloc'd into *out). 0 or -1. */
int sf_gzip(const char *in, size_t len, char **out, size_t *outlen);

/* Percent-encodes a path segment into out (always NUL-terminated, truncated to fit). */
void sf_escape(const char *in, char *out, size_t outlen);

#endif
