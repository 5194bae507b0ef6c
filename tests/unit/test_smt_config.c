/* Transform and predicate configs: every built-in answers to Kafka's class name and its simple
 * name, and a bad config is refused with a message naming the full key, which
 * config/validate reports against that key. */
#include "smt_harness.h"

static void every_builtin_resolves_by_class_and_simple_name(void **st)
{
    static const char *const kv[] = {"Cast", "ExtractField", "Flatten", "HeaderFrom",
                                     "HoistField", "InsertField", "MaskField", "ReplaceField",
                                     "SetSchemaMetadata", "TimestampConverter", NULL};
    static const char *const plain[] = {"DropHeaders", "Filter", "InsertHeader", "RegexRouter",
                                        "TimestampRouter", "ValueToKey", NULL};
    char name[200];
    for (const char *const *k = kv; *k; k++)
        for (int v = 0; v < 2; v++) {
            snprintf(name, sizeof(name), "org.apache.kafka.connect.transforms.%s$%s", *k,
                     v ? "Value" : "Key");
            assert_non_null(transform_find(name));
            assert_string_equal(transform_find(name)->class_name, name);
            assert_ptr_equal(transform_find(strrchr(name, '.') + 1), transform_find(name));
        }
    for (const char *const *k = plain; *k; k++) {
        snprintf(name, sizeof(name), "org.apache.kafka.connect.transforms.%s", *k);
        assert_non_null(transform_find(name));
        assert_ptr_equal(transform_find(*k), transform_find(name));
    }
    assert_null(transform_find("Cast")); /* Cast needs $Key or $Value, as in Kafka */
    static const char *const preds[] = {"TopicNameMatches", "HasHeaderKey", "RecordIsTombstone",
                                        NULL};
    for (const char *const *p = preds; *p; p++) {
        snprintf(name, sizeof(name), "org.apache.kafka.connect.transforms.predicates.%s", *p);
        assert_non_null(predicate_find(name));
        assert_ptr_equal(predicate_find(*p), predicate_find(name));
    }
}

/* The chain's message for conf, and the key config/validate puts it on. */
static void assert_config_error(const char *const *kv, const char *key, const char *msg)
{
    json_t *conf = smt_conf(kv), *errors = json_object();
    char err[1024];
    assert_null(transform_chain_new(conf, err, sizeof(err)));
    assert_string_equal(err, msg);
    assert_int_equal(transform_chain_validate(conf, errors), 1);
    json_t *list = json_object_get(errors, key);
    if (!list)
        fail_msg("no error on %s: %s", key, json_dumps(errors, 0));
    assert_string_equal(json_string_value(json_array_get(list, 0)), msg);
    json_decref(conf);
    json_decref(errors);
}

#define T(type, ...) (const char *const[]){"transforms", "a", "transforms.a.type", type, __VA_ARGS__}

static void bad_transform_configs_name_their_key(void **st)
{
    assert_config_error(T("Nope", NULL), "transforms.a.type",
                        "Invalid value Nope for configuration transforms.a.type: Class Nope "
                        "could not be found.");
    assert_config_error(T("Cast$Value", NULL), "transforms.a.spec",
                        "Invalid configuration transforms.a.spec: Missing required configuration "
                        "\"spec\" which has no default value.");
    assert_config_error(T("Cast$Value", "transforms.a.spec", "price:bytes", NULL),
                        "transforms.a.spec",
                        "Invalid configuration transforms.a.spec: Invalid value price:bytes for "
                        "configuration spec: Cast transformation does not support casting to "
                        "BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, "
                        "BOOLEAN, STRING]");
    assert_config_error(T("Cast$Value", "transforms.a.spec", "int32,f:string", NULL),
                        "transforms.a.spec",
                        "Invalid configuration transforms.a.spec: Invalid value int32,f:string "
                        "for configuration spec: Cast transformations that specify a type to "
                        "cast the entire value to may only specify a single cast in their spec");
    assert_config_error(T("TimestampConverter$Value", "transforms.a.target.type", "date", NULL),
                        "transforms.a.target.type",
                        "Invalid configuration transforms.a.target.type: Invalid value date for "
                        "configuration target.type: String must be one of: string, unix, Date, "
                        "Time, Timestamp");
    assert_config_error(T("TimestampConverter$Value", "transforms.a.target.type", "string", NULL),
                        "transforms.a.format",
                        "Invalid configuration transforms.a.format: TimestampConverter requires "
                        "format option to be specified when using string timestamps");
    assert_config_error(T("HeaderFrom$Value", "transforms.a.fields", "a,b", "transforms.a.headers",
                          "x", "transforms.a.operation", "copy", NULL),
                        "transforms.a.headers",
                        "Invalid configuration transforms.a.headers: 'fields' config must have "
                        "the same number of elements as 'headers' config.");
    assert_config_error(T("InsertField$Value", NULL), "transforms.a.topic.field",
                        "Invalid configuration transforms.a.topic.field: No field insertion "
                        "configured");
    assert_config_error(T("ReplaceField$Value", "transforms.a.renames", "a:b:c", NULL),
                        "transforms.a.renames",
                        "Invalid configuration transforms.a.renames: Invalid value a:b:c for "
                        "configuration renames: Invalid rename mapping: a:b:c");
    assert_config_error(T("SetSchemaMetadata$Value", NULL), "transforms.a.schema.name",
                        "Invalid configuration transforms.a.schema.name: Neither schema name nor "
                        "version configured");
    assert_config_error(T("ValueToKey", "transforms.a.fields", " , ", NULL), "transforms.a.fields",
                        "Invalid configuration transforms.a.fields: Invalid value [] for "
                        "configuration fields: Empty list");
}

static void bad_predicate_configs_name_their_key(void **st)
{
    static const char *const missing[] = {"transforms", "a", "transforms.a.type", "Filter",
                                          "transforms.a.predicate", "p", "predicates", "p",
                                          "predicates.p.type", "TopicNameMatches", NULL};
    assert_config_error(missing, "predicates.p.pattern",
                        "Invalid configuration predicates.p.pattern: Missing required "
                        "configuration \"pattern\" which has no default value.");
    static const char *const bad[] = {"transforms", "a", "transforms.a.type", "Filter",
                                      "transforms.a.predicate", "p", "predicates", "p",
                                      "predicates.p.type", "TopicNameMatches",
                                      "predicates.p.pattern", "foo(", NULL};
    json_t *conf = smt_conf(bad);
    char err[1024];
    assert_null(transform_chain_new(conf, err, sizeof(err)));
    assert_non_null(strstr(err, "Invalid configuration predicates.p.pattern: Invalid value foo( "
                                "for configuration pattern"));
    json_decref(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_builtin_resolves_by_class_and_simple_name),
        cmocka_unit_test(bad_transform_configs_name_their_key),
        cmocka_unit_test(bad_predicate_configs_name_their_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
