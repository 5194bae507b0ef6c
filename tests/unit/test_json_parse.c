/* test_json_parse.c — cd_json_parse must accept exactly what jansson's json_loadb accepts and
 * build an equal tree: hand-picked edge cases, then random documents, valid and mutated,
 * compared against jansson itself. The flat-object scanner must never accept what
 * cd_json_parse refuses, and must read what it accepts as cd_json_parse does. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "json_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both parsers on the same bytes: same verdict, equal trees, same number types. */
static void same(const char *buf, size_t len)
{
    json_error_t je, me;
    json_t *want = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    json_t *got = cd_json_parse(buf, len, CD_JSON_ALLOW_NUL, &me);
    if (!want != !got || (want && !json_equal(want, got))) {
        char *w = want ? json_dumps(want, JSON_ENCODE_ANY) : NULL;
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
        print_error("input (%zu bytes) '%.*s'\njansson: %s (%s)\nours: %s (%s)\n", len, (int)len,
                    buf, w ? w : "error", je.text, g ? g : "error", me.text);
        free(w);
        free(g);
        fail();
    }
    if (!got)
        assert_true(me.text[0] && me.line >= 1 && me.column >= 1);
    json_decref(want);
    json_decref(got);
}

static void same_str(const char *s)
{
    same(s, strlen(s));
}

static void test_edge_cases(void **state)
{
    (void)state;
    static const char *cases[] = {
        "", " ", "{}", "[]", " {\"a\" : [1, 2.5, -3, true, false, null] } ", "0", "-0", "-0.0",
        "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1E+2", "1.5e-3", "-", "[-]", "1e400",
        "-1e400", "1e-400", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
        "\"\\ud834\\udd1e\"", "\"\\udd1e\"", "\"\\ud834\"", "\"\\ud834x\"", "\"\\ud834\\u0041\"",
        "\"\\u0000\"", "\"a\\u0000b\"", "{\"a\\u0000b\":1}", "\"\\u00e9\\u20AC\"", "\"\\x\"",
        "\"\\u12\"", "\"\\u12G4\"", "\"abc", "\"\t\"", "\"\x7f\"", "\"\xc3\xa9\"", "\"\xc0\x80\"",
        "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf0\x9f\x98\x80\"",
        "\"\xe0\x80\xaf\"", "\"\xff\"", "\xef\xbb\xbf{}", "[1,]", "{\"a\":1,}", "[1 2]",
        "{\"a\" 1}", "{\"a\":}", "{1:2}", "{\"a\":1 \"b\":2}", "tru", "true", "truex", "nul",
        "nulll", "[true false]", "{} {}", "[]]", "[[]", "{\"a\":{\"b\":{}}}", "\"\\/\\b\\f\\n\\r\\t\"",
        "{\"a\":1,\"a\":2}", "[1.0, 1, 1e0, 100e-2]", "\"\\\"\\\\\"", "\r\n\t[\r\n\t]\r\n\t",
        "[\"\\u00\"]", "1 2", "[0x10]", "NaN", "Infinity", "[-Infinity]", "\"é", "'a'",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        same_str(cases[i]);
    same("\"a\0b\"", 5); /* a raw NUL byte is a control character */
    same("[1]\0", 4);
}

static void nested(int depth, int value)
{
    char *b = malloc(2 * (size_t)depth + 2);
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        b[n++] = '[';
    if (value)
        b[n++] = '1';
    for (int i = 0; i < depth; i++)
        b[n++] = ']';
    same(b, n);
    free(b);
}

static void test_depth(void **state)
{
    (void)state;
    for (int d = JSON_PARSER_MAX_DEPTH - 2; d <= JSON_PARSER_MAX_DEPTH + 2; d++) {
        nested(d, 0);
        nested(d, 1);
    }
}

static unsigned rnd(void)
{
    static unsigned long long s = 0x9E3779B97F4A7C15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (unsigned)(s >> 11);
}

static json_t *random_string(void)
{
    static const char *parts[] = {"a", "key", " ", "\"", "\\", "/", "\n", "\t", "\x01", "é",
                                  "€", "😀", "x=y,z", "\u00ff", ""};
    char buf[64] = "";
    size_t n = 0;
    for (int i = rnd() % 5; i > 0; i--) {
        const char *p = parts[rnd() % (sizeof(parts) / sizeof(parts[0]))];
        if (n + strlen(p) < sizeof(buf)) {
            memcpy(buf + n, p, strlen(p));
            n += strlen(p);
        }
    }
    return json_stringn(buf, n);
}

static json_t *random_value(int depth)
{
    static const json_int_t ints[] = {0, 1, -1, 72, 1767225600000, INT64_MAX, INT64_MIN};
    switch (rnd() % (depth < 4 ? 8 : 6)) {
    case 0:
        return json_integer(ints[rnd() % 7]);
    case 1:
        return json_real((double)(int)rnd() / ((rnd() % 1000) + 1) * (rnd() % 2 ? 1e-300 : 1));
    case 2:
        return random_string();
    case 3:
        return json_boolean(rnd() % 2);
    case 4:
        return json_null();
    case 5:
        return json_integer((json_int_t)rnd() - (json_int_t)(rnd() << 1));
    case 6: {
        json_t *o = json_object();
        for (int i = rnd() % 5; i > 0; i--) {
            json_t *k = random_string();
            json_object_set_new(o, json_string_value(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (int i = rnd() % 5; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

static void mutate(char *b, size_t *n, size_t cap)
{
    static const char noise[] = "{}[],:\"\\0-.eE+ \n\x01\xff\xc3\xa9u9";
    size_t at = *n ? rnd() % *n : 0;
    switch (rnd() % 4) {
    case 0:
        if (*n)
            b[at] = noise[rnd() % (sizeof(noise) - 1)];
        break;
    case 1:
        if (*n) {
            memmove(b + at, b + at + 1, *n - at - 1);
            (*n)--;
        }
        break;
    case 2:
        if (*n + 1 < cap) {
            memmove(b + at + 1, b + at, *n - at);
            b[at] = noise[rnd() % (sizeof(noise) - 1)];
            (*n)++;
        }
        break;
    default:
        *n = at;
    }
}

static void test_random_documents(void **state)
{
    (void)state;
    static const size_t flags[] = {JSON_COMPACT, JSON_INDENT(2), JSON_ENSURE_ASCII,
                                   JSON_COMPACT | JSON_ENSURE_ASCII};
    char buf[8192];
    for (int i = 0; i < 20000; i++) {
        json_t *v = random_value(0);
        size_t n = json_dumpb(v, buf, sizeof(buf), JSON_ENCODE_ANY | flags[rnd() % 4]);
        json_decref(v);
        if (n > sizeof(buf))
            continue;
        same(buf, n);
        for (int m = rnd() % 4; m > 0; m--)
            mutate(buf, &n, sizeof(buf));
        same(buf, n);
    }
}

/* The scanner on buf: when it takes the whole text, cd_json_parse must give an object with
 * the same members (the last of duplicate keys wins there) and equal values. Returns 1 when
 * the scanner took it. */
static int scan_agrees(const char *buf, size_t len)
{
    struct cd_jscan sc;
    struct cd_jmember m[64];
    int n = 0, rc = -1;
    if (cd_jscan_start(&sc, buf, len) == 0)
        while (n < 64 && (rc = cd_jscan_next(&sc, &m[n])) == 1)
            n++;
    if (rc != 0)
        return 0;
    json_t *o = cd_json_parse(buf, len, CD_JSON_ALLOW_NUL, NULL);
    if (!json_is_object(o)) {
        print_error("scanner took what the parser refuses: '%.*s'\n", (int)len, buf);
        fail();
    }
    int distinct = 0;
    for (int i = 0; i < n; i++) {
        char key[256], val[4096];
        assert_true(m[i].key_len < sizeof(key) && m[i].val_len < sizeof(val));
        size_t kn = cd_json_unescape(key, m[i].key, m[i].key_len);
        json_t *v = json_object_getn(o, key, kn);
        int later = 0; /* a later duplicate holds the parser's value */
        for (int k = i + 1; k < n; k++)
            later |= m[k].key_len == m[i].key_len && !memcmp(m[k].key, m[i].key, m[i].key_len);
        assert_non_null(v);
        if (later)
            continue;
        distinct++;
        memcpy(val, m[i].val, m[i].val_len);
        val[m[i].val_len] = 0;
        switch (m[i].kind) {
        case CDJ_STRING: {
            size_t vn = m[i].val_esc ? cd_json_unescape(val, m[i].val, m[i].val_len) : m[i].val_len;
            assert_true(json_is_string(v) && json_string_length(v) == vn &&
                        !memcmp(json_string_value(v), val, vn));
            break;
        }
        case CDJ_INT:
            assert_true(json_is_integer(v) && json_integer_value(v) == strtoll(val, NULL, 10));
            break;
        case CDJ_REAL:
            assert_true(json_is_real(v) && json_real_value(v) == strtod(val, NULL));
            break;
        case CDJ_TRUE:
        case CDJ_FALSE:
            assert_true(json_is_boolean(v) && json_is_true(v) == (m[i].kind == CDJ_TRUE));
            break;
        case CDJ_NULL:
            assert_true(json_is_null(v));
            break;
        }
    }
    assert_int_equal(json_object_size(o), distinct);
    json_decref(o);
    return 1;
}

static void test_scan_edge_cases(void **state)
{
    (void)state;
    static const char *taken[] = {
        "{}", " {\"a\" : 1 , \"b\":-2.50,\"c\":\"x\\\"y\\u00e9\\/\", \"d\":true,\"e\":null}\n",
        "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}", "{\"a\":1,\"a\":2}", "{\"k\\n\":false}",
        "{\"a\":123456789012345678}", "{\"a\":-0}",
    };
    static const char *left[] = {
        "", "[]", "1", "{", "{\"a\":1", "{\"a\":1,}", "{,}", "{\"a\":{}}", "{\"a\":[1]}",
        "{\"a\":1e5}", "{\"a\":1234567890123456789}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud834\\udd1e\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc0\x80\"}", "{\"a\":tru}", "{} x", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
        "{\"a\":\"\\x\"}", "{\"a\":+1}", "{\"a\":NaN}",
    };
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        assert_true(scan_agrees(taken[i], strlen(taken[i])));
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        assert_false(scan_agrees(left[i], strlen(left[i])));
}

/* Random flat objects, valid and mutated: the scanner agrees with the parser whenever it
 * takes one, and it takes most of the valid ones. */
static void test_scan_random(void **state)
{
    (void)state;
    static const size_t flags[] = {JSON_COMPACT, JSON_INDENT(2), JSON_ENSURE_ASCII};
    char buf[8192];
    int valid = 0, taken = 0;
    for (int i = 0; i < 20000; i++) {
        json_t *o = json_object();
        for (int k = rnd() % 8; k > 0; k--) {
            json_t *key = random_string();
            json_object_set_new(o, json_string_value(key), random_value(4));
            json_decref(key);
        }
        size_t n = json_dumpb(o, buf, sizeof(buf), flags[rnd() % 3]);
        json_decref(o);
        if (n > sizeof(buf))
            continue;
        valid++;
        taken += scan_agrees(buf, n);
        for (int m = rnd() % 4; m > 0; m--)
            mutate(buf, &n, sizeof(buf));
        scan_agrees(buf, n);
    }
    assert_true(taken > valid / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_random_documents),
        cmocka_unit_test(test_scan_edge_cases),
        cmocka_unit_test(test_scan_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
