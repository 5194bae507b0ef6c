/* The pure helpers under the transforms: SimpleDateFormat patterns in UTC, Java regexes on
 * POSIX regex with Java's replacement syntax. */
#include "smt_harness.h"

#include "smt_util.h"
#include "conv_util.h"

/* Double.toString's output: shortest digits that read back, ".0", E outside [1e-3, 1e7). */
static void doubles_print_like_java(void **st)
{
    static const struct {
        double v;
        const char *java;
    } cases[] = {{36.6, "36.6"},          {1e7, "1.0E7"},
                 {63521704.02, "6.352170402E7"}, {0.001, "0.001"},
                 {1.0e-4, "1.0E-4"},      {0.1 + 0.2, "0.30000000000000004"},
                 {100.0, "100.0"},        {-0.0, "-0.0"},
                 {2.2250738585072014E-308, "2.2250738585072014E-308"},
                 {123456789012345678.0, "1.2345678901234568E17"}, {1.5e300, "1.5E300"},
                 {1e-310, "1.0E-310"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char b[64];
        java_double(cases[i].v, b, sizeof(b));
        assert_string_equal(b, cases[i].java);
    }
}

/* java_double's fast path for values with few decimals gives what the general path gives. */
static void double_fast_path_matches_general_path(void **st)
{
    static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    unsigned long long s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double v;
        if (i % 4 == 3) /* any bit pattern */
            memcpy(&v, &s, sizeof(v));
        else /* a decimal with 0-8 decimals, around the range's edges too */
            v = (double)(long long)(s % 20000000000ull) / scale[(s >> 40) % 9] *
                (i % 2 ? -1 : 1) / ((s >> 50) % 3 == 0 ? 1000 : 1);
        char fast[64], general[64];
        java_double(v, fast, sizeof(fast));
        java_double_general(v, general, sizeof(general));
        if (strcmp(fast, general))
            fail_msg("%.17g: fast %s, general %s", v, fast, general);
    }
}

static void date_format_patterns_like_simpledateformat(void **st)
{
    char out[128];
    int64_t ms = 1504228522123; /* 2017-09-01T01:15:22.123Z, a Friday */
    smt_datefmt_format("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", ms, out, sizeof(out));
    assert_string_equal(out, "2017-09-01T01:15:22.123Z");
    smt_datefmt_format("EEE, d MMM yyyy HH:mm:ss Z", ms, out, sizeof(out));
    assert_string_equal(out, "Fri, 1 Sep 2017 01:15:22 +0000");
    smt_datefmt_format("EEEE MMMM yy, hh 'o''clock' a, D", ms, out, sizeof(out));
    assert_string_equal(out, "Friday September 17, 01 o'clock AM, 244");
    smt_datefmt_format("yyyyMMdd", -1, out, sizeof(out)); /* the last ms of 1969 */
    assert_string_equal(out, "19691231");
    char err[128];
    assert_int_equal(smt_datefmt_check("yyyy-MM-dd", err, sizeof(err)), 0);
    assert_int_equal(smt_datefmt_check("yyyy-qq", err, sizeof(err)), -1);
    assert_string_equal(err, "Illegal pattern character 'q'");
}

static void date_parse_fixed_width_names_and_zones(void **st)
{
    int64_t ms;
    assert_int_equal(smt_datefmt_parse("yyyyMMddHHmmss", "20170901011522", &ms), 0);
    assert_int_equal(ms, 1504228522000);
    assert_int_equal(smt_datefmt_parse("dd MMM yyyy HH:mm:ss.SSS Z", "01 Sep 2017 03:15:22.5 +0200",
                                       &ms), 0);
    assert_int_equal(ms, 1504228522005);
    assert_int_equal(smt_datefmt_parse("yyyy-MM-dd'T'HH:mm:ssXXX", "2017-09-01T01:15:22Z", &ms),
                     0);
    assert_int_equal(ms, 1504228522000);
    assert_int_equal(smt_datefmt_parse("h:mm a", "1:15 PM", &ms), 0);
    assert_int_equal(ms, 13 * 3600000 + 15 * 60000);
    assert_int_equal(smt_datefmt_parse("yyyy-MM-dd", "2017/09/01", &ms), -1);
    /* Kafka's TimestampConverterTest pattern, both ways */
    char out[64];
    smt_datefmt_format("yyyy MM dd HH mm ss SSS z", 86401234, out, sizeof(out));
    assert_string_equal(out, "1970 01 02 00 00 01 234 UTC");
    assert_int_equal(smt_datefmt_parse("yyyy MM dd HH mm ss SSS z", out, &ms), 0);
    assert_int_equal(ms, 86401234);
}

static void java_regex_whole_match_and_replacement(void **st)
{
    regex_t re;
    regmatch_t m[10];
    char err[256];
    assert_int_equal(smt_regex_compile(&re, "(\\w+)-(\\d+)", err, sizeof(err)), 0);
    assert_true(smt_regex_matches(&re, "logs-2024", 10, m));
    assert_false(smt_regex_matches(&re, "logs-2024x", 10, m)); /* matches() is whole-string */
    assert_true(smt_regex_matches(&re, "logs-2024", 10, m));
    char *s = smt_regex_replace("logs-2024", m, 10, "$2_${1}_\\$1_$12");
    /* $12 is group 1 then "2": there is no group 12 */
    assert_string_equal(s, "2024_logs_$1_logs2");
    free(s);
    regfree(&re);
    assert_int_equal(smt_regex_compile(&re, "[\\d.]+", err, sizeof(err)), 0);
    assert_true(smt_regex_matches(&re, "10.2", 0, NULL));
    regfree(&re);
    assert_int_equal(smt_regex_compile(&re, "(?:a)b", err, sizeof(err)), -1);
    assert_int_equal(smt_regex_compile(&re, "a(", err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_print_like_java),
        cmocka_unit_test(double_fast_path_matches_general_path),
        cmocka_unit_test(date_format_patterns_like_simpledateformat),
        cmocka_unit_test(date_parse_fixed_width_names_and_zones),
        cmocka_unit_test(java_regex_whole_match_and_replacement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
