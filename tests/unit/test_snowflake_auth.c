/* The pure parts of the Snowflake sink: URL and account parsing (snowflake.url.name as the
 * Snowflake connector accepts it, .global hosts), key loading (PEM, bare base64, encrypted
 * PKCS#8, wrong passphrase, short keys), the public-key fingerprint, and the key-pair JWT,
 * whose signature is verified here with the public key alone. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/snowflake/sf_auth.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static void url_accepts_the_connector_forms(void **st)
{
    struct sf_url u;
    char err[128];
    const char *same[] = {"myorg-acct.snowflakecomputing.com",
                          "https://myorg-acct.snowflakecomputing.com",
                          "https://MyOrg-Acct.snowflakecomputing.com:443",
                          "myorg-acct.snowflakecomputing.com:443/", NULL};
    for (int i = 0; same[i]; i++) {
        assert_int_equal(sf_url_parse(same[i], &u, err, sizeof(err)), 0);
        assert_string_equal(u.base, "https://myorg-acct.snowflakecomputing.com:443");
        assert_string_equal(u.host, "myorg-acct.snowflakecomputing.com");
    }
    assert_int_equal(sf_url_parse("http://127.0.0.1:8443", &u, err, sizeof(err)), 0);
    assert_string_equal(u.scheme, "http");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.base, "http://127.0.0.1:8443");
    assert_int_equal(sf_url_parse("ftp://x", &u, err, sizeof(err)), -1);
    assert_int_equal(sf_url_parse("https://", &u, err, sizeof(err)), -1);
    assert_int_equal(sf_url_parse("acct.snowflakecomputing.com:99999", &u, err, sizeof(err)), -1);
    assert_int_equal(sf_url_parse("acct.snowflakecomputing.com/path", &u, err, sizeof(err)), -1);
}

static void account_comes_from_the_host(void **st)
{
    char a[64];
    assert_int_equal(sf_account_from_host("xy12345.us-east-1.snowflakecomputing.com", a,
                                          sizeof(a)), 0);
    assert_string_equal(a, "XY12345");
    assert_int_equal(sf_account_from_host("myorg-myacct.snowflakecomputing.com", a, sizeof(a)),
                     0);
    assert_string_equal(a, "MYORG-MYACCT");
    /* seed 002's global URL: the part before the first '-' */
    assert_int_equal(sf_account_from_host("vhnysfx-pg06824.global.snowflakecomputing.com", a,
                                          sizeof(a)), 0);
    assert_string_equal(a, "VHNYSFX");
    assert_int_equal(sf_account_from_host("127.0.0.1", a, sizeof(a)), -1);
    sf_account_normalise("myorg.my_acct", a, sizeof(a));
    assert_string_equal(a, "MYORG-MY_ACCT");
}

static EVP_PKEY *make_key(int bits)
{
    return EVP_RSA_gen((unsigned)bits);
}

static char *pem_of(EVP_PKEY *k, const char *pass)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (pass)
        PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), pass, (int)strlen(pass), NULL,
                                      NULL);
    else
        PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}

/* The base64 body of a PEM, on one line, as users paste it into snowflake.private.key. */
static char *bare_of(const char *pem)
{
    char *out = calloc(1, strlen(pem)), *o = out;
    const char *p = strchr(pem, '\n') + 1;
    const char *end = strstr(p, "-----END");
    for (; p < end; p++)
        if (*p != '\n')
            *o++ = *p;
    return out;
}

static int same_key(EVP_PKEY *a, EVP_PKEY *b)
{
    return EVP_PKEY_eq(a, b) == 1;
}

static void key_loads_in_every_form(void **st)
{
    EVP_PKEY *k = make_key(2048);
    char err[256];
    char *pem = pem_of(k, NULL), *bare = bare_of(pem);
    EVP_PKEY *got = sf_key_load(pem, "", err, sizeof(err));
    assert_non_null(got);
    assert_true(same_key(k, got));
    EVP_PKEY_free(got);
    got = sf_key_load(bare, NULL, err, sizeof(err));
    assert_non_null(got);
    assert_true(same_key(k, got));
    EVP_PKEY_free(got);

    char *enc = pem_of(k, "s3cret"), *enc_bare = bare_of(enc);
    got = sf_key_load(enc, "s3cret", err, sizeof(err));
    assert_non_null(got);
    assert_true(same_key(k, got));
    EVP_PKEY_free(got);
    got = sf_key_load(enc_bare, "s3cret", err, sizeof(err));
    assert_non_null(got);
    EVP_PKEY_free(got);
    assert_null(sf_key_load(enc, "wrong", err, sizeof(err)));
    assert_non_null(strstr(err, "wrong passphrase"));
    assert_null(sf_key_load(enc, "", err, sizeof(err)));
    assert_non_null(strstr(err, "snowflake.private.key.passphrase"));
    assert_null(sf_key_load("bm90IGEga2V5", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a valid"));
    free(pem);
    free(bare);
    free(enc);
    free(enc_bare);
    EVP_PKEY_free(k);

    EVP_PKEY *small = make_key(1024);
    pem = pem_of(small, NULL);
    assert_null(sf_key_load(pem, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "2048"));
    free(pem);
    EVP_PKEY_free(small);
}

static void fingerprint_is_sha256_of_the_spki(void **st)
{
    EVP_PKEY *k = make_key(2048);
    char fp[64];
    assert_int_equal(sf_key_fingerprint(k, fp, sizeof(fp)), 0);
    unsigned char *der = NULL, md[32], want[64] = "SHA256:";
    int n = i2d_PUBKEY(k, &der);
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    EVP_EncodeBlock(want + 7, md, 32);
    assert_string_equal(fp, (char *)want);
    assert_int_equal(strlen(fp), 7 + 44); /* padded standard base64 */
    EVP_PKEY_free(k);
}

static void b64url_has_no_padding(void **st)
{
    char out[16];
    assert_int_equal(sf_b64url((const unsigned char *)"\xfb\xff", 2, out, sizeof(out)), 3);
    assert_string_equal(out, "-_8");
    assert_int_equal(sf_b64url((const unsigned char *)"abc", 3, out, 4), -1);
}

static size_t b64url_decode(const char *in, size_t n, unsigned char *out)
{
    char *b = calloc(1, n + 4);
    for (size_t i = 0; i < n; i++)
        b[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    size_t len = n;
    while (len % 4)
        b[len++] = '=';
    int got = EVP_DecodeBlock(out, (unsigned char *)b, (int)len);
    size_t pad = len - n;
    free(b);
    return (size_t)got - pad;
}

static void jwt_verifies_with_the_public_key(void **st)
{
    EVP_PKEY *k = make_key(2048);
    char fp[64];
    sf_key_fingerprint(k, fp, sizeof(fp));
    char *tok = sf_jwt_build(k, "myorg-acct", "kafka_user", fp, 1700000000, 1700003540);
    assert_non_null(tok);
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    assert_true(dot1 && dot2 && dot1 != dot2);

    unsigned char buf[4096];
    size_t n = b64url_decode(tok, (size_t)(dot1 - tok), buf);
    buf[n] = 0;
    assert_string_equal((char *)buf, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    n = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
    json_t *claims = json_loadb((char *)buf, n, 0, NULL);
    char iss[200];
    snprintf(iss, sizeof(iss), "MYORG-ACCT.KAFKA_USER.%s", fp);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), iss);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "MYORG-ACCT.KAFKA_USER");
    assert_int_equal(json_integer_value(json_object_get(claims, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 1700003540);
    json_decref(claims);

    /* Verify RS256 with only the public half. */
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(k, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, dl);
    OPENSSL_free(der);
    size_t sl = b64url_decode(dot2 + 1, strlen(dot2 + 1), buf);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(md, buf, sl, (unsigned char *)tok, (size_t)(dot2 - tok)), 1);
    EVP_MD_CTX_free(md);
    /* and a tampered payload does not verify */
    tok[(dot1 - tok) + 3] ^= 1;
    md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub);
    assert_int_not_equal(EVP_DigestVerify(md, buf, sl, (unsigned char *)tok, (size_t)(dot2 - tok)),
                         1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(k);
    free(tok);
}

static void identifiers_and_topic_map(void **st)
{
    char *s = sf_identifier("heart_rate_device_topic");
    assert_string_equal(s, "HEART_RATE_DEVICE_TOPIC");
    free(s);
    s = sf_identifier("9lives.events-v2");
    assert_string_equal(s, "_9LIVES_EVENTS_V2");
    free(s);
    char err[128];
    json_t *m = sf_topic2table_parse(" t1:T1 , temp:temps_tbl ", err, sizeof(err));
    assert_non_null(m);
    s = sf_table_for_topic(m, "temp");
    assert_string_equal(s, "TEMPS_TBL");
    free(s);
    s = sf_table_for_topic(m, "other-topic");
    assert_string_equal(s, "OTHER_TOPIC");
    free(s);
    json_decref(m);
    m = sf_topic2table_parse("", err, sizeof(err));
    assert_int_equal(json_object_size(m), 0);
    json_decref(m);
    assert_null(sf_topic2table_parse("t1", err, sizeof(err)));
    assert_null(sf_topic2table_parse("t1:A,t1:B", err, sizeof(err)));
    assert_non_null(strstr(err, "twice"));
    assert_null(sf_topic2table_parse("t1:bad-name", err, sizeof(err)));
}

static void offset_tokens_compare_as_numbers(void **st)
{
    assert_true(sf_offset_token("10") > sf_offset_token("9"));
    assert_int_equal(sf_offset_token(NULL), -1);
    assert_int_equal(sf_offset_token("x1"), -1);
    assert_int_equal(sf_offset_token("0"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_accepts_the_connector_forms),
        cmocka_unit_test(account_comes_from_the_host),
        cmocka_unit_test(key_loads_in_every_form),
        cmocka_unit_test(fingerprint_is_sha256_of_the_spki),
        cmocka_unit_test(b64url_has_no_padding),
        cmocka_unit_test(jwt_verifies_with_the_public_key),
        cmocka_unit_test(identifiers_and_topic_map),
        cmocka_unit_test(offset_tokens_compare_as_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
