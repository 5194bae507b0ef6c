/* The Snowflake sink's JSON writer: the same text as jansson's compact dump for everything but
 * reals, reals in their shortest form that reads back as the same double, invalid UTF-8 (which
 * raw keys and headers may hold) refused. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/snowflake/sf_row.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *write_json(const json_t *v)
{
    struct sf_buf b = {0};
    assert_int_equal(sf_buf_json(&b, v), 0);
    sf_buf_put(&b, "", 1);
    return b.p;
}

static void same_text_as_jansson_without_reals(void **st)
{
    json_t *v = json_pack("{s:s s:I s:I s:I s:[i,b,b,n,{}] s:{} s:s s:s}", "deviceId", "device7",
                          "big", (json_int_t)INT64_MAX, "small", (json_int_t)INT64_MIN, "zero",
                          (json_int_t)0, "list", -12, 1, 0, "empty", "esc",
                          "q\" b\\ s/ \b\f\n\r\t \x01\x1f \x7f", "utf8",
                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_object_set_new(v, "nul", json_stringn("a\0b", 3));
    char *ours = write_json(v);
    char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(ours, theirs);
    assert_non_null(strstr(ours, "\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001F \x7f\""));
    assert_non_null(strstr(ours, "\"nul\":\"a\\u0000b\""));
    free(ours);
    free(theirs);
    json_decref(v);
    json_t *scalars[] = {json_string(""), json_integer(-7), json_true(), json_null()};
    const char *want[] = {"\"\"", "-7", "true", "null"};
    for (int i = 0; i < 4; i++) {
        ours = write_json(scalars[i]);
        assert_string_equal(ours, want[i]);
        free(ours);
        json_decref(scalars[i]);
    }
}

static void reals_shortest(void **st)
{
    struct {
        double v;
        const char *text;
    } cases[] = {{40.7128, "40.7128"}, {-74.006, "-74.006"}, {1.0, "1.0"}, {-0.0, "-0.0"},
                 {0.0, "0.0"}, {0.1, "0.1"}, {72.5, "72.5"}, {0.1 + 0.2, "0.30000000000000004"},
                 {1e20, "1e20"}, {1.5e-300, "1.5e-300"}, {123456789.125, "123456789.125"},
                 {9007199254740993.0, "9007199254740992.0"}, {1e-7, "0.0000001"},
                 {5e-324, "4.94065645841247e-324"}, {1.7976931348623157e308,
                                                       "1.7976931348623157e308"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[40];
        size_t n = sf_format_double(out, cases[i].v);
        assert_string_equal(out, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
    }
}

/* Whatever the double, the text reads back as it and keeps a '.' or an exponent. */
static void reals_read_back(void **st)
{
    srand(6);
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double v;
        if (i % 2) {
            memcpy(&v, &bits, sizeof(v));
            if (!isfinite(v))
                continue;
        } else /* sensor-like: a few decimals */
            v = (double)(int64_t)(bits % 2000000000 - 1000000000) / (double)(1 + i % 10000);
        char out[40];
        sf_format_double(out, v);
        assert_true(strtod(out, NULL) == v && signbit(strtod(out, NULL)) == signbit(v));
        assert_non_null(strpbrk(out, ".e"));
    }
}

static void invalid_utf8_refused(void **st)
{
    const char *bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sf_buf b = {0};
        sf_buf_put(&b, "x", 1);
        assert_int_equal(sf_buf_str(&b, bad[i], strlen(bad[i])), -1);
        assert_int_equal(b.len, 1); /* nothing of it written */
        json_t *v = json_pack("{s:o}", "k", json_stringn_nocheck(bad[i], strlen(bad[i])));
        assert_int_equal(sf_buf_json(&b, v), -1);
        json_decref(v);
        sf_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_as_jansson_without_reals),
        cmocka_unit_test(reals_shortest),
        cmocka_unit_test(reals_read_back),
        cmocka_unit_test(invalid_utf8_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
