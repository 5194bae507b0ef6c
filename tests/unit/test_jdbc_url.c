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

#include <stdio.h>
#include <stdlib.h>
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

static void check_redact(const char *url, const char *want)
{
    char *got = jdbc_url_redact(url);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void redact_masks_every_password_form_and_keeps_the_rest(void **state)
{
    check_redact("jdbc:postgresql://h:5432/db?user=u&password=secret",
                 "jdbc:postgresql://h:5432/db?user=u&password=****");
    check_redact("postgresql://u:secret@h/db", "postgresql://u:****@h/db");
    check_redact("jdbc:mysql://u:secret@h/db", "jdbc:mysql://u:****@h/db");
    check_redact("jdbc:mysql://h:3306/db?user=u&password=s%40cret&useSSL=false",
                 "jdbc:mysql://h:3306/db?user=u&password=****&useSSL=false");
    /* '@' unencoded in the password: the last '@' ends the userinfo, as the parser reads it */
    check_redact("mysql://u:p@ss@h/db?PASSWORD=x;sslpassword=y",
                 "mysql://u:****@h/db?PASSWORD=****;sslpassword=****");
    /* Connector/J's multi-factor passwords, key store passwords and the address form */
    check_redact("jdbc:mysql://h/db?password1=a1&trustCertificateKeyStorePassword=ks",
                 "jdbc:mysql://h/db?password1=****&trustCertificateKeyStorePassword=****");
    check_redact("jdbc:mysql://address=(host=h)(user=u)(password=pw)/db",
                 "jdbc:mysql://address=(host=h)(user=u)(password=****)/db");
    /* a value holding '=' is masked whole */
    check_redact("jdbc:postgresql://h/db?password=a=b&sslmode=require",
                 "jdbc:postgresql://h/db?password=****&sslmode=require");
}

static void redact_leaves_urls_without_password_alone(void **state)
{
    check_redact("jdbc:postgresql://h:5432/db?user=u&sslmode=require",
                 "jdbc:postgresql://h:5432/db?user=u&sslmode=require");
    check_redact("mysql://root@h:1/d", "mysql://root@h:1/d");
    check_redact("jdbc:postgresql://h/db?password=", "jdbc:postgresql://h/db?password=");
    check_redact("not a url", "not a url");
    check_redact("", "");
}

static void scrub_masks_the_secret_wherever_a_message_echoes_it(void **state)
{
    char m[64];
    snprintf(m, sizeof(m), "FATAL: bad conninfo \"password=hunter2 host=h\" hunter2");
    jdbc_scrub(m, sizeof(m), "hunter2");
    assert_string_equal(m, "FATAL: bad conninfo \"password=**** host=h\" ****");
    /* a short secret is left alone: masking it would garble the message */
    snprintf(m, sizeof(m), "port 5432 refused");
    jdbc_scrub(m, sizeof(m), "54");
    assert_string_equal(m, "port 5432 refused");
    jdbc_scrub(m, sizeof(m), NULL);
    assert_string_equal(m, "port 5432 refused");
}

static void scrub_never_overflows_when_masking_grows_the_message(void **state)
{
    /* a 3-character secret grows by one per hit: the end is cut, the secret never shows */
    char m[8];
    snprintf(m, sizeof(m), "abcabca");
    jdbc_scrub(m, sizeof(m), "abc");
    assert_string_equal(m, "****"); /* "****abc", then the second **** does not fit */
    char l[9];
    snprintf(l, sizeof(l), "abcabca");
    jdbc_scrub(l, sizeof(l), "abc");
    assert_string_equal(l, "********");
    char n[6];
    snprintf(n, sizeof(n), "xyabc");
    jdbc_scrub(n, sizeof(n), "abc");
    assert_string_equal(n, "xy");
    char o[7];
    snprintf(o, sizeof(o), "xyabc!");
    jdbc_scrub(o, sizeof(o), "abc");
    assert_string_equal(o, "xy****");
}

static void target_names_host_port_and_database(void **state)
{
    struct jdbc_url u;
    char err[256], buf[128];
    assert_int_equal(jdbc_url_parse("postgresql://u:secret@db.example/sales", &u, err, sizeof(err)), 0);
    assert_string_equal(jdbc_url_target(&u, buf, sizeof(buf)), "db.example:5432/sales");
    jdbc_url_free(&u);
    assert_int_equal(jdbc_url_parse("jdbc:mariadb://[::1]:3307/farm", &u, err, sizeof(err)), 0);
    assert_string_equal(jdbc_url_target(&u, buf, sizeof(buf)), "[::1]:3307/farm");
    jdbc_url_free(&u);
    assert_int_equal(jdbc_url_parse("mysql://", &u, err, sizeof(err)), 0);
    assert_string_equal(jdbc_url_target(&u, buf, sizeof(buf)), "localhost:3306/");
    jdbc_url_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jdbc_postgres_url_with_params),
        cmocka_unit_test(native_postgres_uri_with_userinfo),
        cmocka_unit_test(mysql_and_mariadb_urls),
        cmocka_unit_test(ipv6_host_and_no_database),
        cmocka_unit_test(unknown_scheme_and_bad_port_are_refused_without_the_password),
        cmocka_unit_test(redact_masks_every_password_form_and_keeps_the_rest),
        cmocka_unit_test(redact_leaves_urls_without_password_alone),
        cmocka_unit_test(scrub_masks_the_secret_wherever_a_message_echoes_it),
        cmocka_unit_test(scrub_never_overflows_when_masking_grows_the_message),
        cmocka_unit_test(target_names_host_port_and_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
