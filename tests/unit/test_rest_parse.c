/* The pure parts of the REST layer: percent-decoding of path segments, routing of every
 * Kafka Connect endpoint (404/405, trailing slash, task numbers), listener parsing, JSON body
 * errors with line and column, and the validate plugin-type check. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "rest_internal.h"

#include <stdlib.h>
#include <string.h>

static void url_decode_handles_escapes(void **st)
{
    char *s = rest_url_decode("my%20conn%2Fx+y%25", strlen("my%20conn%2Fx+y%25"));
    assert_string_equal(s, "my conn/x+y%");
    free(s);
    s = rest_url_decode("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    assert_null(rest_url_decode("a%2", 3));
    assert_null(rest_url_decode("a%zz", 4));
    assert_null(rest_url_decode("a%00b", 5));
}

static void url_encode_keeps_unreserved(void **st)
{
    char out[64];
    assert_int_equal(rest_url_encode("my conn/a%b-._~", out, sizeof(out)), 21);
    assert_string_equal(out, "my%20conn%2Fa%25b-._~");
    char small[5];
    assert_int_equal(rest_url_encode("a b", small, sizeof(small)), 5);
    assert_string_equal(small, "a%20");
}

/* Routes method+path and checks the herder op and decoded name. */
static void expect_op(const char *method, const char *path, enum herder_op op, const char *name,
                      int task)
{
    struct rest_match m;
    assert_int_equal(rest_route_find(method, path, &m), 0);
    assert_int_equal(m.route->kind, RK_HERDER);
    assert_int_equal(m.route->op, op);
    if (name)
        assert_string_equal(m.name, name);
    else
        assert_null(m.name);
    assert_int_equal(m.task, task);
    rest_match_clear(&m);
}

static void every_connector_endpoint_maps_to_its_op(void **st)
{
    expect_op("GET", "/", HOP_ROOT, NULL, -1);
    expect_op("GET", "/health", HOP_HEALTH, NULL, -1);
    expect_op("GET", "/connectors", HOP_LIST, NULL, -1);
    expect_op("POST", "/connectors", HOP_CREATE, NULL, -1);
    expect_op("GET", "/connectors/c", HOP_GET, "c", -1);
    expect_op("DELETE", "/connectors/c", HOP_DELETE, "c", -1);
    expect_op("GET", "/connectors/c/config", HOP_CONFIG_GET, "c", -1);
    expect_op("PUT", "/connectors/c/config", HOP_CONFIG_PUT, "c", -1);
    expect_op("PATCH", "/connectors/c/config", HOP_CONFIG_PATCH, "c", -1);
    expect_op("GET", "/connectors/c/status", HOP_STATUS, "c", -1);
    expect_op("GET", "/connectors/c/tasks", HOP_TASKS, "c", -1);
    expect_op("GET", "/connectors/c/tasks-config", HOP_TASKS_CONFIG, "c", -1);
    expect_op("GET", "/connectors/c/tasks/2/status", HOP_TASK_STATUS, "c", 2);
    expect_op("POST", "/connectors/c/tasks/0/restart", HOP_TASK_RESTART, "c", 0);
    expect_op("POST", "/connectors/c/restart", HOP_RESTART, "c", -1);
    expect_op("PUT", "/connectors/c/pause", HOP_PAUSE, "c", -1);
    expect_op("PUT", "/connectors/c/resume", HOP_RESUME, "c", -1);
    expect_op("PUT", "/connectors/c/stop", HOP_STOP, "c", -1);
    expect_op("GET", "/connectors/c/topics", HOP_TOPICS, "c", -1);
    expect_op("PUT", "/connectors/c/topics/reset", HOP_TOPICS_RESET, "c", -1);
    expect_op("GET", "/connectors/c/offsets", HOP_OFFSETS_GET, "c", -1);
    expect_op("PATCH", "/connectors/c/offsets", HOP_OFFSETS_PATCH, "c", -1);
    expect_op("DELETE", "/connectors/c/offsets", HOP_OFFSETS_DELETE, "c", -1);
}

static void connector_names_are_decoded_per_segment(void **st)
{
    expect_op("GET", "/connectors/my%20sink%2Fv2/status", HOP_STATUS, "my sink/v2", -1);
    expect_op("GET", "/connectors/tasks", HOP_GET, "tasks", -1);
    struct rest_match m;
    assert_int_equal(rest_route_find("GET", "/connectors/bad%zz", &m), 400);
    rest_match_clear(&m);
}

static void trailing_slash_is_tolerated(void **st)
{
    struct rest_match m;
    assert_int_equal(rest_route_find("GET", "/connector-plugins/", &m), 0);
    assert_int_equal(m.route->kind, RK_PLUGINS);
    rest_match_clear(&m);
    expect_op("GET", "/connectors/", HOP_LIST, NULL, -1);
    expect_op("GET", "/connectors/c/status/", HOP_STATUS, "c", -1);
}

static void rest_handled_endpoints_route_to_their_kind(void **st)
{
    static const struct {
        const char *method, *path;
        enum rest_kind kind;
        const char *name;
    } cases[] = {
        {"GET", "/connector-plugins", RK_PLUGINS, NULL},
        {"GET", "/connector-plugins/FileStreamSink/config", RK_PLUGIN_CONFIG, "FileStreamSink"},
        {"PUT", "/connector-plugins/a.B/config/validate", RK_PLUGIN_VALIDATE, "a.B"},
        {"GET", "/admin/loggers", RK_LOGGERS, NULL},
        {"GET", "/admin/loggers/connectd.rest", RK_LOGGER_GET, "connectd.rest"},
        {"PUT", "/admin/loggers/root", RK_LOGGER_PUT, "root"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rest_match m;
        assert_int_equal(rest_route_find(cases[i].method, cases[i].path, &m), 0);
        assert_int_equal(m.route->kind, cases[i].kind);
        if (cases[i].name)
            assert_string_equal(m.name, cases[i].name);
        else
            assert_null(m.name);
        rest_match_clear(&m);
    }
}

static void unknown_paths_are_404_and_wrong_methods_405(void **st)
{
    static const struct {
        const char *method, *path;
        int status;
    } cases[] = {
        {"GET", "/nope", 404},
        {"GET", "/connectors/c/nope", 404},
        {"GET", "/connectors/c/tasks/x/status", 404},
        {"GET", "/connectors/c/tasks/-1/status", 404},
        {"GET", "/connectors//status", 404},
        {"GET", "connectors", 404},
        {"GET", "/a/b/c/d/e/f/g/h/i/j", 404},
        {"DELETE", "/connectors", 405},
        {"POST", "/connectors/c/config", 405},
        {"GET", "/connectors/c/restart", 405},
        {"POST", "/connector-plugins", 405},
        {"GET", "/connector-plugins/p/config/validate", 405},
        {"DELETE", "/admin/loggers/root", 405},
        {"HEAD", "/", 405},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rest_match m;
        int st2 = rest_route_find(cases[i].method, cases[i].path, &m);
        if (st2 != cases[i].status)
            fail_msg("%s %s: got %d, want %d", cases[i].method, cases[i].path, st2,
                     cases[i].status);
        rest_match_clear(&m);
    }
}

static void query_true_is_case_insensitive(void **st)
{
    assert_int_equal(rest_query_true("true"), 1);
    assert_int_equal(rest_query_true("TRUE"), 1);
    assert_int_equal(rest_query_true("false"), 0);
    assert_int_equal(rest_query_true("1"), 0);
    assert_int_equal(rest_query_true(NULL), 0);
}

static void listener_parsing_takes_first_http(void **st)
{
    char host[64], err[128];
    int port = -1;
    assert_int_equal(
        rest_listener_parse("http://:8083", host, sizeof(host), &port, err, sizeof(err)), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 8083);
    assert_int_equal(rest_listener_parse("https://a:1, http://127.0.0.1:0", host, sizeof(host),
                                         &port, err, sizeof(err)),
                     0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(
        rest_listener_parse("HTTP://[::1]:9000/", host, sizeof(host), &port, err, sizeof(err)), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9000);
}

static void bad_listeners_are_refused(void **st)
{
    static const char *const bad[] = {
        "http://host", "http://:99999", "http://:80x", "https://:8443", "", "http://[::1:80", NULL};
    char host[64], err[128];
    int port;
    for (const char *const *b = bad; *b; b++) {
        err[0] = '\0';
        if (!rest_listener_parse(*b, host, sizeof(host), &port, err, sizeof(err)))
            fail_msg("listener '%s' accepted", *b);
        assert_true(err[0] != '\0');
    }
}

static void malformed_body_reports_line_and_column(void **st)
{
    static const char body[] = "{\"name\": \"a\",\n \"config\" {}}";
    json_t *j = NULL;
    char err[256];
    assert_int_equal(rest_body_parse(body, strlen(body), &j, err, sizeof(err)), -1);
    assert_null(j);
    assert_non_null(strstr(err, "Malformed JSON"));
    assert_non_null(strstr(err, "line 2, column 11"));
}

static void empty_body_is_no_body(void **st)
{
    json_t *j = (json_t *)1;
    char err[64];
    assert_int_equal(rest_body_parse(NULL, 0, &j, err, sizeof(err)), 0);
    assert_null(j);
    assert_int_equal(rest_body_parse(" \r\n", 3, &j, err, sizeof(err)), 0);
    assert_null(j);
    assert_int_equal(rest_body_parse("{\"a\":1}", 7, &j, err, sizeof(err)), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
}

static void validate_type_check_accepts_aliases(void **st)
{
    const char *fq = "org.apache.kafka.connect.file.FileStreamSinkConnector";
    assert_int_equal(rest_plugin_type_matches(fq, fq), 1);
    assert_int_equal(rest_plugin_type_matches(fq, "FileStreamSink"), 1);
    assert_int_equal(rest_plugin_type_matches("FileStreamSink", fq), 1);
    assert_int_equal(rest_plugin_type_matches(fq, "FileStreamSinkConnector"), 1);
    assert_int_equal(rest_plugin_type_matches("FileStreamSource", fq), 0);
    assert_int_equal(rest_plugin_type_matches("com.x.MyConnector", "My"), 1);
    assert_int_equal(rest_plugin_type_matches("com.x.MyConnector", "Other"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_decode_handles_escapes),
        cmocka_unit_test(url_encode_keeps_unreserved),
        cmocka_unit_test(every_connector_endpoint_maps_to_its_op),
        cmocka_unit_test(connector_names_are_decoded_per_segment),
        cmocka_unit_test(trailing_slash_is_tolerated),
        cmocka_unit_test(rest_handled_endpoints_route_to_their_kind),
        cmocka_unit_test(unknown_paths_are_404_and_wrong_methods_405),
        cmocka_unit_test(query_true_is_case_insensitive),
        cmocka_unit_test(listener_parsing_takes_first_http),
        cmocka_unit_test(bad_listeners_are_refused),
        cmocka_unit_test(malformed_body_reports_line_and_column),
        cmocka_unit_test(empty_body_is_no_body),
        cmocka_unit_test(validate_type_check_accepts_aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
