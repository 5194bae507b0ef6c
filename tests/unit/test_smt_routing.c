/* Routing, metadata and header transforms (RegexRouter, TimestampRouter, SetSchemaMetadata,
 * InsertHeader, DropHeaders, HeaderFrom) and the predicates (HasHeaderKey, RecordIsTombstone,
 * TopicNameMatches) on the documentation examples. */
#include "smt_harness.h"
#include "smt_util.h"

static void regex_router_keeps_last_part_of_debezium_topic(void **st)
{
    static const char *const conf[] = {"transforms", "dropPrefix", "transforms.dropPrefix.type",
                                       "org.apache.kafka.connect.transforms.RegexRouter",
                                       "transforms.dropPrefix.regex", "([^.]+)\\.([^.]+)\\.([^.]+)",
                                       "transforms.dropPrefix.replacement", "$3", NULL};
    struct smt_in r = {.conf = conf, .topic = "mysql-server-1.inventory.customers",
                       .value = "1", .offset = -1, .timestamp = -1};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.topic, "customers");
    r.topic = "no-dots-here"; /* no whole match: the topic stays */
    o = smt_run(&r);
    assert_string_equal(o.topic, "no-dots-here");
    static const char *const prefix[] = {"transforms", "r", "transforms.r.type", "RegexRouter",
                                         "transforms.r.regex", "(.*)_device_topic",
                                         "transforms.r.replacement", "${1}_table", NULL};
    r.conf = prefix;
    r.topic = "heart_rate_device_topic";
    o = smt_run(&r);
    assert_string_equal(o.topic, "heart_rate_table");
    static const char *const digits[] = {"transforms", "r", "transforms.r.type", "RegexRouter",
                                         "transforms.r.regex", "logs-\\d+",
                                         "transforms.r.replacement", "logs", NULL};
    r.conf = digits;
    r.topic = "logs-2024";
    o = smt_run(&r);
    assert_string_equal(o.topic, "logs");
}

static void timestamp_router_formats_topic(void **st)
{
    static const char *const conf[] = {"transforms", "TimestampRouter",
                                       "transforms.TimestampRouter.type",
                                       "org.apache.kafka.connect.transforms.TimestampRouter",
                                       "transforms.TimestampRouter.topic.format",
                                       "foo-${topic}-${timestamp}",
                                       "transforms.TimestampRouter.timestamp.format", "YYYYMM",
                                       NULL};
    struct smt_in r = {.conf = conf, .topic = "orders", .value = "1", .offset = 0,
                       .timestamp = 1504228522000};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.topic, "foo-orders-201709");
    static const char *const dflt[] = {"transforms", "t", "transforms.t.type", "TimestampRouter",
                                       NULL};
    r.conf = dflt;
    o = smt_run(&r);
    assert_string_equal(o.topic, "orders-20170901");
    r.timestamp = -1;
    o = smt_run(&r);
    assert_int_equal(o.rc, -1);
    assert_string_equal(o.err, "Timestamp missing on record: topic orders");
}

/* One chain routes a run of records the way a fresh chain routes each: the last topic it made
 * is reused only within the timestamp format's period and for the same input topic. */
static void timestamp_router_reuse_matches_fresh_chain(void **st)
{
    static const char *const formats[] = {"yyyyMMdd", "yyyy-MM-dd'T'HH", "'week' yyyy-D a",
                                          "HH:mm:ss.SSS", "'x''H'yyyy", NULL};
    static const char *const topics[] = {"orders", "orders", "pay$ments", "orders"};
    for (const char *const *f = formats; *f; f++) {
        const char *const conf[] = {"transforms", "t", "transforms.t.type", "TimestampRouter",
                                    "transforms.t.topic.format", "$x-${topic}-${timestamp}$",
                                    "transforms.t.timestamp.format", *f, NULL};
        json_t *c = smt_conf(conf);
        char err[512];
        struct transform_chain *chain = transform_chain_new(c, err, sizeof(err));
        json_decref(c);
        assert_non_null(chain);
        int64_t ts = 1504223999000; /* 23:59:59 UTC: the run crosses midnight, hours, noon */
        for (int i = 0; i < 400; i++) {
            ts += (i % 7) * 997 + (i % 50 == 0 ? 11 * 3600000LL : 0);
            const char *topic = topics[i / 3 % 4];
            struct cd_record *r = cd_record_new(topic);
            r->timestamp = ts;
            const char *cls = NULL;
            assert_int_equal(transform_chain_apply(chain, r, err, sizeof(err), &cls), 1);
            struct smt_in in = {.conf = conf, .topic = topic, .value = "1", .timestamp = ts};
            struct smt_out o = smt_run(&in);
            if (strcmp(r->topic, o.topic))
                fail_msg("%s at %lld: reused %s, fresh %s", *f, (long long)ts, r->topic, o.topic);
            cd_record_free(r);
        }
        transform_chain_free(chain);
    }
    assert_int_equal(smt_datefmt_period_ms("yyyyMMdd"), 86400000);
    assert_int_equal(smt_datefmt_period_ms("yyyy-MM-dd hh a"), 3600000);
    assert_int_equal(smt_datefmt_period_ms("yyyy 'mm:ss'"), 86400000);
    assert_int_equal(smt_datefmt_period_ms("mm.SSS"), 1);
}

/* A record's first topic lives in its own block, or is borrowed (the sink's records); a
 * router's replacement is the record's to free. Two routers in a row replace a borrowed
 * topic, then a replaced one; ASan checks the frees. */
static void routers_in_a_row_replace_the_topic_twice(void **st)
{
    static const char *const conf[] = {
        "transforms", "a,b", "transforms.a.type", "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.a.regex", "(.*)-raw", "transforms.a.replacement", "$1",
        "transforms.b.type", "org.apache.kafka.connect.transforms.TimestampRouter",
        "transforms.b.topic.format", "${topic}-${timestamp}", "transforms.b.timestamp.format",
        "yyyyMMdd", NULL};
    char err[256];
    json_t *c = smt_conf(conf);
    struct transform_chain *chain = transform_chain_new(c, err, sizeof(err));
    json_decref(c);
    assert_non_null(chain);
    static const char consumed[] = "vitals-raw";
    struct cd_record *r = cd_record_new_borrowing(consumed);
    r->timestamp = 1504224000000;
    const char *cls = NULL;
    assert_int_equal(transform_chain_apply(chain, r, err, sizeof(err), &cls), 1);
    assert_string_equal(r->topic, "vitals-20170901");
    assert_string_equal(consumed, "vitals-raw");
    cd_record_set_topic(r, NULL);
    assert_null(r->topic);
    cd_record_free(r);
    r = cd_record_new("inline");
    cd_record_set_topic(r, strdup("t"));
    cd_record_free(r);
    cd_record_free(cd_record_new_borrowing(consumed));
    transform_chain_free(chain);
}

static void set_schema_metadata_name_and_version(void **st)
{
    static const char *const conf[] = {"transforms", "SetSchemaMetadata",
                                       "transforms.SetSchemaMetadata.type",
                                       "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
                                       "transforms.SetSchemaMetadata.schema.name", "order-value",
                                       "transforms.SetSchemaMetadata.schema.version", "2", NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                                "\"optional\":false,\"field\":\"id\"}],\"optional\":false,"
                                "\"name\":\"old\",\"version\":1},\"payload\":{\"id\":1}}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                        "\"optional\":false,\"field\":\"id\"}],\"optional\":false,\"name\":"
                        "\"order-value\",\"version\":2},\"payload\":{\"id\":1}}");
    r.value = "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"x\"}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"string\",\"optional\":false,\"name\":"
                        "\"order-value\",\"version\":2},\"payload\":\"x\"}");
    r.schemas = 0;
    r.value = "{\"id\":1}";
    SMT_CHECK_ERROR(&r, -1, "Schema required for [updating schema metadata]");
}

static void insert_and_drop_headers(void **st)
{
    static const char *const conf[] = {
        "transforms", "insertMessageSource,dropAppId",
        "transforms.insertMessageSource.type", "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.insertMessageSource.header", "MessageSource",
        "transforms.insertMessageSource.value.literal", "Kafka Connect framework",
        "transforms.dropAppId.type", "org.apache.kafka.connect.transforms.DropHeaders",
        "transforms.dropAppId.headers", "app.id, source", NULL};
    static const char *const hdrs[] = {"app.id", "7", "source", "a", "source", "b", "keep", "k",
                                       NULL};
    struct smt_in r = {.conf = conf, .value = "1", .offset = -1, .timestamp = -1,
                       .headers = hdrs};
    struct smt_out o = smt_run(&r);
    char buf[128];
    assert_int_equal(o.rc, 1);
    assert_string_equal(smt_header(&o, "MessageSource", buf, sizeof(buf)),
                        "Kafka Connect framework");
    assert_string_equal(smt_header(&o, "keep", buf, sizeof(buf)), "k");
    assert_null(smt_header(&o, "app.id", buf, sizeof(buf)));
    assert_null(smt_header(&o, "source", buf, sizeof(buf)));
    assert_int_equal(rd_kafka_header_cnt(o.headers), 2);
    smt_out_free(&o);
}

static void header_from_copies_and_moves_fields(void **st)
{
    static const char *const move[] = {"transforms", "h", "transforms.h.type",
                                       "org.apache.kafka.connect.transforms.HeaderFrom$Value",
                                       "transforms.h.fields", "id,ts", "transforms.h.headers",
                                       "record_id,timestamp", "transforms.h.operation", "move",
                                       NULL};
    struct smt_in r = {.conf = move, .offset = -1, .timestamp = -1,
                       .value = "{\"id\":42,\"ts\":1504228522000,\"name\":\"x\",\"t\":98.6}"};
    struct smt_out o = smt_run(&r);
    char buf[128];
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.value, "{\"name\":\"x\",\"t\":98.6}");
    assert_string_equal(smt_header(&o, "record_id", buf, sizeof(buf)), "42");
    assert_string_equal(smt_header(&o, "timestamp", buf, sizeof(buf)), "1504228522000");
    smt_out_free(&o);
    static const char *const copy[] = {"transforms", "h", "transforms.h.type", "HeaderFrom$Value",
                                       "transforms.h.fields", "name,t", "transforms.h.headers",
                                       "n,temp", "transforms.h.operation", "copy", NULL};
    r.conf = copy;
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":"
              "false,\"field\":\"name\"},{\"type\":\"double\",\"optional\":false,\"field\":\"t\"}],"
              "\"optional\":false},\"payload\":{\"name\":\"x\",\"t\":98.6}}";
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.value, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":"
                                 "\"string\",\"optional\":false,\"field\":\"name\"},{\"type\":"
                                 "\"double\",\"optional\":false,\"field\":\"t\"}],\"optional\":"
                                 "false},\"payload\":{\"name\":\"x\",\"t\":98.6}}");
    assert_string_equal(smt_header(&o, "n", buf, sizeof(buf)), "x");
    assert_string_equal(smt_header(&o, "temp", buf, sizeof(buf)), "98.6");
    smt_out_free(&o);
    r.conf = move;
    o = smt_run(&r);
    assert_int_equal(o.rc, -1);
    assert_string_equal(o.err, "Unknown field: id");
}

static void has_header_key_and_tombstone_predicates(void **st)
{
    static const char *const conf[] = {
        "transforms", "dropTombstones,dropTraced",
        "transforms.dropTombstones.type", "Filter",
        "transforms.dropTombstones.predicate", "isTombstone",
        "transforms.dropTraced.type", "Filter",
        "transforms.dropTraced.predicate", "hasTrace",
        "predicates", "isTombstone,hasTrace",
        "predicates.isTombstone.type", "RecordIsTombstone",
        "predicates.hasTrace.type", "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        "predicates.hasTrace.name", "trace", NULL};
    static const char *const traced[] = {"trace", "1", NULL};
    static const char *const other[] = {"span", "1", NULL};
    struct smt_in r = {.conf = conf, .value = NULL, .offset = -1, .timestamp = -1};
    assert_int_equal(smt_run(&r).rc, 0);
    r.value = "{\"a\":1}";
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    smt_out_free(&o);
    r.headers = traced;
    assert_int_equal(smt_run(&r).rc, 0);
    r.headers = other;
    o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    smt_out_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regex_router_keeps_last_part_of_debezium_topic),
        cmocka_unit_test(timestamp_router_formats_topic),
        cmocka_unit_test(timestamp_router_reuse_matches_fresh_chain),
        cmocka_unit_test(routers_in_a_row_replace_the_topic_twice),
        cmocka_unit_test(set_schema_metadata_name_and_version),
        cmocka_unit_test(insert_and_drop_headers),
        cmocka_unit_test(header_from_copies_and_moves_fields),
        cmocka_unit_test(has_header_key_and_tombstone_predicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
