/* JDBC sink connection.url parsing: JDBC and native URLs of both dialects, credentials,
 * parameters, IPv6, and refusal of unknown schemes without echoing secrets. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/jdbc/jdbc.h"

#include <string.h>

static void jdbc_postgres_url_with_params(void **state)
{
    struct jdbc_url u;
    char err[256];
    assert_int_equal(jdbc_url_parse("jdbc:postgresql://db.example:6543/vitals?user=kc&password=s%40cret&sslmode=require",
                                    &u, err, sizeof(err)),
                     0);
    assert_int_equal(u.dialect, JDBC_PG);
    assert_string_equal(u.host, "db.example");
    assert_int_equal(u.port, 6543);
    assert_string_equal(u.db, "vitals");
    assert_string_equal(u.user, "kc");
    assert_string_equal(u.password, "s@cret");
    assert_string_equal(jdbc_url_param(&u, "sslmode"), "require");
    jdbc_url_free(&u);
}

static void native_postgres_uri_with_userinfo(void **state)
{
    struct jdbc_url u;
    char err[256];
    assert_int_equal(jdbc_url_parse("postgres://me:p%3Aw@localhost/db", &u, err, sizeof(err)), 0);
    assert_int_equal(u.dialect, JDBC_PG);
    assert_string_equal(u.user, "me");
    assert_string_equal(u.password, "p:w");
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 0);
    assert_string_equal(u.db, "db");
    jdbc_url_free(&u);
}

static void mysql_and_mariadb_urls(void **state)
{
    struct jdbc_url u;
    char err[256];
    assert_int_equal(jdbc_url_parse("jdbc:mysql://127.0.0.1:3306/farm?useSSL=false", &u, err, sizeof(err)), 0);
    assert_int_equal(u.dialect, JDBC_MYSQL);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 3306);
    assert_string_equal(u.db, "farm");
    assert_string_equal(jdbc_url_param(&u, "usessl"), "false");
    jdbc_url_free(&u);
    assert_int_equal(jdbc_url_parse("jdbc:mariadb://h/d", &u, err, sizeof(err)), 0);
    assert_int_equal(u.dialect, JDBC_MYSQL);
    jdbc_url_free(&u);
    assert_int_equal(jdbc_url_parse("mysql://root@h:1/d", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "root");
    assert_null(u.password);
    jdbc_url_free(&u);
}

static void ipv6_host_and_no_database(void **state)
{
    struct jdbc_url u;
    char err[256];
    assert_int_equal(jdbc_url_parse("jdbc:postgresql://[::1]:5432", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5432);
    assert_null(u.db);
    jdbc_url_free(&u);
}

static void unknown_scheme_and_bad_port_are_refused_without_the_password(void **state)
{
    struct jdbc_url u;
    char err[256];
    assert_int_equal(jdbc_url_parse("jdbc:oracle:thin:@h:1521:x", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unsupported"));
    assert_int_equal(jdbc_url_parse("postgresql://u:topsecret@h:99999/d", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "port"));
    assert_null(strstr(err, "topsecret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jdbc_postgres_url_with_params),
        cmocka_unit_test(native_postgres_uri_with_userinfo),
        cmocka_unit_test(mysql_and_mariadb_urls),
        cmocka_unit_test(ipv6_host_and_no_database),
        cmocka_unit_test(unknown_scheme_and_bad_port_are_refused_without_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
