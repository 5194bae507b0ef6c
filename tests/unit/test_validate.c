/* Connector config validation (config/validate, create/update checks, plugin config listing)
 * against the compiled-in FileStream connectors: Kafka Connect's key sets, error messages
 * and error counts. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "validate.h"

#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define SOURCE_CLASS "org.apache.kafka.connect.file.FileStreamSourceConnector"
#define SINK_CLASS "org.apache.kafka.connect.file.FileStreamSinkConnector"

static json_t *source_conf(void)
{
    return json_pack("{s:s s:s s:s s:s s:s}", "name", "local-file-source", "connector.class",
                     SOURCE_CLASS, "tasks.max", "1", "file", "/tmp/in.txt", "topic", "test");
}

static json_t *sink_conf(void)
{
    return json_pack("{s:s s:s s:s s:s s:s}", "name", "local-file-sink", "connector.class",
                     SINK_CLASS, "tasks.max", "1", "file", "/tmp/out.txt", "topics", "test");
}

/* The config entry for key in a ConfigInfos result, or NULL. */
static json_t *config_of(json_t *result, const char *key)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(result, "configs"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(json_object_get(c, "definition"), "name")),
                    key))
            return c;
    }
    return NULL;
}

static json_t *errors_of(json_t *result, const char *key)
{
    return json_object_get(json_object_get(config_of(result, key), "value"), "errors");
}

/* 1 when errors of key in result hold exactly msg (among others). */
static int has_error(json_t *result, const char *key, const char *msg)
{
    size_t i;
    json_t *m;
    json_array_foreach(errors_of(result, key), i, m)
    {
        if (!strcmp(json_string_value(m), msg))
            return 1;
    }
    return 0;
}

/* Asserts the listed definition names are exactly keys (any order, each once). */
static void assert_key_set(json_t *result, const char *const *keys)
{
    size_t n = 0;
    for (const char *const *k = keys; *k; k++, n++) {
        int count = 0;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(result, "configs"), i, c)
        {
            const char *name =
                json_string_value(json_object_get(json_object_get(c, "definition"), "name"));
            count += !strcmp(name, *k);
        }
        if (count != 1)
            fail_msg("key %s listed %d times", *k, count);
    }
    assert_int_equal(json_array_size(json_object_get(result, "configs")), n);
}

static void valid_source_lists_kafkas_source_keys(void **st)
{
    static const char *const keys[] = {"name",
                                       "connector.class",
                                       "tasks.max",
                                       "key.converter",
                                       "value.converter",
                                       "header.converter",
                                       "batch.size",
                                       "topic",
                                       "file",
                                       "transforms",
                                       "config.action.reload",
                                       "errors.retry.timeout",
                                       "errors.retry.delay.max.ms",
                                       "errors.tolerance",
                                       "errors.log.enable",
                                       "errors.log.include.messages",
                                       "predicates",
                                       "topic.creation.groups",
                                       "exactly.once.support",
                                       "transaction.boundary",
                                       "transaction.boundary.interval.ms",
                                       "offsets.storage.topic",
                                       "tasks.max.enforce",
                                       NULL};
    json_t *conf = source_conf();
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_non_null(r);
    assert_int_equal(n, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "error_count")), 0);
    assert_string_equal(json_string_value(json_object_get(r, "name")), SOURCE_CLASS);
    assert_key_set(r, keys);
    json_t *v = json_object_get(config_of(r, "batch.size"), "value");
    assert_string_equal(json_string_value(json_object_get(v, "value")), "2000");
    assert_true(json_is_true(json_object_get(v, "visible")));
    json_decref(r);
    json_decref(conf);
}

static void valid_sink_lists_kafkas_sink_keys(void **st)
{
    static const char *const keys[] = {"name",
                                       "connector.class",
                                       "tasks.max",
                                       "key.converter",
                                       "value.converter",
                                       "header.converter",
                                       "topics",
                                       "file",
                                       "transforms",
                                       "topics.regex",
                                       "config.action.reload",
                                       "errors.retry.timeout",
                                       "errors.retry.delay.max.ms",
                                       "errors.tolerance",
                                       "errors.log.enable",
                                       "errors.log.include.messages",
                                       "errors.deadletterqueue.topic.name",
                                       "errors.deadletterqueue.topic.replication.factor",
                                       "errors.deadletterqueue.context.headers.enable",
                                       "predicates",
                                       "tasks.max.enforce",
                                       NULL};
    json_t *conf = sink_conf();
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 0);
    assert_string_equal(json_string_value(json_object_get(r, "name")), SINK_CLASS);
    assert_key_set(r, keys);
    json_t *groups = json_object_get(r, "groups");
    assert_string_equal(json_string_value(json_array_get(groups, 0)), "Common");
    json_decref(r);
    json_decref(conf);
}

static void missing_name_and_class_are_errors_on_those_keys(void **st)
{
    json_t *conf = json_pack("{s:s}", "tasks.max", "1");
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 2);
    assert_true(has_error(r, "name",
                          "Missing required configuration \"name\" which has no "
                          "default value."));
    assert_true(has_error(r, "connector.class",
                          "Missing required configuration "
                          "\"connector.class\" which has no default value."));
    assert_null(config_of(r, "topics")); /* only the common keys */
    assert_null(config_of(r, "batch.size"));
    assert_non_null(config_of(r, "errors.tolerance"));
    json_decref(r);
    json_decref(conf);
}

static void unknown_class_names_available_connectors(void **st)
{
    json_t *conf = json_pack("{s:s s:s}", "name", "x", "connector.class", "com.example.Nope");
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    const char *msg = json_string_value(json_array_get(errors_of(r, "connector.class"), 0));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Failed to find any class that implements Connector and which "
                                "name matches com.example.Nope, available connectors are: "));
    assert_non_null(strstr(msg, SOURCE_CLASS));
    assert_string_equal(json_string_value(json_object_get(r, "name")), "com.example.Nope");
    json_decref(r);
    json_decref(conf);
}

static void non_numeric_tasks_max_names_the_key(void **st)
{
    json_t *conf = source_conf();
    json_object_set_new(conf, "tasks.max", json_string("abc"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    assert_true(has_error(
        r, "tasks.max", "Invalid value abc for configuration tasks.max: Not a number of type INT"));
    json_t *v = json_object_get(config_of(r, "tasks.max"), "value");
    assert_string_equal(json_string_value(json_object_get(v, "value")), "abc");
    json_decref(r);
    json_decref(conf);
}

static void sink_needs_topics_or_regex(void **st)
{
    json_t *conf = sink_conf();
    json_object_del(conf, "topics");
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 2);
    assert_true(has_error(r, "topics", "Must configure one of topics or topics.regex"));
    assert_true(has_error(r, "topics.regex", "Must configure one of topics or topics.regex"));
    json_decref(r);
    json_decref(conf);
}

static void sink_topics_and_regex_are_exclusive(void **st)
{
    static const char msg[] =
        "topics and topics.regex are mutually exclusive options, but both are set.";
    json_t *conf = sink_conf();
    json_object_set_new(conf, "topics.regex", json_string("te.*"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 2);
    assert_true(has_error(r, "topics", msg));
    assert_true(has_error(r, "topics.regex", msg));
    json_decref(r);
    json_decref(conf);
}

static void sink_dlq_topic_may_not_be_consumed(void **st)
{
    json_t *conf = sink_conf();
    json_object_set_new(conf, "topics", json_string("a, dlq"));
    json_object_set_new(conf, "errors.deadletterqueue.topic.name", json_string("dlq"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    assert_true(has_error(r, "topics",
                          "The DLQ topic 'dlq' may not be included in the list of "
                          "topics ('topics=[a, dlq]') consumed by the connector"));
    json_decref(r);
    json_decref(conf);
}

static void source_ignores_sink_topic_rules(void **st)
{
    json_t *conf = source_conf();
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 0);
    assert_null(config_of(r, "topics"));
    json_decref(r);
    json_decref(conf);
}

static void unknown_converter_class_is_an_error(void **st)
{
    json_t *conf = source_conf();
    json_object_set_new(conf, "key.converter", json_string("com.example.NoConverter"));
    json_object_set_new(conf, "value.converter",
                        json_string("org.apache.kafka.connect.json.JsonConverter"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    assert_true(has_error(r, "key.converter", "Class com.example.NoConverter could not be found."));
    assert_int_equal(json_array_size(errors_of(r, "value.converter")), 0);
    json_decref(r);
    json_decref(conf);
}

static void header_converter_must_be_a_header_converter(void **st)
{
    json_t *conf = source_conf();
    json_object_set_new(conf, "header.converter",
                        json_string("org.apache.kafka.connect.storage.SimpleHeaderConverter"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 0);
    json_decref(r);
    json_object_set_new(conf, "header.converter", json_string("com.example.Nope"));
    r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    assert_true(has_error(r, "header.converter", "Class com.example.Nope could not be found."));
    json_decref(r);
    json_decref(conf);
}

static void transform_alias_without_type_is_an_error(void **st)
{
    json_t *conf = source_conf();
    json_object_set_new(conf, "transforms", json_string(" a , b"));
    json_object_set_new(conf, "transforms.a.type",
                        json_string("org.apache.kafka.connect.transforms.InsertField$Value"));
    json_object_set_new(conf, "predicates", json_string("p"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 2);
    assert_true(has_error(r, "transforms",
                          "Missing required configuration \"transforms.b.type\" "
                          "which has no default value."));
    assert_true(has_error(r, "predicates",
                          "Missing required configuration \"predicates.p.type\" "
                          "which has no default value."));
    json_decref(r);
    json_decref(conf);
}

static void plugin_cross_key_check_runs(void **st)
{
    json_t *conf = source_conf();
    json_object_set_new(conf, "topic", json_string("a,b"));
    int n = -1;
    json_t *r = connector_validate(conf, &n);
    assert_int_equal(n, 1);
    assert_int_equal(json_array_size(errors_of(r, "topic")), 1);
    json_decref(r);
    json_decref(conf);
}

static void create_message_lists_every_error(void **st)
{
    json_t *conf = sink_conf();
    json_object_del(conf, "topics");
    json_object_set_new(conf, "tasks.max", json_string("x"));
    char *msg = connector_validate_message(conf);
    assert_non_null(msg);
    assert_string_equal(msg,
                        "Connector configuration is invalid and contains the following 3 "
                        "error(s):\n"
                        "Invalid value x for configuration tasks.max: Not a number of type INT\n"
                        "Must configure one of topics or topics.regex\n"
                        "Must configure one of topics or topics.regex\n"
                        "You can also find the above list of errors at the endpoint "
                        "`/connector-plugins/{connectorType}/config/validate`");
    free(msg);
    json_decref(conf);
}

static void create_message_is_null_when_valid(void **st)
{
    json_t *conf = sink_conf();
    assert_null(connector_validate_message(conf));
    json_decref(conf);
}

static void plugin_config_lists_own_keys_then_common(void **st)
{
    const struct connector_plugin *p = registry_find_connector("FileStreamSink");
    assert_non_null(p);
    json_t *a = connector_plugin_config(p);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "name")), "file");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "name")), "name");
    json_t *names = json_object();
    size_t i;
    json_t *d;
    json_array_foreach(a, i, d)
    {
        json_object_set_new(names, json_string_value(json_object_get(d, "name")), json_true());
    }
    assert_int_equal(json_object_size(names), json_array_size(a)); /* each key once */
    assert_non_null(json_object_get(names, "topics.regex"));
    assert_null(json_object_get(names, "exactly.once.support"));
    json_decref(names);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_source_lists_kafkas_source_keys),
        cmocka_unit_test(valid_sink_lists_kafkas_sink_keys),
        cmocka_unit_test(missing_name_and_class_are_errors_on_those_keys),
        cmocka_unit_test(unknown_class_names_available_connectors),
        cmocka_unit_test(non_numeric_tasks_max_names_the_key),
        cmocka_unit_test(sink_needs_topics_or_regex),
        cmocka_unit_test(sink_topics_and_regex_are_exclusive),
        cmocka_unit_test(sink_dlq_topic_may_not_be_consumed),
        cmocka_unit_test(source_ignores_sink_topic_rules),
        cmocka_unit_test(unknown_converter_class_is_an_error),
        cmocka_unit_test(header_converter_must_be_a_header_converter),
        cmocka_unit_test(transform_alias_without_type_is_an_error),
        cmocka_unit_test(plugin_cross_key_check_runs),
        cmocka_unit_test(create_message_lists_every_error),
        cmocka_unit_test(create_message_is_null_when_valid),
        cmocka_unit_test(plugin_config_lists_own_keys_then_common),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
