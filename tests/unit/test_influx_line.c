/* InfluxDB line protocol: escaping as InfluxDB specifies, the record → point mapping
 * (measurement format, tags, fields, time), and reading InfluxDB's error replies. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/influxdb/influx_line.h"
#include "json_parse.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static char *escaped(const char *s, enum influx_esc kind)
{
    struct influx_buf b = {0};
    influx_escape(&b, s, strlen(s), kind);
    influx_buf_add(&b, "", 0);
    return b.p;
}

#define ASSERT_ESC(in, kind, want)                                                              \
    do {                                                                                        \
        char *got_ = escaped(in, kind);                                                         \
        assert_string_equal(got_, want);                                                        \
        free(got_);                                                                             \
    } while (0)

static void escaping_per_element(void **st)
{
    ASSERT_ESC("cpu load,x=1", INFLUX_ESC_MEASUREMENT, "cpu\\ load\\,x=1");
    ASSERT_ESC("a b,c=d", INFLUX_ESC_KEY, "a\\ b\\,c\\=d");
    ASSERT_ESC("say \"hi\" c:\\dir", INFLUX_ESC_STRING, "say \\\"hi\\\" c:\\\\dir");
    /* backslashes in names are left as they are, as InfluxDB reads them */
    ASSERT_ESC("a\\b", INFLUX_ESC_KEY, "a\\b");
    ASSERT_ESC("h\xc3\xa9llo w\xc3\xb6rld", INFLUX_ESC_KEY, "h\xc3\xa9llo\\ w\xc3\xb6rld");
    ASSERT_ESC("plain", INFLUX_ESC_STRING, "plain");
}

/* Encodes json with the map; returns the line (caller frees) or NULL with err. */
static char *encode(const struct influx_map *m, const char *json, int64_t ts, char *err)
{
    json_t *v = json_loads(json, 0, NULL);
    struct influx_buf b = {0};
    int rc = influx_line_encode(m, "vitals", v, ts, &b, err, 256);
    json_decref(v);
    if (rc) {
        assert_int_equal(b.len, 0);
        free(b.p);
        return NULL;
    }
    return b.p;
}

#define ASSERT_LINE(m, json, ts, want)                                                          \
    do {                                                                                        \
        char err_[256] = "";                                                                    \
        char *got_ = encode(m, json, ts, err_);                                                 \
        if (!got_)                                                                              \
            fail_msg("encode failed: %s", err_);                                                \
        assert_string_equal(got_, want);                                                        \
        free(got_);                                                                             \
    } while (0)

static void seed_vitals_record_becomes_a_point(void **st)
{
    const char *tags[] = {"patient_id"};
    struct influx_map m = {"heart_rate", tags, 1, "timestamp"};
    ASSERT_LINE(&m,
                "{\"patient_id\":\"patient-0001\",\"timestamp\":1767225600123,"
                "\"heart_rate\":72,\"respiratory_rate\":16,\"anomaly\":false}",
                5,
                "heart_rate,patient_id=patient-0001 heart_rate=72i,respiratory_rate=16i,"
                "anomaly=false 1767225600123000000");
}

static void scalar_types_and_record_timestamp(void **st)
{
    struct influx_map m = {NULL, NULL, 0, NULL};
    ASSERT_LINE(&m, "{\"f\":72.5,\"g\":0.1,\"h\":3.0,\"i\":-7,\"b\":true,\"s\":\"x\"}", 1000,
                "vitals f=72.5,g=0.1,h=3,i=-7i,b=true,s=\"x\" 1000000000");
    /* no Kafka timestamp: InfluxDB stamps the point itself */
    ASSERT_LINE(&m, "{\"f\":1}", -1, "vitals f=1i");
    ASSERT_LINE(&m, "{\"a\":9223372036854775807,\"b\":-9223372036854775808,\"c\":0,\"d\":-10}",
                -1, "vitals a=9223372036854775807i,b=-9223372036854775808i,c=0i,d=-10i");
    static const char *const tag[] = {"t", NULL};
    struct influx_map tagged = {NULL, tag, 1, NULL};
    ASSERT_LINE(&tagged, "{\"t\":-42,\"f\":1}", 7, "vitals,t=-42 f=1i 7000000");
}

static void nested_objects_flatten_and_nulls_are_skipped(void **st)
{
    struct influx_map m = {"m", NULL, 0, NULL};
    ASSERT_LINE(&m, "{\"a\":{\"b\":1,\"c\":{\"d\":\"e\"}},\"n\":null,\"l\":[1,2]}", 0,
                "m a.b=1i,a.c.d=\"e\",l.0=1i,l.1=2i 0");
}

static void tags_from_fields_and_from_tags_map(void **st)
{
    const char *tags[] = {"host", "dc.zone", "missing"};
    struct influx_map m = {"m", tags, 3, NULL};
    ASSERT_LINE(&m,
                "{\"host\":\"a b\",\"dc\":{\"zone\":7,\"x\":1},\"tags\":{\"k=1\":\"v,2\",\"e\":\"\"},"
                "\"v\":1.5}",
                2, "m,host=a\\ b,dc.zone=7,k\\=1=v\\,2 dc.x=1i,v=1.5 2000000");
}

static void measurement_from_topic_and_value(void **st)
{
    struct influx_map m = {"${topic}_${value.kind} x", NULL, 0, NULL};
    ASSERT_LINE(&m, "{\"kind\":\"hr\",\"v\":1}", 0, "vitals_hr\\ x v=1i 0");
    char err[256];
    assert_null(encode(&m, "{\"v\":1}", 0, err));
    assert_non_null(strstr(err, "kind"));
}

static void escaping_in_a_whole_line(void **st)
{
    const char *tags[] = {"t k"};
    struct influx_map m = {"m,1 =", tags, 1, NULL};
    ASSERT_LINE(&m, "{\"t k\":\"a=b\",\"f \\\"q\\\"\":\"x \\\"y\\\" \\\\z\"}", 0,
                "m\\,1\\ =,t\\ k=a\\=b f\\ \"q\"=\"x \\\"y\\\" \\\\z\" 0");
}

static void record_without_fields_is_an_error(void **st)
{
    const char *tags[] = {"id"};
    struct influx_map m = {NULL, tags, 1, NULL};
    char err[256];
    assert_null(encode(&m, "{\"id\":\"x\"}", 0, err));
    assert_non_null(strstr(err, "no fields"));
    assert_null(encode(&m, "{}", 0, err));
    assert_null(encode(&m, "[1]", 0, err));
    assert_null(encode(&m, "null", 0, err));
}

static void unrepresentable_names_are_errors(void **st)
{
    struct influx_map m = {"m", NULL, 0, NULL};
    char err[256];
    assert_null(encode(&m, "{\"a\\nb\":1}", 0, err));
    assert_non_null(strstr(err, "line break"));
    assert_null(encode(&m, "{\"a\\\\\":1}", 0, err));
    assert_non_null(strstr(err, "backslash"));
    assert_null(encode(&m, "{\"v\":1,\"\":2}", 0, err));
    assert_string_equal(err, "field name '' is empty");
    ASSERT_LINE(&m, "{\"a\":{\"\":1}}", 0, "m a.=1i 0"); /* nested: the name is a. */
    struct influx_map c = {"#x", NULL, 0, NULL};
    assert_null(encode(&c, "{\"a\":1}", 0, err));
    /* a newline inside a string field value is fine: the value is quoted */
    ASSERT_LINE(&m, "{\"s\":\"a\\nb\"}", 0, "m s=\"a\nb\" 0");
}

static void event_time_units_by_magnitude(void **st)
{
    struct influx_map m = {"m", NULL, 0, "t"};
    ASSERT_LINE(&m, "{\"t\":1767225600,\"v\":1}", 9, "m v=1i 1767225600000000000");
    ASSERT_LINE(&m, "{\"t\":1767225600123,\"v\":1}", 9, "m v=1i 1767225600123000000");
    ASSERT_LINE(&m, "{\"t\":1767225600123456,\"v\":1}", 9, "m v=1i 1767225600123456000");
    ASSERT_LINE(&m, "{\"t\":1767225600123456789,\"v\":1}", 9, "m v=1i 1767225600123456789");
    ASSERT_LINE(&m, "{\"t\":1767225600.5,\"v\":1}", 9, "m v=1i 1767225600500000000");
    ASSERT_LINE(&m, "{\"t\":\"1767225600123\",\"v\":1}", 9, "m v=1i 1767225600123000000");
    ASSERT_LINE(&m, "{\"t\":\"2026-01-01T00:00:00.123456789Z\",\"v\":1}", 9,
                "m v=1i 1767225600123456789");
    ASSERT_LINE(&m, "{\"t\":\"2026-01-01T02:00:00+02:00\",\"v\":1}", 9,
                "m v=1i 1767225600000000000");
    ASSERT_LINE(&m, "{\"t\":\"2026-01-01\",\"v\":1}", 9, "m v=1i 1767225600000000000");
    char err[256];
    assert_null(encode(&m, "{\"t\":\"yesterday\",\"v\":1}", 0, err));
    assert_non_null(strstr(err, "event.time.fieldname"));
    assert_null(encode(&m, "{\"v\":1}", 0, err));
    assert_non_null(strstr(err, "missing"));
    /* beyond InfluxDB's int64 nanoseconds (2262): refused, not wrapped around */
    assert_null(encode(&m, "{\"t\":99999999999,\"v\":1}", 0, err));
    assert_null(encode(&m, "{\"t\":9999999999999,\"v\":1}", 0, err));
    assert_null(encode(&m, "{\"t\":\"9999-01-01T00:00:00Z\",\"v\":1}", 0, err));
    assert_null(encode(&m, "{\"t\":-9.9e10,\"v\":1}", 0, err));
    ASSERT_LINE(&m, "{\"t\":-86400,\"v\":1}", 9, "m v=1i -86400000000000");
}

static void iso8601_parsing(void **st)
{
    int64_t ns;
    assert_int_equal(influx_iso8601_to_ns("1970-01-01T00:00:01Z", &ns), 0);
    assert_int_equal(ns, 1000000000);
    assert_int_equal(influx_iso8601_to_ns("1970-01-01 00:00:01.5", &ns), 0);
    assert_int_equal(ns, 1500000000);
    assert_int_equal(influx_iso8601_to_ns("1970-01-01T01:00:00+0100", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(influx_iso8601_to_ns("1970-13-01T00:00:00Z", &ns), -1);
    assert_int_equal(influx_iso8601_to_ns("1970-01-01T00:00:00Zjunk", &ns), -1);
    assert_int_equal(influx_iso8601_to_ns("12:00", &ns), -1);
}

static void rejected_lines_named_by_parse_errors(void **st)
{
    const char *lines[] = {"m v=1i 1", "m v= 2", "m v=3i 3", "m'x v=1i 4"};
    size_t lens[4];
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(lines[i]);
    unsigned char rej[4] = {0};
    const char *body =
        "{\"code\":\"invalid\",\"message\":\"partial write error (2 written): unable to parse "
        "'m v= 2': missing field value\\nunable to parse 'm'x v=1i 4': bad\"}";
    char *text = influx_error_text(body, strlen(body));
    assert_non_null(strstr(text, "partial write"));
    assert_int_equal(influx_find_rejected(text, lines, lens, 4, rej), 2);
    assert_memory_equal(rej, ((unsigned char[]){0, 1, 0, 1}), 4);
    free(text);
}

static void rejected_lines_named_by_type_conflict(void **st)
{
    const char *lines[] = {"cpu,host=a value=1i 1", "cpu,host=b value=2.5 2",
                           "cpu\\ x value=2.5 3", "mem value=2.5 4", "cpu a=\"x,y=1\",value=3 5",
                           "cpu other=2.5 6"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(lines[i]);
    unsigned char rej[6] = {0};
    const char *body = "{\"error\":\"partial write: field type conflict: input field "
                       "\\\"value\\\" on measurement \\\"cpu\\\" is type float, already exists "
                       "as type integer dropped=2\"}";
    char *text = influx_error_text(body, strlen(body));
    assert_int_equal(influx_find_rejected(text, lines, lens, 6, rej), 2);
    assert_memory_equal(rej, ((unsigned char[]){0, 1, 0, 0, 1, 0}), 6);
    free(text);
    /* a string x conflicts too, though the reply names only the first conflict's type */
    const char *more[] = {"cpu value=1i 1", "cpu value=2.5 2", "cpu value=\"s\" 3",
                          "cpu value=t 4", "cpu value=7i 5"};
    size_t mlens[5];
    for (int i = 0; i < 5; i++)
        mlens[i] = strlen(more[i]);
    unsigned char mrej[5] = {0};
    text = influx_error_text(body, strlen(body));
    assert_int_equal(influx_find_rejected(text, more, mlens, 5, mrej), 3);
    assert_memory_equal(mrej, ((unsigned char[]){0, 1, 1, 1, 0}), 5);
    free(text);
}

static void error_text_of_non_json_body(void **st)
{
    char *t = influx_error_text("Request Entity Too Large", 24);
    assert_string_equal(t, "Request Entity Too Large");
    free(t);
}

/* The fast path against the usual one (the tree cd_json_parse builds, as the converter does):
 * when it takes a record, the line must be the same bytes; when it leaves it, out must be
 * untouched. Returns 1 when it took the record. */
static int fast_matches_usual(const struct influx_map *m, const char *json, int64_t ts)
{
    struct influx_buf fast = {0}, usual = {0};
    influx_buf_add(&fast, "x\n", 2); /* lines go after what the batch holds */
    influx_buf_add(&usual, "x\n", 2);
    int taken = !influx_line_encode_json(m, "vitals", json, strlen(json), ts, &fast);
    json_error_t jerr;
    json_t *v = cd_json_parse(json, strlen(json), 0, &jerr);
    char err[256];
    int ok = v && !influx_line_encode(m, "vitals", v, ts, &usual, err, sizeof(err));
    json_decref(v);
    if (taken && (!ok || strcmp(fast.p, usual.p)))
        fail_msg("%s: fast [%s], usual [%s]", json, fast.p, ok ? usual.p : err);
    if (!taken && strcmp(fast.p, "x\n"))
        fail_msg("%s: left to the usual path but wrote [%s]", json, fast.p);
    influx_buf_free(&fast);
    influx_buf_free(&usual);
    return taken;
}

static const char *const vitals_tags[] = {"patient_id", "unit.name", "code"};

static void fast_path_writes_what_the_usual_path_writes(void **st)
{
    struct influx_map seed = {.measurement_fmt = "heart_rate", .tag_fields = vitals_tags,
                              .n_tag_fields = 1, .time_field = "timestamp"};
    struct influx_map plain = {.measurement_fmt = "${topic}_m x", .tag_fields = vitals_tags,
                               .n_tag_fields = 3};
    struct influx_map by_value = {.measurement_fmt = "${value.kind}"};
    static const char *const taken[] = {
        "{\"patient_id\":\"patient-0042\",\"timestamp\":1767225600000,\"heart_rate\":72,"
        "\"respiratory_rate\":14,\"anomaly\":false}",
        " {\"patient_id\":\"p 1,=x\",\"timestamp\":1767225600,\"t\":36.60,\"z\":-0,\"n\":null,"
        "\"s\":\"a\\\"b\\\\c\\u00e9\\n\",\"k e=y,\":true} ",
        "{\"timestamp\":1767225600000000000,\"r\":0.0001,\"q\":-0.0,\"w\":100.0,\"u\":1e0}",
        "{\"timestamp\":1767225600123,\"patient_id\":null,\"v\":123456789012345.5,"
        "\"x\":0.00001,\"y\":-10}",
    };
    int took = 0;
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        took += fast_matches_usual(&seed, taken[i], 5);
    assert_int_equal(took, 3); /* 1e0 has an exponent: left to the usual path */
    assert_int_equal(fast_matches_usual(&seed, "{\"timestamp\":-1767225600,\"v\":1}", 5), 1);
    assert_int_equal(fast_matches_usual(&seed, "{\"timestamp\":-0,\"v\":1}", 5), 1);
    static const char *const left[] = {
        "{\"patient_id\":\"p\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"v\":1}", /* ISO time */
        "{\"patient_id\":\"p\",\"v\":1}",                                     /* no time */
        "{\"patient_id\":\"p\",\"timestamp\":1,\"v\":{\"a\":1}}",           /* nested */
        "{\"patient_id\":\"p\",\"timestamp\":1,\"v\":1,\"v\":2}",           /* duplicate */
        "{\"patient_id\":\"p\\nq\",\"timestamp\":1,\"v\":1}", /* line break in a tag */
        "{\"patient_id\":\"p\",\"timestamp\":1}",            /* no field */
        "{\"patient_id\":\"p\",\"timestamp\":1,\"a\\\\\":1}", /* escaped key */
        "{\"patient_id\":\"p\",\"timestamp\":1,\"\":1}",     /* empty key */
        "[1]", "{\"timestamp\":1,\"v\":1", "\"text\"",
    };
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        assert_int_equal(fast_matches_usual(&seed, left[i], 5), 0);
    assert_int_equal(fast_matches_usual(&plain, "{\"code\":7,\"unit.name\":\"b\",\"v\":1.5}", 9), 1);
    assert_int_equal(fast_matches_usual(&plain, "{\"code\":\"\",\"v\":true}", -1), 1);
    assert_int_equal(fast_matches_usual(&by_value, "{\"kind\":\"hr\",\"v\":1}", 9), 0);
}

/* Random flat objects: numbers of every shape the scanner takes (reals with up to 20 digits,
 * leading and trailing zeros), strings with escapes, nulls, booleans. */
static void fast_path_matches_on_random_records(void **st)
{
    struct influx_map m = {.measurement_fmt = "m", .tag_fields = vitals_tags, .n_tag_fields = 1,
                           .time_field = "ts"};
    static const char *const keys[] = {"patient_id", "a", "b c", "d=e", "f,g", "h"};
    static const char *const strs[] = {"\"\"", "\"x y\"", "\"q\\\"\\\\\"", "\"\\u00e9\\t\"",
                                       "\"a=b,c d\""};
    srand(7);
    int took = 0;
    for (int n = 0; n < 20000; n++) {
        char json[1024];
        int len = snprintf(json, sizeof(json), "{\"ts\":%d", 1000 + rand() % 100000);
        int fields = 1 + rand() % 5;
        for (int f = 0; f < fields; f++) {
            char val[64];
            switch (rand() % 6) {
            case 0: { /* a real: integer part, fraction, zeros anywhere */
                int ip = rand() % 4 == 0 ? 0 : rand();
                char frac[24];
                int fl = 1 + rand() % 20;
                for (int k = 0; k < fl; k++)
                    frac[k] = (char)('0' + (rand() % 3 == 0 ? 0 : rand() % 10));
                frac[fl] = 0;
                snprintf(val, sizeof(val), "%s%d.%s", rand() % 4 ? "" : "-", ip, frac);
                break;
            }
            case 1:
                snprintf(val, sizeof(val), "%lld", (long long)(rand() % 2000000) - 1000000);
                break;
            case 2:
                snprintf(val, sizeof(val), "%s", strs[rand() % 5]);
                break;
            case 3:
                snprintf(val, sizeof(val), "%s", rand() % 2 ? "true" : "false");
                break;
            case 4:
                snprintf(val, sizeof(val), "null");
                break;
            default:
                snprintf(val, sizeof(val), "%d.%0*d", rand() % 100, 1 + rand() % 17, rand() % 1000);
                break;
            }
            char key[32]; /* the first is the tag */
            snprintf(key, sizeof(key), f ? "%s%d" : "%s", keys[f % 6], f);
            len += snprintf(json + len, sizeof(json) - (size_t)len, ",\"%s\":%s", key, val);
        }
        snprintf(json + len, sizeof(json) - (size_t)len, "}");
        took += fast_matches_usual(&m, json, 5);
    }
    if (took < 12000) /* a record whose only field is the tag has no field: left */
        fail_msg("the fast path took only %d of 20000 records", took);
}

static void retry_after_values(void **st)
{
    assert_int_equal(influx_retry_after_ms("3"), 3000);
    assert_int_equal(influx_retry_after_ms(" 0 "), 0);
    assert_int_equal(influx_retry_after_ms(NULL), -1);
    assert_int_equal(influx_retry_after_ms("soon"), -1);
    assert_int_equal(influx_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0); /* past */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escaping_per_element),
        cmocka_unit_test(seed_vitals_record_becomes_a_point),
        cmocka_unit_test(scalar_types_and_record_timestamp),
        cmocka_unit_test(nested_objects_flatten_and_nulls_are_skipped),
        cmocka_unit_test(tags_from_fields_and_from_tags_map),
        cmocka_unit_test(measurement_from_topic_and_value),
        cmocka_unit_test(escaping_in_a_whole_line),
        cmocka_unit_test(record_without_fields_is_an_error),
        cmocka_unit_test(unrepresentable_names_are_errors),
        cmocka_unit_test(event_time_units_by_magnitude),
        cmocka_unit_test(iso8601_parsing),
        cmocka_unit_test(rejected_lines_named_by_parse_errors),
        cmocka_unit_test(rejected_lines_named_by_type_conflict),
        cmocka_unit_test(error_text_of_non_json_body),
        cmocka_unit_test(retry_after_values),
        cmocka_unit_test(fast_path_writes_what_the_usual_path_writes),
        cmocka_unit_test(fast_path_matches_on_random_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
