/* JDBC sink type mapping: inference from schemaless JSON, Connect schemas, database type
 * names, compatibility/widening, value rendering (Decimal, Date, Timestamp, bytes, floats),
 * and how records map to fields under each pk.mode. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/jdbc/jdbc.h"

#include <stdlib.h>
#include <string.h>

static void schemaless_json_types_are_inferred(void **state)
{
    json_t *v = json_loads("[72, 72.5, true, \"x\", {\"a\":1}, [1], null]", 0, NULL);
    enum jdbc_type want[] = {JT_INT64, JT_FLOAT64, JT_BOOL, JT_STRING, JT_JSON, JT_JSON, JT_NONE};
    for (size_t i = 0; i < json_array_size(v); i++)
        assert_int_equal(jdbc_type_of_json(json_array_get(v, i)), want[i]);
    json_decref(v);
}

static void connect_schemas_and_logical_types_map(void **state)
{
    int scale = -1;
    json_t *s = json_loads("{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\","
                           "\"parameters\":{\"scale\":\"2\"}}", 0, NULL);
    assert_int_equal(jdbc_type_of_schema(s, &scale), JT_DECIMAL);
    assert_int_equal(scale, 2);
    json_decref(s);
    s = json_pack("{ss ss}", "type", "int64", "name", "org.apache.kafka.connect.data.Timestamp");
    assert_int_equal(jdbc_type_of_schema(s, &scale), JT_TIMESTAMP);
    json_decref(s);
    s = json_pack("{ss}", "type", "int16");
    assert_int_equal(jdbc_type_of_schema(s, &scale), JT_INT16);
    json_decref(s);
}

static void database_type_names_map(void **state)
{
    assert_int_equal(jdbc_type_of_sqlname(JDBC_PG, "int8", NULL), JT_INT64);
    assert_int_equal(jdbc_type_of_sqlname(JDBC_PG, "jsonb", NULL), JT_JSON);
    assert_int_equal(jdbc_type_of_sqlname(JDBC_PG, "tsvector", NULL), JT_OTHER);
    assert_int_equal(jdbc_type_of_sqlname(JDBC_MYSQL, "tinyint", "tinyint(1)"), JT_BOOL);
    assert_int_equal(jdbc_type_of_sqlname(JDBC_MYSQL, "tinyint", "tinyint(4)"), JT_INT8);
    assert_int_equal(jdbc_type_of_sqlname(JDBC_MYSQL, "longtext", "longtext"), JT_STRING);
}

static void bigint_column_widens_for_a_fraction_only(void **state)
{
    json_t *i = json_integer(72), *r = json_real(72.5), *whole = json_real(72.0),
           *s = json_string("x");
    assert_int_equal(jdbc_type_check(JT_INT64, JT_INT64, i), 0);
    assert_int_equal(jdbc_type_check(JT_INT64, JT_FLOAT64, r), 1);
    assert_int_equal(jdbc_type_check(JT_INT64, JT_FLOAT64, whole), 0);
    assert_int_equal(jdbc_type_check(JT_INT64, JT_STRING, s), -1);
    assert_int_equal(jdbc_type_check(JT_FLOAT64, JT_INT64, i), 0);
    assert_int_equal(jdbc_type_check(JT_STRING, JT_INT64, i), -1);
    assert_int_equal(jdbc_type_check(JT_JSON, JT_STRING, s), 0);
    assert_int_equal(jdbc_type_check(JT_BOOL, JT_NONE, NULL), 0);
    json_decref(i);
    json_decref(r);
    json_decref(whole);
    json_decref(s);
}

/* Renders value v (typed as t when t != JT_NONE) for a column of class ct. */
static char *render(enum jdbc_dialect d, enum jdbc_type ct, enum jdbc_type t, int scale,
                    json_t *v, int *is_null, int *binary)
{
    struct jdbc_field f = {.name = "f", .value = v, .typed = t != JT_NONE,
                           .type = t != JT_NONE ? t : jdbc_type_of_json(v), .scale = scale};
    struct jdbc_buf b = {0};
    char err[128];
    assert_int_equal(jdbc_render(&b, d, ct, &f, 0, is_null, binary, err, sizeof(err)), 0);
    json_decref(v);
    return b.p ? b.p : strdup("");
}

static void values_render_as_the_database_reads_them(void **state)
{
    int n, bin;
    char *s;
    s = render(JDBC_PG, JT_BOOL, JT_NONE, 0, json_true(), &n, &bin);
    assert_string_equal(s, "t");
    free(s);
    s = render(JDBC_MYSQL, JT_BOOL, JT_NONE, 0, json_false(), &n, &bin);
    assert_string_equal(s, "0");
    free(s);
    s = render(JDBC_PG, JT_FLOAT64, JT_NONE, 0, json_real(0.1), &n, &bin);
    assert_string_equal(s, "0.1");
    free(s);
    s = render(JDBC_PG, JT_FLOAT64, JT_NONE, 0, json_real(-37.79), &n, &bin);
    assert_string_equal(s, "-37.79");
    free(s);
    s = render(JDBC_PG, JT_FLOAT64, JT_NONE, 0, json_real(1.0 / 3), &n, &bin);
    assert_true(strtod(s, NULL) == 1.0 / 3);
    free(s);
    s = render(JDBC_PG, JT_INT64, JT_NONE, 0, json_real(72.0), &n, &bin);
    assert_string_equal(s, "72");
    free(s);
    s = render(JDBC_PG, JT_JSON, JT_NONE, 0, json_string("a\"b"), &n, &bin);
    assert_string_equal(s, "\"a\\\"b\"");
    free(s);
    s = render(JDBC_PG, JT_JSON, JT_NONE, 0, json_pack("{si}", "a", 1), &n, &bin);
    assert_string_equal(s, "{\"a\":1}");
    free(s);
    s = render(JDBC_PG, JT_STRING, JT_NONE, 0, json_null(), &n, &bin);
    assert_int_equal(n, 1);
    free(s);
}

static void logical_types_render(void **state)
{
    int n, bin;
    char *s;
    s = render(JDBC_PG, JT_DATE, JT_DATE, 0, json_integer(19723), &n, &bin);
    assert_string_equal(s, "2024-01-01");
    free(s);
    s = render(JDBC_PG, JT_TIME, JT_TIME, 0, json_integer(45296789), &n, &bin);
    assert_string_equal(s, "12:34:56.789");
    free(s);
    s = render(JDBC_PG, JT_TIMESTAMP, JT_TIMESTAMP, 0, json_integer(1704112496789LL), &n, &bin);
    assert_string_equal(s, "2024-01-01 12:34:56.789");
    free(s);
    s = render(JDBC_PG, JT_TIMESTAMP, JT_TIMESTAMP, 0, json_integer(-1), &n, &bin);
    assert_string_equal(s, "1969-12-31 23:59:59.999");
    free(s);
    /* Decimal 123.45 = unscaled 12345 = 0x3039; -1.00 = unscaled -100 = 0x9c */
    s = render(JDBC_PG, JT_DECIMAL, JT_DECIMAL, 2, json_stringn_nocheck("\x30\x39", 2), &n, &bin);
    assert_string_equal(s, "123.45");
    free(s);
    s = render(JDBC_PG, JT_DECIMAL, JT_DECIMAL, 2, json_stringn_nocheck("\x9c", 1), &n, &bin);
    assert_string_equal(s, "-1.00");
    free(s);
    s = render(JDBC_PG, JT_BYTES, JT_BYTES, 0, json_stringn_nocheck("\x00\xff", 2), &n, &bin);
    assert_string_equal(s, "\\x00ff");
    assert_int_equal(bin, 0);
    free(s);
    s = render(JDBC_MYSQL, JT_BYTES, JT_BYTES, 0, json_stringn_nocheck("ab", 2), &n, &bin);
    assert_int_equal(bin, 1);
    free(s);
}

static void big_decimal_converts_exactly(void **state)
{
    /* 2^64 = 0x010000000000000000 (9 bytes) with scale 3 */
    static const unsigned char p[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    struct jdbc_buf b = {0};
    jdbc_decimal_text(&b, p, sizeof(p), 3);
    assert_string_equal(b.p, "18446744073709551.616");
    jdbc_buf_free(&b);
}

static void time_zones_utc_and_fixed_offsets(void **state)
{
    int off;
    assert_int_equal(jdbc_tz_parse("UTC", &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(jdbc_tz_parse("+02:00", &off), 0);
    assert_int_equal(off, 7200);
    assert_int_equal(jdbc_tz_parse("-0530", &off), 0);
    assert_int_equal(off, -19800);
    assert_int_equal(jdbc_tz_parse("Mars/Olympus", &off), -1);
}

static struct cd_record *rec(const char *key, const char *value)
{
    struct cd_record *r = cd_record_new("cows");
    r->partition = 2;
    r->offset = 41;
    r->key.value = key ? json_loads(key, JSON_DECODE_ANY, NULL) : NULL;
    r->value.value = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
    return r;
}

static void kafka_pk_mode_adds_coordinates_first(void **state)
{
    struct jdbc_conf c = {.pk_mode = JDBC_PK_KAFKA};
    struct jdbc_fields fs = {0};
    enum jdbc_op op;
    char err[256];
    struct cd_record *r = rec(NULL, "{\"hr\":72}");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 4);
    assert_string_equal(fs.f[0].name, "__connect_topic");
    assert_string_equal(json_string_value(fs.f[0].value), "cows");
    assert_int_equal(fs.f[1].type, JT_INT32);
    assert_int_equal(json_integer_value(fs.f[2].value), 41);
    assert_true(fs.f[2].is_pk);
    assert_false(fs.f[3].is_pk);
    jdbc_fields_free(&fs);
    cd_record_free(r);
}

static void record_key_primitive_and_struct(void **state)
{
    char *pk[] = {"id"};
    struct jdbc_conf c = {.pk_mode = JDBC_PK_RECORD_KEY, .pk_fields = pk, .npk = 1};
    struct jdbc_fields fs = {0};
    enum jdbc_op op;
    char err[256];
    struct cd_record *r = rec("\"cow-7\"", "{\"id\":\"ignored\",\"hr\":72}");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 2); /* the value's own id yields to the key */
    assert_string_equal(fs.f[0].name, "id");
    assert_string_equal(json_string_value(fs.f[0].value), "cow-7");
    assert_string_equal(fs.f[1].name, "hr");
    cd_record_free(r);
    c.npk = 0;
    r = rec("{\"farm\":1,\"cow\":2}", "{\"hr\":1}");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 3);
    assert_true(fs.f[0].is_pk && fs.f[1].is_pk && !fs.f[2].is_pk);
    cd_record_free(r);
    r = rec(NULL, "{\"hr\":1}");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key is null"));
    cd_record_free(r);
    jdbc_fields_free(&fs);
}

static void tombstone_deletes_only_when_enabled(void **state)
{
    struct jdbc_conf c = {.pk_mode = JDBC_PK_RECORD_KEY};
    struct jdbc_fields fs = {0};
    enum jdbc_op op;
    char err[256];
    struct cd_record *r = rec("{\"id\":5}", NULL);
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(op, JDBC_OP_SKIP);
    c.delete_enabled = 1;
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(op, JDBC_OP_DELETE);
    assert_int_equal(fs.n, 1);
    assert_string_equal(fs.f[0].name, "id");
    cd_record_free(r);
    jdbc_fields_free(&fs);
}

static void record_value_pk_and_whitelist(void **state)
{
    char *pk[] = {"id"}, *inc[] = {"hr"};
    struct jdbc_conf c = {.pk_mode = JDBC_PK_RECORD_VALUE, .pk_fields = pk, .npk = 1,
                          .include = inc, .ninclude = 1};
    struct jdbc_fields fs = {0};
    enum jdbc_op op;
    char err[256];
    struct cd_record *r = rec(NULL, "{\"temp\":38.1,\"hr\":72,\"id\":9}");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 2);
    assert_string_equal(fs.f[0].name, "id"); /* pk first */
    assert_true(fs.f[0].is_pk);
    assert_string_equal(fs.f[1].name, "hr");
    cd_record_free(r);
    r = rec(NULL, "[1,2]");
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a struct"));
    cd_record_free(r);
    jdbc_fields_free(&fs);
}

static void typed_struct_uses_schema_types_and_optionality(void **state)
{
    struct jdbc_conf c = {.pk_mode = JDBC_PK_NONE};
    struct jdbc_fields fs = {0};
    enum jdbc_op op;
    char err[256];
    struct cd_record *r = rec(NULL, "{\"id\":1,\"name\":null}");
    r->value.schema = json_loads("{\"type\":\"struct\",\"fields\":[{\"field\":\"id\",\"type\":\"int32\","
                                 "\"optional\":false},{\"field\":\"name\",\"type\":\"string\","
                                 "\"optional\":true}]}", 0, NULL);
    assert_int_equal(jdbc_record_fields(&c, r, &fs, &op, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 2);
    assert_int_equal(fs.f[0].type, JT_INT32);
    assert_false(fs.f[0].optional);
    assert_int_equal(fs.f[1].type, JT_STRING); /* a typed null still has a type */
    assert_true(fs.f[1].optional);
    cd_record_free(r);
    jdbc_fields_free(&fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schemaless_json_types_are_inferred),
        cmocka_unit_test(connect_schemas_and_logical_types_map),
        cmocka_unit_test(database_type_names_map),
        cmocka_unit_test(bigint_column_widens_for_a_fraction_only),
        cmocka_unit_test(values_render_as_the_database_reads_them),
        cmocka_unit_test(logical_types_render),
        cmocka_unit_test(big_decimal_converts_exactly),
        cmocka_unit_test(time_zones_utc_and_fixed_offsets),
        cmocka_unit_test(kafka_pk_mode_adds_coordinates_first),
        cmocka_unit_test(record_key_primitive_and_struct),
        cmocka_unit_test(tombstone_deletes_only_when_enabled),
        cmocka_unit_test(record_value_pk_and_whitelist),
        cmocka_unit_test(typed_struct_uses_schema_types_and_optionality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
