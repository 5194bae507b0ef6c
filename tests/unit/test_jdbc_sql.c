/* JDBC sink SQL text: identifier quoting (hostile names stay identifiers), table name
 * formats, COPY escaping, column types, the statement builders and chunk sizes. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/jdbc/jdbc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void postgres_quotes_double_the_quote_char(void **state)
{
    struct jdbc_buf b = {0};
    jdbc_sql_ident(&b, JDBC_PG, 1, "x\"; DROP TABLE t; --");
    assert_string_equal(b.p, "\"x\"\"; DROP TABLE t; --\"");
    jdbc_buf_free(&b);
}

static void mysql_quotes_with_backticks(void **state)
{
    struct jdbc_buf b = {0};
    jdbc_sql_ident(&b, JDBC_MYSQL, 1, "a`b\"c");
    assert_string_equal(b.p, "`a``b\"c`");
    jdbc_buf_free(&b);
}

static void quote_never_keeps_plain_names_as_they_are(void **state)
{
    struct jdbc_buf b = {0};
    jdbc_sql_ident(&b, JDBC_PG, 0, "Vitals");
    jdbc_sql_ident(&b, JDBC_MYSQL, 0, "_heart_rate$2");
    assert_string_equal(b.p, "Vitals_heart_rate$2");
    jdbc_buf_free(&b);
}

static void quote_never_still_quotes_names_that_are_not_plain(void **state)
{
    struct jdbc_buf b = {0};
    jdbc_sql_ident(&b, JDBC_PG, 0, "b int; DROP TABLE t; --");
    assert_string_equal(b.p, "\"b int; DROP TABLE t; --\"");
    b.len = 0;
    jdbc_sql_ident(&b, JDBC_MYSQL, 0, "heart-rate");
    assert_string_equal(b.p, "`heart-rate`");
    b.len = 0;
    jdbc_sql_ident(&b, JDBC_PG, 0, "2x");
    jdbc_sql_ident(&b, JDBC_PG, 0, "\xc3\xa9");
    jdbc_sql_ident(&b, JDBC_PG, 0, "");
    assert_string_equal(b.p, "\"2x\"\"\xc3\xa9\"\"\"");
    jdbc_buf_free(&b);
}

static void table_format_expands_every_topic_token(void **state)
{
    char *n = jdbc_table_name("kafka_${topic}_${topic}", "cows");
    assert_string_equal(n, "kafka_cows_cows");
    free(n);
}

static void dot_of_the_format_separates_schema_dot_of_topic_does_not(void **state)
{
    char *s, *t;
    jdbc_table_split("raw.${topic}", "vitals.v1", &s, &t);
    assert_string_equal(s, "raw");
    assert_string_equal(t, "vitals.v1");
    free(s);
    free(t);
    jdbc_table_split("${topic}", "vitals.v1", &s, &t);
    assert_null(s);
    assert_string_equal(t, "vitals.v1");
    free(t);
}

static void copy_escape_handles_backslash_tab_newline_cr(void **state)
{
    struct jdbc_buf b = {0};
    const char in[] = "a\\b\tc\nd\re\"f'g ü";
    jdbc_copy_escape(&b, in, strlen(in));
    assert_string_equal(b.p, "a\\\\b\\tc\\nd\\re\"f'g ü");
    jdbc_buf_free(&b);
}

static void integers_print_as_printf_would_to_the_extremes(void **state)
{
    const long long v[] = {0, 7, -7, 10, 1767225600000LL, -1767225600000LL, INT64_MAX, INT64_MIN};
    struct jdbc_buf b = {0};
    char want[32];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        b.len = 0;
        assert_int_equal(jdbc_buf_int(&b, v[i]), 0);
        snprintf(want, sizeof(want), "%lld", v[i]);
        assert_string_equal(b.p, want);
    }
    jdbc_buf_free(&b);
}

static void column_types_follow_the_dialect(void **state)
{
    char tmp[48];
    assert_string_equal(jdbc_sql_type(JDBC_PG, JT_INT64, 0, 0, tmp, sizeof(tmp)), "BIGINT");
    assert_string_equal(jdbc_sql_type(JDBC_PG, JT_FLOAT64, 0, 0, tmp, sizeof(tmp)),
                        "DOUBLE PRECISION");
    assert_string_equal(jdbc_sql_type(JDBC_PG, JT_JSON, 0, 0, tmp, sizeof(tmp)), "JSONB");
    assert_string_equal(jdbc_sql_type(JDBC_PG, JT_STRING, 1, 0, tmp, sizeof(tmp)), "TEXT");
    assert_string_equal(jdbc_sql_type(JDBC_MYSQL, JT_JSON, 0, 0, tmp, sizeof(tmp)), "JSON");
    assert_string_equal(jdbc_sql_type(JDBC_MYSQL, JT_STRING, 1, 0, tmp, sizeof(tmp)),
                        "VARCHAR(255)");
    assert_string_equal(jdbc_sql_type(JDBC_MYSQL, JT_STRING, 0, 0, tmp, sizeof(tmp)),
                        "LONGTEXT");
    assert_string_equal(jdbc_sql_type(JDBC_MYSQL, JT_DECIMAL, 0, 3, tmp, sizeof(tmp)),
                        "DECIMAL(65,3)");
    assert_string_equal(jdbc_sql_type(JDBC_MYSQL, JT_TIMESTAMP, 0, 0, tmp, sizeof(tmp)),
                        "DATETIME(3)");
}

static const char *cols[] = {"id", "name", "hr"};
static const int pks[] = {1, 0, 0};

static struct jdbc_stmt_spec spec(enum jdbc_dialect d, int nrows)
{
    struct jdbc_stmt_spec s = {d, 1, d == JDBC_PG ? "\"t\"" : "`t`", cols, pks, 3, nrows};
    return s;
}

static void pg_multi_row_insert_numbers_parameters(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 2);
    jdbc_sql_insert(&b, &s, 0);
    assert_string_equal(b.p, "INSERT INTO \"t\" (\"id\",\"name\",\"hr\") VALUES ($1,$2,$3),($4,$5,$6)");
    jdbc_buf_free(&b);
}

static void pg_upsert_updates_non_key_columns_from_excluded(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 1);
    jdbc_sql_insert(&b, &s, 1);
    assert_string_equal(b.p, "INSERT INTO \"t\" (\"id\",\"name\",\"hr\") VALUES ($1,$2,$3) ON "
                             "CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\","
                             "\"hr\"=EXCLUDED.\"hr\"");
    jdbc_buf_free(&b);
}

static void pg_upsert_of_only_keys_does_nothing(void **state)
{
    struct jdbc_buf b = {0};
    static const int allpk[] = {1};
    struct jdbc_stmt_spec s = {JDBC_PG, 1, "\"t\"", cols, allpk, 1, 1};
    jdbc_sql_insert(&b, &s, 1);
    assert_string_equal(b.p, "INSERT INTO \"t\" (\"id\") VALUES ($1) ON CONFLICT (\"id\") DO NOTHING");
    jdbc_buf_free(&b);
}

static void pg_stage_copies_the_column_types_and_empties_at_commit(void **state)
{
    struct jdbc_buf b = {0};
    static const char *evil[] = {"k\"; DROP TABLE t; --", "v"};
    static const int pk1[] = {1, 0};
    struct jdbc_stmt_spec s = {JDBC_PG, 1, "\"s\".\"t\"", evil, pk1, 2, 1};
    jdbc_sql_stage_create(&b, &s, "pg_temp.cd_stage_7");
    assert_string_equal(b.p, "CREATE TEMP TABLE pg_temp.cd_stage_7 ON COMMIT DELETE ROWS AS "
                             "SELECT \"k\"\"; DROP TABLE t; --\",\"v\" FROM \"s\".\"t\" "
                             "WITH NO DATA");
    jdbc_buf_free(&b);
}

static void pg_upsert_from_stage_selects_and_updates_non_keys(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 1);
    jdbc_sql_upsert_from(&b, &s, "pg_temp.cd_stage_1");
    assert_string_equal(b.p, "INSERT INTO \"t\" (\"id\",\"name\",\"hr\") SELECT \"id\",\"name\","
                             "\"hr\" FROM pg_temp.cd_stage_1 ON CONFLICT (\"id\") DO UPDATE SET "
                             "\"name\"=EXCLUDED.\"name\",\"hr\"=EXCLUDED.\"hr\"");
    b.len = 0;
    static const int allpk[] = {1};
    struct jdbc_stmt_spec k = {JDBC_PG, 1, "\"t\"", cols, allpk, 1, 1};
    jdbc_sql_upsert_from(&b, &k, "pg_temp.cd_stage_2");
    assert_string_equal(b.p, "INSERT INTO \"t\" (\"id\") SELECT \"id\" FROM pg_temp.cd_stage_2 "
                             "ON CONFLICT (\"id\") DO NOTHING");
    jdbc_buf_free(&b);
}

static void mysql_upsert_uses_on_duplicate_key(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_MYSQL, 2);
    jdbc_sql_insert(&b, &s, 1);
    assert_string_equal(b.p, "INSERT INTO `t` (`id`,`name`,`hr`) VALUES (?,?,?),(?,?,?) ON "
                             "DUPLICATE KEY UPDATE `name`=VALUES(`name`),`hr`=VALUES(`hr`)");
    jdbc_buf_free(&b);
}

static void update_sets_values_and_matches_keys(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 1);
    jdbc_sql_update(&b, &s);
    assert_string_equal(b.p, "UPDATE \"t\" SET \"name\"=$2,\"hr\"=$3 WHERE \"id\"=$1");
    b.len = 0;
    s = spec(JDBC_MYSQL, 1);
    jdbc_sql_update(&b, &s);
    assert_string_equal(b.p, "UPDATE `t` SET `name`=?,`hr`=? WHERE `id`=?");
    jdbc_buf_free(&b);
}

static void delete_matches_keys(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 1);
    jdbc_sql_delete(&b, &s);
    assert_string_equal(b.p, "DELETE FROM \"t\" WHERE \"id\"=$1");
    jdbc_buf_free(&b);
}

static void copy_names_the_columns(void **state)
{
    struct jdbc_buf b = {0};
    struct jdbc_stmt_spec s = spec(JDBC_PG, 1);
    jdbc_sql_copy(&b, &s);
    assert_string_equal(b.p, "COPY \"t\" (\"id\",\"name\",\"hr\") FROM STDIN");
    jdbc_buf_free(&b);
}

static void chunks_are_full_or_powers_of_two(void **state)
{
    assert_int_equal(jdbc_chunk_rows(5000, 3000), 3000);
    assert_int_equal(jdbc_chunk_rows(1000, 3000), 512);
    assert_int_equal(jdbc_chunk_rows(488, 3000), 256);
    assert_int_equal(jdbc_chunk_rows(1, 3000), 1);
    int left = 1000, n = 0;
    while (left) {
        left -= jdbc_chunk_rows(left, 3000);
        n++;
    }
    assert_int_equal(n, 6); /* 512+256+128+64+32+8 */
}

static void names_past_the_dialects_limits_are_refused(void **state)
{
    char why[160], name[80];
    memset(name, 'a', 63);
    name[63] = 0;
    assert_int_equal(jdbc_ident_check(JDBC_PG, name, why, sizeof(why)), 0);
    strcpy(name + 63, "b"); /* 64 bytes: Postgres would cut the b */
    assert_int_equal(jdbc_ident_check(JDBC_PG, name, why, sizeof(why)), -1);
    assert_string_equal(why, "is 64 bytes long, and Postgres cuts names to 63 bytes");
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, name, why, sizeof(why)), 0);
    /* MySQL counts characters: 32 two-byte ones are 64 bytes but within its 64 */
    name[0] = 0;
    for (int i = 0; i < 32; i++)
        strcat(name, "\xc3\xa9");
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, name, why, sizeof(why)), 0);
    assert_int_equal(jdbc_ident_check(JDBC_PG, name, why, sizeof(why)), -1);
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, "", why, sizeof(why)), -1);
    assert_string_equal(why, "is empty");
    assert_int_equal(jdbc_ident_check(JDBC_PG, "", why, sizeof(why)), -1);
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, "a ", why, sizeof(why)), -1);
    assert_string_equal(why, "ends with a space, which MySQL does not allow");
    assert_int_equal(jdbc_ident_check(JDBC_PG, "a ", why, sizeof(why)), 0);
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, "cow\xf0\x9f\x90\x84", why, sizeof(why)), -1);
    assert_int_equal(jdbc_ident_check(JDBC_PG, "cow\xf0\x9f\x90\x84", why, sizeof(why)), 0);
    assert_int_equal(jdbc_ident_check(JDBC_MYSQL, "x\"; DROP TABLE t; --", why, sizeof(why)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(postgres_quotes_double_the_quote_char),
        cmocka_unit_test(mysql_quotes_with_backticks),
        cmocka_unit_test(quote_never_keeps_plain_names_as_they_are),
        cmocka_unit_test(quote_never_still_quotes_names_that_are_not_plain),
        cmocka_unit_test(table_format_expands_every_topic_token),
        cmocka_unit_test(dot_of_the_format_separates_schema_dot_of_topic_does_not),
        cmocka_unit_test(copy_escape_handles_backslash_tab_newline_cr),
        cmocka_unit_test(integers_print_as_printf_would_to_the_extremes),
        cmocka_unit_test(column_types_follow_the_dialect),
        cmocka_unit_test(pg_multi_row_insert_numbers_parameters),
        cmocka_unit_test(pg_upsert_updates_non_key_columns_from_excluded),
        cmocka_unit_test(pg_upsert_of_only_keys_does_nothing),
        cmocka_unit_test(pg_stage_copies_the_column_types_and_empties_at_commit),
        cmocka_unit_test(pg_upsert_from_stage_selects_and_updates_non_keys),
        cmocka_unit_test(mysql_upsert_uses_on_duplicate_key),
        cmocka_unit_test(update_sets_values_and_matches_keys),
        cmocka_unit_test(delete_matches_keys),
        cmocka_unit_test(copy_names_the_columns),
        cmocka_unit_test(chunks_are_full_or_powers_of_two),
        cmocka_unit_test(names_past_the_dialects_limits_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
