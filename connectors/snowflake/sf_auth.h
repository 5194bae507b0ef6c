/* sf_auth.h — the pure pieces of the Snowflake sink: URL and account parsing, private-key
 * loading, public-key fingerprint, key-pair JWT, identifier and topic-to-table mapping.
 * No I/O; unit-tested in tests/unit/test_snowflake_*.c. */
#ifndef CD_SF_AUTH_H
#define CD_SF_AUTH_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct sf_url {
    char scheme[8];  /* "https" or "http" */
    char host[256];  /* lower-cased host name, no port */
    int port;
    char base[300];  /* scheme://host:port, what requests are sent to */
};

/* Parses snowflake.url.name: "acct.snowflakecomputing.com" with or without "https://" and
 * ":443", or "http://host:port" for an emulator. A path is ignored ("/" only). 0 or -1 + err. */
int sf_url_parse(const char *in, struct sf_url *out, char *err, size_t errlen);

/* The account of the JWT from a Snowflake host, as Snowflake's clients derive it: for a
 * ".global" host the part before the first '-', otherwise the part before the first '.';
 * upper-cased. Returns 0, or -1 when host is not under snowflakecomputing.com. */
int sf_account_from_host(const char *host, char *out, size_t outlen);

/* Normalises an account name given by the user: dots become hyphens, upper case. */
void sf_account_normalise(const char *in, char *out, size_t outlen);

/* Loads an RSA private key from PEM (any of PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA PRIVATE
 * KEY; line breaks optional) or bare base64 PKCS#8 (encrypted when passphrase is non-empty).
 * Never prompts. Returns a new key (caller frees with EVP_PKEY_free) or NULL with err. The
 * error text never contains key material. */
EVP_PKEY *sf_key_load(const char *text, const char *passphrase, char *err, size_t errlen);

/* "SHA256:" + base64(SHA-256(DER SubjectPublicKeyInfo)). 0 or -1. */
int sf_key_fingerprint(EVP_PKEY *key, char *out, size_t outlen);

/* base64url without padding. Returns the length written or -1 when out is too small. */
int sf_b64url(const unsigned char *in, size_t len, char *out, size_t outlen);

/* Builds and signs (RS256) the key-pair JWT: iss ACCOUNT.USER.FP, sub ACCOUNT.USER, iat, exp
 * in seconds. account and user are upper-cased here. Returns a malloc'd token or NULL. */
char *sf_jwt_build(EVP_PKEY *key, const char *account, const char *user, const char *fp,
                   int64_t iat, int64_t exp);

/* An unquoted Snowflake identifier made from name: upper case, characters other than
 * [A-Z0-9_$] become '_', a leading digit or '$' gets a '_' prefix. Caller frees. */
char *sf_identifier(const char *name);

/* Parses snowflake.topic2table.map ("t1:T1,t2:T2") into {topic: TABLE}. NULL + err when an
 * entry is malformed or a topic appears twice. An empty map gives an empty object. */
json_t *sf_topic2table_parse(const char *map, char *err, size_t errlen);

/* Table for topic: the map's entry or sf_identifier(topic). Caller frees. */
char *sf_table_for_topic(json_t *map, const char *topic);

/* Offset tokens compare as numbers ("10" > "9"). Parses one; -1 when NULL or not a number. */
int64_t sf_offset_token(const char *tok);

#endif
