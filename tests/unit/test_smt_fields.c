/* Field transforms (HoistField, InsertField, ExtractField, ReplaceField, ValueToKey,
 * MaskField, Flatten) on the examples of Kafka's and Confluent's SMT documentation, schemaless
 * and with Connect schemas, checked on the exact JSON that JsonConverter writes. */
#include "smt_harness.h"

#define S_STRUCT_ID_COST                                                                         \
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"  \
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"cost\"}],\"optional\":false}"

/* Kafka's quickstart: FileStreamSource lines hoisted into a map plus a static field. */
static void hoist_and_insert_static_field_as_in_kafka_docs(void **st)
{
    static const char *const conf[] = {
        "transforms", "MakeMap, InsertSource",
        "transforms.MakeMap.type", "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.MakeMap.field", "line",
        "transforms.InsertSource.type", "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.InsertSource.static.field", "data_source",
        "transforms.InsertSource.static.value", "test-file-source", NULL};
    const char *lines[] = {"foo", "bar", "hello world"};
    for (int i = 0; i < 3; i++) {
        char in[64], out[128];
        snprintf(in, sizeof(in), "\"%s\"", lines[i]);
        snprintf(out, sizeof(out), "{\"line\":\"%s\",\"data_source\":\"test-file-source\"}",
                 lines[i]);
        struct smt_in r = {.conf = conf, .value = in, .offset = -1, .timestamp = -1};
        SMT_CHECK_VALUE(&r, out);
    }
    struct smt_in s = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"string\",\"optional\":false},"
                                "\"payload\":\"foo\"}"};
    SMT_CHECK_VALUE(&s, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":false,\"field\":\"line\"},{\"type\":\"string\",\"optional\":"
                        "true,\"field\":\"data_source\"}],\"optional\":false},\"payload\":{"
                        "\"line\":\"foo\",\"data_source\":\"test-file-source\"}}");
}

static void hoist_wraps_key_and_keeps_null(void **st)
{
    static const char *const conf[] = {"transforms", "h", "transforms.h.type", "HoistField$Key",
                                       "transforms.h.field", "line", NULL};
    struct smt_in r = {.conf = conf, .key = "42", .value = "1", .offset = -1, .timestamp = -1};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "{\"line\":42}");
    assert_string_equal(o.value, "1");
    smt_out_free(&o);
    r.key = NULL;
    o = smt_run(&r);
    assert_string_equal(o.key, "{\"line\":null}");
    smt_out_free(&o);
}

static void insert_record_metadata_fields(void **st)
{
    static const char *const conf[] = {
        "transforms", "ins", "transforms.ins.type", "InsertField$Value",
        "transforms.ins.topic.field", "messageTopic", "transforms.ins.partition.field", "part",
        "transforms.ins.offset.field", "off!", "transforms.ins.timestamp.field", "ts",
        "transforms.ins.static.field", "MessageSource",
        "transforms.ins.static.value", "Kafka Connect framework", NULL};
    struct smt_in r = {.conf = conf, .topic = "orders", .partition = 2, .offset = 17,
                       .timestamp = 1700000000000, .value = "{\"product\":\"shoes\"}"};
    SMT_CHECK_VALUE(&r, "{\"product\":\"shoes\",\"messageTopic\":\"orders\",\"part\":2,\"off\":17,"
                        "\"ts\":1700000000000,\"MessageSource\":\"Kafka Connect framework\"}");
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":"
              "false,\"field\":\"product\"}],\"optional\":false,\"name\":\"Order\"},\"payload\":"
              "{\"product\":\"shoes\"}}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":false,\"field\":\"product\"},{\"type\":\"string\","
                        "\"optional\":true,\"field\":\"messageTopic\"},{\"type\":\"int32\","
                        "\"optional\":true,\"field\":\"part\"},{\"type\":\"int64\",\"optional\":"
                        "false,\"field\":\"off\"},{\"type\":\"int64\",\"optional\":true,\"name\":"
                        "\"org.apache.kafka.connect.data.Timestamp\",\"version\":1,\"field\":"
                        "\"ts\"},{\"type\":\"string\",\"optional\":true,\"field\":"
                        "\"MessageSource\"}],\"optional\":false,\"name\":\"Order\"},\"payload\":{"
                        "\"product\":\"shoes\",\"messageTopic\":\"orders\",\"part\":2,\"off\":17,"
                        "\"ts\":1700000000000,\"MessageSource\":\"Kafka Connect framework\"}}");
    /* offset.field needs a sink record; a tombstone passes untouched */
    r.offset = -1;
    SMT_CHECK_ERROR(&r, -1, "Only SinkRecord supported for [field insertion], found: "
                            "org.apache.kafka.connect.source.SourceRecord");
    r.schemas = 0;
    r.value = NULL;
    SMT_CHECK_VALUE(&r, "null");
}

static void extract_field_from_map_and_struct(void **st)
{
    static const char *const conf[] = {"transforms", "e", "transforms.e.type",
                                       "org.apache.kafka.connect.transforms.ExtractField$Value",
                                       "transforms.e.field", "id", NULL};
    struct smt_in r = {.conf = conf, .value = "{\"id\":42,\"cost\":4000}", .offset = -1,
                       .timestamp = -1};
    SMT_CHECK_VALUE(&r, "42");
    r.value = NULL; /* nulls pass through */
    SMT_CHECK_VALUE(&r, "null");
    r.value = "7";
    SMT_CHECK_ERROR(&r, -1, "Only Map objects supported in absence of schema for [field "
                            "extraction], found: java.lang.Long");
    r.schemas = 1;
    r.value = "{\"schema\":" S_STRUCT_ID_COST ",\"payload\":{\"id\":42,\"cost\":4000}}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"int32\",\"optional\":false},\"payload\":42}");
    static const char *const unknown[] = {"transforms", "e", "transforms.e.type",
                                          "ExtractField$Value", "transforms.e.field", "price",
                                          NULL};
    r.conf = unknown;
    SMT_CHECK_ERROR(&r, -1, "Unknown field: price");
}

static void extract_nested_field_with_syntax_v2(void **st)
{
    static const char *const conf[] = {"transforms", "e", "transforms.e.type",
                                       "ExtractField$Value", "transforms.e.field",
                                       "content.`first.name`", "transforms.e.field.syntax.version",
                                       "V2", NULL};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"content\":{\"first.name\":\"David\",\"id\":42}}"};
    SMT_CHECK_VALUE(&r, "\"David\"");
}

/* Kafka's predicate example: drop topic foo, extract other_field from keys except in bar. */
static void filter_and_negated_extract_as_in_kafka_docs(void **st)
{
    static const char *const conf[] = {
        "transforms", "Filter,Extract",
        "transforms.Filter.type", "org.apache.kafka.connect.transforms.Filter",
        "transforms.Filter.predicate", "IsFoo",
        "transforms.Extract.type", "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.Extract.field", "other_field",
        "transforms.Extract.predicate", "IsBar",
        "transforms.Extract.negate", "true",
        "predicates", "IsFoo,IsBar",
        "predicates.IsFoo.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.IsFoo.pattern", "foo",
        "predicates.IsBar.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.IsBar.pattern", "bar", NULL};
    struct smt_in r = {.conf = conf, .topic = "foo", .key = "{\"other_field\":1}",
                       .value = "\"v\"", .offset = -1, .timestamp = -1};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 0);
    r.topic = "bar";
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "{\"other_field\":1}");
    r.topic = "baz";
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "1");
    r.topic = "foobar"; /* the pattern must match the whole topic */
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "1");
}

static void replace_field_exclude_include_rename(void **st)
{
    static const char *const excl[] = {"transforms", "r", "transforms.r.type",
                                       "ReplaceField$Value", "transforms.r.exclude", "c2", NULL};
    struct smt_in r = {.conf = excl, .offset = -1, .timestamp = -1,
                       .value = "{\"c1\":22,\"c2\":100,\"c3\":\"hello\"}"};
    SMT_CHECK_VALUE(&r, "{\"c1\":22,\"c3\":\"hello\"}");
    static const char *const incl[] = {"transforms", "r", "transforms.r.type",
                                       "ReplaceField$Value", "transforms.r.include", "c1,c2",
                                       NULL};
    r.conf = incl;
    SMT_CHECK_VALUE(&r, "{\"c1\":22,\"c2\":100}");
    static const char *const ren[] = {"transforms", "r", "transforms.r.type",
                                      "ReplaceField$Value", "transforms.r.renames", "foo:c1,bar:c2",
                                      NULL};
    r.conf = ren;
    r.value = "{\"foo\":22,\"bar\":\"baz\"}";
    SMT_CHECK_VALUE(&r, "{\"c1\":22,\"c2\":\"baz\"}");
    /* the deprecated names still work, and exclude wins over include */
    static const char *const old[] = {"transforms", "r", "transforms.r.type",
                                      "ReplaceField$Value", "transforms.r.whitelist", "c1,c2,c3",
                                      "transforms.r.blacklist", "c3", NULL};
    r.conf = old;
    r.value = "{\"c1\":22,\"c2\":100,\"c3\":\"hello\",\"c4\":1}";
    SMT_CHECK_VALUE(&r, "{\"c1\":22,\"c2\":100}");
}

static void replace_field_with_schema(void **st)
{
    static const char *const conf[] = {"transforms", "r", "transforms.r.type",
                                       "ReplaceField$Value", "transforms.r.exclude", "cost",
                                       "transforms.r.renames", "id:order_id", NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":" S_STRUCT_ID_COST
                                ",\"payload\":{\"id\":42,\"cost\":4000}}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                        "\"optional\":false,\"field\":\"order_id\"}],\"optional\":false},"
                        "\"payload\":{\"order_id\":42}}");
}

static void value_to_key_schemaless_and_schema(void **st)
{
    static const char *const conf[] = {"transforms", "k", "transforms.k.type",
                                       "org.apache.kafka.connect.transforms.ValueToKey",
                                       "transforms.k.fields", "userId,city,state", NULL};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"userId\":1,\"city\":\"Austin\",\"state\":\"TX\",\"zip\":"
                                "\"78701\"}"};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "{\"userId\":1,\"city\":\"Austin\",\"state\":\"TX\"}");
    r.schemas = 1;
    r.value = "{\"schema\":" S_STRUCT_ID_COST ",\"payload\":{\"id\":42,\"cost\":4000}}";
    static const char *const one[] = {"transforms", "k", "transforms.k.type", "ValueToKey",
                                      "transforms.k.fields", "id", NULL};
    r.conf = one;
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                               "\"optional\":false,\"field\":\"id\"}],\"optional\":false},"
                               "\"payload\":{\"id\":42}}");
    r.conf = conf;
    SMT_CHECK_ERROR(&r, -1, "Field does not exist: userId");
}

static void mask_field_null_values_and_replacement(void **st)
{
    static const char *const conf[] = {"transforms", "m", "transforms.m.type", "MaskField$Value",
                                       "transforms.m.fields", "ssn,age,active,tags,ratio", NULL};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"name\":\"Ann\",\"ssn\":\"123-45-6789\",\"age\":42,\"active\":"
                                "true,\"tags\":[\"a\"],\"ratio\":0.5}"};
    SMT_CHECK_VALUE(&r, "{\"name\":\"Ann\",\"ssn\":\"\",\"age\":0,\"active\":false,\"tags\":[],"
                        "\"ratio\":0.0}");
    static const char *const rep[] = {"transforms", "m", "transforms.m.type", "MaskField$Value",
                                      "transforms.m.fields", "ssn",
                                      "transforms.m.replacement", "***-**-****", NULL};
    r.conf = rep;
    SMT_CHECK_VALUE(&r, "{\"name\":\"Ann\",\"ssn\":\"***-**-****\",\"age\":42,\"active\":true,"
                        "\"tags\":[\"a\"],\"ratio\":0.5}");
    static const char *const bad[] = {"transforms", "m", "transforms.m.type", "MaskField$Value",
                                      "transforms.m.fields", "active",
                                      "transforms.m.replacement", "x", NULL};
    r.conf = bad;
    SMT_CHECK_ERROR(&r, -1, "Cannot mask value of type class java.lang.Boolean with custom "
                            "replacement.");
    /* with a schema the field keeps its type: int32 masked with a numeric replacement */
    static const char *const num[] = {"transforms", "m", "transforms.m.type", "MaskField$Value",
                                      "transforms.m.fields", "cost",
                                      "transforms.m.replacement", "0", NULL};
    r.conf = num;
    r.schemas = 1;
    r.value = "{\"schema\":" S_STRUCT_ID_COST ",\"payload\":{\"id\":42,\"cost\":4000}}";
    SMT_CHECK_VALUE(&r, "{\"schema\":" S_STRUCT_ID_COST ",\"payload\":{\"id\":42,\"cost\":0}}");
}

/* Transforms change a value in place only when the record holds its one reference: a value
 * someone else still holds (a source connector's template, say) stays as it was. */
static void value_held_elsewhere_is_copied_not_changed(void **st)
{
    static const char *const conf[] = {
        "transforms", "drop,add,cast,mask", "transforms.drop.type", "ReplaceField$Value",
        "transforms.drop.exclude", "note", "transforms.add.type", "InsertField$Value",
        "transforms.add.static.field", "site", "transforms.add.static.value", "barn-7",
        "transforms.cast.type", "Cast$Value", "transforms.cast.spec", "hr:float64",
        "transforms.mask.type", "MaskField$Value", "transforms.mask.fields", "id", NULL};
    const char *text = "{\"id\":\"d1\",\"hr\":72,\"note\":\"x\"}";
    json_t *conf_j = smt_conf(conf);
    char err[256];
    struct transform_chain *chain = transform_chain_new(conf_j, err, sizeof(err));
    json_decref(conf_j);
    assert_non_null(chain);
    for (int held = 0; held < 2; held++) {
        json_t *orig = json_loads(text, 0, NULL);
        struct cd_record *r = cd_record_new("t");
        r->value.value = held ? json_incref(orig) : orig;
        const char *cls = NULL;
        assert_int_equal(transform_chain_apply(chain, r, err, sizeof(err), &cls), 1);
        char *got = json_dumps(r->value.value, JSON_COMPACT);
        assert_string_equal(got, "{\"id\":\"\",\"hr\":72.0,\"site\":\"barn-7\"}");
        free(got);
        if (held) {
            char *kept = json_dumps(orig, JSON_COMPACT);
            assert_string_equal(kept, text);
            free(kept);
            json_decref(orig);
        }
        cd_record_free(r);
    }
    transform_chain_free(chain);
}

static void flatten_nested_map_and_struct(void **st)
{
    static const char *const conf[] = {"transforms", "flatten", "transforms.flatten.type",
                                       "org.apache.kafka.connect.transforms.Flatten$Value",
                                       "transforms.flatten.delimiter", ".", NULL};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"content\":{\"id\":42,\"name\":{\"first\":\"David\",\"middle\":"
                                "null,\"last\":\"Wong\"},\"data\":[1,2]}}"};
    SMT_CHECK_VALUE(&r, "{\"content.id\":42,\"content.name.first\":\"David\",\"content.name."
                        "middle\":null,\"content.name.last\":\"Wong\",\"content.data\":[1,2]}");
    /* with a schema: children of an optional struct become optional */
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":"
              "false,\"field\":\"id\"},{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
              "\"optional\":false,\"field\":\"first\"},{\"type\":\"string\",\"optional\":false,"
              "\"field\":\"last\"}],\"optional\":true,\"field\":\"name\"}],\"optional\":false,"
              "\"name\":\"Person\"},\"payload\":{\"id\":42,\"name\":{\"first\":\"David\","
              "\"last\":\"Wong\"}}}";
    static const char *const under[] = {"transforms", "f", "transforms.f.type", "Flatten$Value",
                                        "transforms.f.delimiter", "_", NULL};
    r.conf = under;
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                        "\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":"
                        "true,\"field\":\"name_first\"},{\"type\":\"string\",\"optional\":true,"
                        "\"field\":\"name_last\"}],\"optional\":false,\"name\":\"Person\"},"
                        "\"payload\":{\"id\":42,\"name_first\":\"David\",\"name_last\":\"Wong\"}}");
}

/* Kafka's FlattenTest: under an optional parent every field is optional, and the parent's
 * default gives a child without its own default one. */
static void flatten_optional_parent_and_defaults(void **st)
{
    static const char *const conf[] = {"transforms", "f", "transforms.f.type", "Flatten$Value",
                                       NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                                "\"optional\":false,\"field\":\"req_field\"},{\"type\":\"string\","
                                "\"optional\":true,\"default\":\"child_default\",\"field\":"
                                "\"opt_field\"}],\"optional\":true,\"default\":{\"req_field\":"
                                "\"req_default\",\"opt_field\":null}},\"payload\":{\"req_field\":"
                                "\"x\"}}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":true,\"default\":\"req_default\",\"field\":\"req_field\"},"
                        "{\"type\":\"string\",\"optional\":true,\"default\":\"child_default\","
                        "\"field\":\"opt_field\"}],\"optional\":false},\"payload\":{\"req_field\":"
                        "\"x\",\"opt_field\":\"child_default\"}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hoist_and_insert_static_field_as_in_kafka_docs),
        cmocka_unit_test(hoist_wraps_key_and_keeps_null),
        cmocka_unit_test(insert_record_metadata_fields),
        cmocka_unit_test(extract_field_from_map_and_struct),
        cmocka_unit_test(extract_nested_field_with_syntax_v2),
        cmocka_unit_test(filter_and_negated_extract_as_in_kafka_docs),
        cmocka_unit_test(replace_field_exclude_include_rename),
        cmocka_unit_test(replace_field_with_schema),
        cmocka_unit_test(value_held_elsewhere_is_copied_not_changed),
        cmocka_unit_test(value_to_key_schemaless_and_schema),
        cmocka_unit_test(mask_field_null_values_and_replacement),
        cmocka_unit_test(flatten_nested_map_and_struct),
        cmocka_unit_test(flatten_optional_parent_and_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
