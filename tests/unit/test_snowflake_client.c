/* The pure helpers of the Snowflake HTTP client: gzip bodies that zlib inflates back, path
 * segment escaping, and error replies in every shape the reference lists ({"code","message"},
 * {"error_code",...}, a bare JSON string, plain text). */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/snowflake/sf_client.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void gzip_round_trips(void **st)
{
    char in[5000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (char)('a' + i % 7);
    char *z;
    size_t zlen;
    assert_int_equal(sf_gzip(in, sizeof(in), &z, &zlen), 0);
    assert_true(zlen < sizeof(in));
    assert_int_equal((unsigned char)z[0], 0x1f); /* gzip magic, not raw deflate */
    assert_int_equal((unsigned char)z[1], 0x8b);
    char out[6000];
    z_stream s = {0};
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zlen;
    s.next_out = (Bytef *)out;
    s.avail_out = sizeof(out);
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, sizeof(in));
    assert_memory_equal(out, in, sizeof(in));
    inflateEnd(&s);
    free(z);
}

static void escape_keeps_unreserved(void **st)
{
    char out[64];
    sf_escape("T-STREAMING", out, sizeof(out));
    assert_string_equal(out, "T-STREAMING");
    sf_escape("a b/c?d", out, sizeof(out));
    assert_string_equal(out, "a%20b%2Fc%3Fd");
    char small[6];
    sf_escape("abc def", small, sizeof(small));
    assert_string_equal(small, "abc"); /* never a cut escape */
}

static void resp_error(const char *body, const char *code, const char *msg)
{
    struct sf_resp r = {.status = 400, .body = (char *)body, .len = strlen(body)};
    char c[64], m[128];
    sf_resp_error(&r, c, sizeof(c), m, sizeof(m));
    assert_string_equal(c, code);
    assert_string_equal(m, msg);
}

static void error_replies_in_every_shape(void **st)
{
    resp_error("{\"code\":\"STALE_CONTINUATION_TOKEN_SEQUENCER\",\"message\":\"reopen\"}",
               "STALE_CONTINUATION_TOKEN_SEQUENCER", "reopen");
    resp_error("{\"error_code\":\"ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED\"}",
               "ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED", "");
    resp_error("\"ERR_GENERAL_EXCEPTION_RETRY_REQUEST\"", "ERR_GENERAL_EXCEPTION_RETRY_REQUEST",
               "");
    resp_error("Service Unavailable", "", "Service Unavailable");
    struct sf_resp empty = {0};
    char c[8], m[8];
    sf_resp_error(&empty, c, sizeof(c), m, sizeof(m));
    assert_string_equal(c, "");
    assert_string_equal(m, "");
}

static void token_renewal_scales_with_the_jwt_lifetime(void **st)
{
    int64_t jwt, scoped;
    sf_token_schedule(SF_JWT_LIFETIME_S, &jwt, &scoped); /* Snowflake's clients: 59/54 min */
    assert_int_equal(jwt, 54 * 60 * 1000);
    assert_int_equal(scoped, 45 * 60 * 1000);
    sf_token_schedule(8, &jwt, &scoped); /* both well before the 8 s expiry */
    assert_int_equal(jwt, 7322);
    assert_int_equal(scoped, 6101);
    sf_token_schedule(3600, &jwt, &scoped);
    assert_true(jwt < 3600 * 1000 - 5 * 60 * 1000 + 1000);
    sf_token_schedule(0, &jwt, &scoped); /* unset: the default */
    assert_int_equal(jwt, 54 * 60 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_round_trips),
        cmocka_unit_test(escape_keeps_unreserved),
        cmocka_unit_test(error_replies_in_every_shape),
        cmocka_unit_test(token_renewal_scales_with_the_jwt_lifetime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
