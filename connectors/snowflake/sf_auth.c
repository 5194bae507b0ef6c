/* sf_auth.c — see sf_auth.h. */
#include "sf_auth.h"
#include "json_alloc.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sf_url_parse(const char *in, struct sf_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *p = in;
    while (*p == ' ')
        p++;
    strcpy(out->scheme, "https");
    if (!strncasecmp(p, "https://", 8))
        p += 8;
    else if (!strncasecmp(p, "http://", 7)) {
        strcpy(out->scheme, "http");
        p += 7;
    } else if (strstr(p, "://")) {
        snprintf(err, errlen, "only https:// (or http:// for a local emulator) URLs are supported");
        return -1;
    }
    size_t hl = strcspn(p, ":/ ");
    if (hl == 0 || hl >= sizeof(out->host)) {
        snprintf(err, errlen, "no host name in the URL");
        return -1;
    }
    for (size_t i = 0; i < hl; i++) {
        if (!isalnum((unsigned char)p[i]) && !strchr("-._", p[i])) {
            snprintf(err, errlen, "invalid character '%c' in the host name", p[i]);
            return -1;
        }
        out->host[i] = (char)tolower((unsigned char)p[i]);
    }
    p += hl;
    out->port = strcmp(out->scheme, "https") ? 80 : 443;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535) {
            snprintf(err, errlen, "invalid port");
            return -1;
        }
        out->port = (int)port;
        p = end;
    }
    while (*p == '/' || *p == ' ')
        p++;
    if (*p) {
        snprintf(err, errlen, "unexpected text after the host and port: the URL has no path");
        return -1;
    }
    snprintf(out->base, sizeof(out->base), "%s://%s:%d", out->scheme, out->host, out->port);
    return 0;
}

static void upper_copy(const char *in, size_t n, char *out, size_t outlen)
{
    size_t i = 0;
    for (; i < n && in[i] && i + 1 < outlen; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = 0;
}

int sf_account_from_host(const char *host, char *out, size_t outlen)
{
    const char *suffix = ".snowflakecomputing.com";
    size_t hl = strlen(host), sl = strlen(suffix);
    if (hl <= sl || strcasecmp(host + hl - sl, suffix))
        return -1;
    size_t n = strstr(host, ".global") ? strcspn(host, "-") : strcspn(host, ".");
    upper_copy(host, n, out, outlen);
    return out[0] ? 0 : -1;
}

void sf_account_normalise(const char *in, char *out, size_t outlen)
{
    upper_copy(in, strlen(in), out, outlen);
    for (char *c = out; *c; c++)
        if (*c == '.')
            *c = '-';
}

/* The label of a PEM header ("PRIVATE KEY"), or NULL when text has none; *body gets the
 * text after the header line. */
static char *pem_label(const char *text, const char **body)
{
    const char *b = strstr(text, "-----BEGIN ");
    if (!b)
        return NULL;
    b += 11;
    const char *e = strstr(b, "-----");
    if (!e)
        return NULL;
    *body = e + 5;
    return strndup(b, (size_t)(e - b));
}

/* Rewraps base64 text (whitespace anywhere, stops at a "-----" footer) as a PEM block. */
static char *pem_rewrap(const char *label, const char *b64)
{
    size_t n = strlen(b64), cap = n + n / 64 + 2 * strlen(label) + 64;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    o += sprintf(o, "-----BEGIN %s-----\n", label);
    int col = 0;
    for (const char *c = b64; *c && strncmp(c, "-----", 5); c++) {
        if (*c == '\\' && c[1] == 'n') { /* "\n" written literally in a one-line value */
            c++;
            continue;
        }
        if (isspace((unsigned char)*c))
            continue;
        *o++ = *c;
        if (++col == 64) {
            *o++ = '\n';
            col = 0;
        }
    }
    if (col)
        *o++ = '\n';
    sprintf(o, "-----END %s-----\n", label);
    return out;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pass = u;
    if (!pass || !*pass)
        return 0; /* never prompt on the terminal */
    int n = (int)strlen(pass);
    if (n > size)
        n = size;
    memcpy(buf, pass, (size_t)n);
    return n;
}

EVP_PKEY *sf_key_load(const char *text, const char *passphrase, char *err, size_t errlen)
{
    const char *body = text;
    char *label = pem_label(text, &body);
    int has_pass = passphrase && *passphrase;
    if (!label)
        label = strdup(has_pass ? "ENCRYPTED PRIVATE KEY" : "PRIVATE KEY");
    int encrypted = strstr(label, "ENCRYPTED") != NULL;
    char *pem = pem_rewrap(label, body);
    EVP_PKEY *key = NULL;
    if (encrypted && !has_pass) {
        snprintf(err, errlen, "the private key is encrypted: set snowflake.private.key.passphrase");
        goto out;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    key = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, (void *)passphrase);
    BIO_free(bio);
    ERR_clear_error();
    if (!key) {
        snprintf(err, errlen, encrypted ? "cannot decrypt the private key: wrong passphrase or "
                                          "not an encrypted PKCS#8 key"
                                        : "not a valid PEM or base64 PKCS#8 private key");
        goto out;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 2048) {
        snprintf(err, errlen, "Snowflake needs an RSA key of at least 2048 bits");
        EVP_PKEY_free(key);
        key = NULL;
    }
out:
    if (pem) {
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
    }
    free(label);
    return key;
}

int sf_key_fingerprint(EVP_PKEY *key, char *out, size_t outlen)
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return -1;
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    if (outlen < 7 + 45)
        return -1;
    memcpy(out, "SHA256:", 7);
    EVP_EncodeBlock((unsigned char *)out + 7, md, sizeof(md));
    return 0;
}

int sf_b64url(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (outlen < need)
        return -1;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = 0;
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return n;
}

char *sf_jwt_build(EVP_PKEY *key, const char *account, const char *user, const char *fp,
                   int64_t iat, int64_t exp)
{
    char acct[256], usr[256];
    upper_copy(account, strlen(account), acct, sizeof(acct));
    upper_copy(user, strlen(user), usr, sizeof(usr));
    char sub[520], iss[640];
    snprintf(sub, sizeof(sub), "%s.%s", acct, usr);
    snprintf(iss, sizeof(iss), "%s.%s", sub, fp);
    json_t *claims = json_pack("{s:s s:s s:I s:I}", "iss", iss, "sub", sub, "iat",
                               (json_int_t)iat, "exp", (json_int_t)exp);
    char *payload = cd_json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(claims);
    const char *header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    size_t cap = 4 * (strlen(header) + strlen(payload)) / 3 + 1024 + 4 * 1024;
    char *tok = malloc(cap);
    unsigned char *sig = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!tok || !md)
        goto fail;
    int n = sf_b64url((const unsigned char *)header, strlen(header), tok, cap);
    tok[n++] = '.';
    n += sf_b64url((const unsigned char *)payload, strlen(payload), tok + n, cap - (size_t)n);
    size_t siglen = 0;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (unsigned char *)tok, (size_t)n) != 1)
        goto fail;
    sig = malloc(siglen);
    if (!sig || EVP_DigestSign(md, sig, &siglen, (unsigned char *)tok, (size_t)n) != 1)
        goto fail;
    tok[n++] = '.';
    if (sf_b64url(sig, siglen, tok + n, cap - (size_t)n) < 0)
        goto fail;
    free(sig);
    free(payload);
    EVP_MD_CTX_free(md);
    return tok;
fail:
    ERR_clear_error();
    free(sig);
    free(payload);
    free(tok);
    EVP_MD_CTX_free(md);
    return NULL;
}

char *sf_identifier(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(n + 2), *o = out;
    if (!out)
        return NULL;
    if (!n || isdigit((unsigned char)name[0]) || name[0] == '$')
        *o++ = '_';
    for (const char *c = name; *c; c++)
        *o++ = (isalnum((unsigned char)*c) || *c == '_' || *c == '$')
                   ? (char)toupper((unsigned char)*c) : '_';
    *o = 0;
    return out;
}

json_t *sf_topic2table_parse(const char *map, char *err, size_t errlen)
{
    json_t *out = json_object();
    char *copy = strdup(map ? map : ""), *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*e))
            e++;
        char *end = e + strlen(e);
        while (end > e && isspace((unsigned char)end[-1]))
            *--end = 0;
        if (!*e)
            continue;
        char *colon = strchr(e, ':');
        if (!colon || colon == e || !colon[1] || strchr(colon + 1, ':')) {
            snprintf(err, errlen, "entry '%s' is not topic:table", e);
            goto fail;
        }
        *colon = 0;
        if (json_object_get(out, e)) {
            snprintf(err, errlen, "topic '%s' is mapped twice", e);
            goto fail;
        }
        char *table = sf_identifier(colon + 1);
        if (strcmp(table, colon + 1) && strcasecmp(table, colon + 1)) {
            snprintf(err, errlen, "table name '%s' is not a valid Snowflake identifier",
                     colon + 1);
            free(table);
            goto fail;
        }
        json_object_set_new(out, e, json_string(table));
        free(table);
    }
    free(copy);
    return out;
fail:
    free(copy);
    json_decref(out);
    return NULL;
}

char *sf_table_for_topic(json_t *map, const char *topic)
{
    const char *t = json_string_value(json_object_get(map, topic));
    return t ? strdup(t) : sf_identifier(topic);
}

int64_t sf_offset_token(const char *tok)
{
    if (!tok || !*tok)
        return -1;
    char *end;
    long long v = strtoll(tok, &end, 10);
    return *end || v < 0 ? -1 : (int64_t)v;
}
