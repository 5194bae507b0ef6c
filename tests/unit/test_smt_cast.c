/* Cast and TimestampConverter on the documentation examples, schemaless and with Connect
 * schemas, with Java's conversions (Double.toString, narrowing, ISO dates, UTC formats). */
#include "smt_harness.h"

#define CAST(spec) "transforms", "c", "transforms.c.type", "Cast$Value", "transforms.c.spec", spec

static void cast_whole_value_to_string(void **st)
{
    static const char *const conf[] = {"transforms", "Cast", "transforms.Cast.type",
                                       "org.apache.kafka.connect.transforms.Cast$Value",
                                       "transforms.Cast.spec", "string", NULL};
    /* Kafka casts with Double.toString, which switches to E notation at 10^7. */
    struct smt_in r = {.conf = conf, .value = "63521704.02", .offset = -1, .timestamp = -1};
    SMT_CHECK_VALUE(&r, "\"6.352170402E7\"");
    r.value = "4521.25";
    SMT_CHECK_VALUE(&r, "\"4521.25\"");
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"double\",\"optional\":false},\"payload\":4521.25}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":"
                        "\"4521.25\"}");
}

static void cast_fields_of_map_and_struct(void **st)
{
    static const char *const conf[] = {CAST("ID:string,score:float64"), NULL};
    struct smt_in r = {.conf = conf, .value = "{\"ID\":46920,\"score\":4761}", .offset = -1,
                       .timestamp = -1};
    SMT_CHECK_VALUE(&r, "{\"ID\":\"46920\",\"score\":4761.0}");
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":"
              "false,\"field\":\"ID\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"score\"},"
              "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"}],\"optional\":false,"
              "\"name\":\"Score\"},\"payload\":{\"ID\":46920,\"score\":4761,\"name\":\"x\"}}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":false,\"field\":\"ID\"},{\"type\":\"double\",\"optional\":"
                        "true,\"field\":\"score\"},{\"type\":\"string\",\"optional\":false,"
                        "\"field\":\"name\"}],\"optional\":false,\"name\":\"Score\"},\"payload\":{"
                        "\"ID\":\"46920\",\"score\":4761.0,\"name\":\"x\"}}");
}

static void cast_narrowing_and_parsing_like_java(void **st)
{
    static const char *const conf[] = {CAST("a:int8,b:int16,c:boolean,d:float32,e:int32,f:int64"),
                                       NULL};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"a\":300,\"b\":\"-12\",\"c\":0.5,\"d\":98.6,\"e\":3.99,"
                                "\"f\":true}"};
    /* (byte)300 = 44; boolean of 0.5 is longValue() != 0 = false; (int)3.99 = 3 */
    SMT_CHECK_VALUE(&r, "{\"a\":44,\"b\":-12,\"c\":false,\"d\":98.6,\"e\":3,\"f\":1}");
    static const char *const range[] = {CAST("a:int8"), NULL};
    r.conf = range;
    r.value = "{\"a\":\"300\"}";
    SMT_CHECK_ERROR(&r, -1, "Value (300) was out of range for requested data type");
    r.value = "{\"a\":{\"x\":1}}";
    SMT_CHECK_ERROR(&r, -1, "Cast transformation does not support casting from MAP; supported "
                            "types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, "
                            "STRING, BYTES]");
}

static void cast_key_whole_int64_to_int32_with_schema(void **st)
{
    static const char *const conf[] = {"transforms", "c", "transforms.c.type", "Cast$Key",
                                       "transforms.c.spec", "int32", NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .key = "{\"schema\":{\"type\":\"int64\",\"optional\":true},\"payload\":7}",
                       .value = "{\"schema\":null,\"payload\":null}"};
    struct smt_out o = smt_run(&r);
    assert_int_equal(o.rc, 1);
    assert_string_equal(o.key, "{\"schema\":{\"type\":\"int32\",\"optional\":true},\"payload\":7}");
    smt_out_free(&o);
}

/* Kafka's CastTest: BigDecimal.intValue() keeps the low 32 bits, Date casts as its day count. */
static void cast_logical_types_to_numbers(void **st)
{
    static const char *const conf[] = {CAST("dec:int32,day:int32,dec2:float64"), NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\","
                                "\"optional\":false,\"name\":\"org.apache.kafka.connect.data."
                                "Decimal\",\"version\":1,\"parameters\":{\"scale\":\"0\"},\"field\":"
                                "\"dec\"},{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache."
                                "kafka.connect.data.Date\",\"version\":1,\"field\":\"day\"},{\"type\":"
                                "\"bytes\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data."
                                "Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"},\"field\":"
                                "\"dec2\"}],\"optional\":false},\"payload\":{\"dec\":\"AIAAAAA=\","
                                "\"day\":1,\"dec2\":\"BNI=\"}}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                        "\"optional\":false,\"field\":\"dec\"},{\"type\":\"int32\",\"optional\":"
                        "false,\"field\":\"day\"},{\"type\":\"double\",\"optional\":false,"
                        "\"field\":\"dec2\"}],\"optional\":false},\"payload\":{\"dec\":"
                        "-2147483648,\"day\":1,\"dec2\":12.34}}");
}

static void cast_bytes_and_timestamp_to_string(void **st)
{
    static const char *const conf[] = {CAST("raw:string,at:string"), NULL};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\","
                                "\"optional\":false,\"field\":\"raw\"},{\"type\":\"int64\","
                                "\"optional\":false,\"name\":\"org.apache.kafka.connect.data."
                                "Timestamp\",\"version\":1,\"field\":\"at\"}],\"optional\":false},"
                                "\"payload\":{\"raw\":\"aGVsbG8=\",\"at\":1504228522000}}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":false,\"field\":\"raw\"},{\"type\":\"string\",\"optional\":"
                        "false,\"field\":\"at\"}],\"optional\":false},\"payload\":{\"raw\":"
                        "\"aGVsbG8=\",\"at\":\"2017-09-01T01:15:22.000Z\"}}");
}

#define TSC(...) "transforms", "ts", "transforms.ts.type", \
    "org.apache.kafka.connect.transforms.TimestampConverter$Value", __VA_ARGS__, NULL

static void timestamp_unix_field_to_string(void **st)
{
    static const char *const conf[] = {TSC("transforms.ts.field", "event_date",
                                           "transforms.ts.target.type", "string",
                                           "transforms.ts.format", "yyyy-MM-dd")};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"event_date\":1504228522000,\"id\":1}"};
    SMT_CHECK_VALUE(&r, "{\"event_date\":\"2017-09-01\",\"id\":1}");
    r.schemas = 1;
    r.value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":"
              "true,\"field\":\"event_date\"},{\"type\":\"int32\",\"optional\":false,\"field\":"
              "\"id\"}],\"optional\":false},\"payload\":{\"event_date\":1504228522000,\"id\":1}}";
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                        "\"optional\":true,\"field\":\"event_date\"},{\"type\":\"int32\","
                        "\"optional\":false,\"field\":\"id\"}],\"optional\":false},\"payload\":{"
                        "\"event_date\":\"2017-09-01\",\"id\":1}}");
}

static void timestamp_string_to_timestamp_and_date(void **st)
{
    static const char *const conf[] = {TSC("transforms.ts.target.type", "Timestamp",
                                           "transforms.ts.format", "yyyy-MM-dd HH:mm:ss")};
    struct smt_in r = {.conf = conf, .schemas = 1, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"string\",\"optional\":false},"
                                "\"payload\":\"2017-09-01 01:15:22\"}"};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"int64\",\"optional\":false,\"name\":"
                        "\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},\"payload\":"
                        "1504228522000}");
    static const char *const date[] = {TSC("transforms.ts.target.type", "Date",
                                           "transforms.ts.format", "yyyy-MM-dd HH:mm:ss")};
    r.conf = date;
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"int32\",\"optional\":false,\"name\":"
                        "\"org.apache.kafka.connect.data.Date\",\"version\":1},\"payload\":17410}");
    r.value = "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"Sept 1st\"}";
    SMT_CHECK_ERROR(&r, -1, "Could not parse timestamp: value (Sept 1st) does not match pattern "
                            "(yyyy-MM-dd HH:mm:ss)");
}

static void timestamp_unix_precision_and_time(void **st)
{
    static const char *const conf[] = {TSC("transforms.ts.target.type", "unix",
                                           "transforms.ts.unix.precision", "seconds")};
    struct smt_in r = {.conf = conf, .offset = -1, .timestamp = -1,
                       .value = "{\"schema\":{\"type\":\"int64\",\"optional\":false,\"name\":"
                                "\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},"
                                "\"payload\":1504228522000}",
                       .schemas = 1};
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"int64\",\"optional\":false},\"payload\":"
                        "1504228522}");
    static const char *const tod[] = {TSC("transforms.ts.target.type", "Time")};
    r.conf = tod;
    SMT_CHECK_VALUE(&r, "{\"schema\":{\"type\":\"int32\",\"optional\":false,\"name\":"
                        "\"org.apache.kafka.connect.data.Time\",\"version\":1},\"payload\":"
                        "4522000}");
    static const char *const micros[] = {TSC("transforms.ts.target.type", "string",
                                             "transforms.ts.unix.precision", "microseconds",
                                             "transforms.ts.format",
                                             "yyyy-MM-dd'T'HH:mm:ss.SSSXXX")};
    r.conf = micros;
    r.schemas = 0;
    r.value = "1504228522123456";
    SMT_CHECK_VALUE(&r, "\"2017-09-01T01:15:22.123Z\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_whole_value_to_string),
        cmocka_unit_test(cast_fields_of_map_and_struct),
        cmocka_unit_test(cast_narrowing_and_parsing_like_java),
        cmocka_unit_test(cast_key_whole_int64_to_int32_with_schema),
        cmocka_unit_test(cast_logical_types_to_numbers),
        cmocka_unit_test(cast_bytes_and_timestamp_to_string),
        cmocka_unit_test(timestamp_unix_field_to_string),
        cmocka_unit_test(timestamp_string_to_timestamp_and_date),
        cmocka_unit_test(timestamp_unix_precision_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
