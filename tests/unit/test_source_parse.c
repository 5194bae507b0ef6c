/* The pure parts of the MQTT and HTTP sources: server URIs, shared subscriptions, request
 * bodies into records (JSON, NDJSON, Sensor Logger split, REST Proxy v2/v3), routing. */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "../../connectors/http/http.h"
#include "../../connectors/mqtt/mqtt.h"

#include <stdlib.h>
#include <string.h>

static void mqtt_uris_parse_with_default_ports(void **st)
{
    struct mqtt_uri u;
    char err[256];
    assert_int_equal(mqtt_uri_parse("tcp://broker:1884", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "broker");
    assert_int_equal(u.port, 1884);
    assert_int_equal(u.tls, 0);
    assert_int_equal(mqtt_uri_parse("ssl://mqtt.example.com", &u, err, sizeof(err)), 0);
    assert_int_equal(u.port, 8883);
    assert_int_equal(u.tls, 1);
    assert_int_equal(mqtt_uri_parse("mqtt://10.0.0.1/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "10.0.0.1");
    assert_int_equal(u.port, 1883);
}

static void mqtt_bad_uris_are_refused(void **st)
{
    struct mqtt_uri u;
    char err[256];
    assert_int_equal(mqtt_uri_parse("http://broker:1883", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an MQTT server URI"));
    assert_int_equal(mqtt_uri_parse("tcp://broker:99999", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid port"));
    assert_int_equal(mqtt_uri_parse("tcp://:1883", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no host"));
}

static void mqtt_shared_subscription_only_with_several_tasks(void **st)
{
    char f[128];
    assert_int_equal(mqtt_task_filter("health/#", "connectd-m", 1, f, sizeof(f)), 0);
    assert_string_equal(f, "health/#");
    assert_int_equal(mqtt_task_filter("health/#", "connectd-m", 3, f, sizeof(f)), 0);
    assert_string_equal(f, "$share/connectd-m/health/#");
    assert_int_equal(mqtt_task_filter("$share/g/x", "connectd-m", 3, f, sizeof(f)), 0);
    assert_string_equal(f, "$share/g/x");
    assert_int_equal(mqtt_task_filter("health/#", "connectd-m", 3, f, 8), -1);
}

static const char *dump(json_t *v)
{
    static char buf[1024];
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, sizeof(buf), "%s", s ? s : "null");
    free(s);
    return buf;
}

static void json_object_is_one_record_array_one_each(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"id\":\"c1\"}";
    assert_int_equal(http_parse_body(HK_JSON, b, strlen(b), NULL, "id", &it, err, sizeof(err)), 1);
    assert_string_equal(dump(it[0].value), "{\"id\":\"c1\"}");
    assert_string_equal(dump(it[0].key), "\"c1\"");
    assert_int_equal(it[0].partition, -1);
    http_items_free(it, 1);
    b = "[{\"id\":1},{\"id\":2},[3]]";
    assert_int_equal(http_parse_body(HK_JSON, b, strlen(b), "", "", &it, err, sizeof(err)), 3);
    assert_string_equal(dump(it[2].value), "[3]"); /* nested arrays are not flattened */
    assert_null(it[0].key);
    http_items_free(it, 3);
}

static void split_copies_top_level_fields_into_each_element(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"deviceId\":\"d\",\"payload\":[{\"name\":\"gyro\",\"x\":1},7],\"n\":2}";
    assert_int_equal(
        http_parse_body(HK_JSON, b, strlen(b), "payload", "deviceId", &it, err, sizeof(err)), 2);
    assert_string_equal(dump(it[0].value), "{\"deviceId\":\"d\",\"n\":2,\"name\":\"gyro\",\"x\":1}");
    assert_string_equal(dump(it[1].value), "{\"deviceId\":\"d\",\"n\":2,\"payload\":7}");
    assert_string_equal(dump(it[1].key), "\"d\"");
    http_items_free(it, 2);
    /* no array at the split field: the document is one record as it is */
    b = "{\"deviceId\":\"d\"}";
    assert_int_equal(http_parse_body(HK_JSON, b, strlen(b), "payload", NULL, &it, err, 256), 1);
    assert_string_equal(dump(it[0].value), "{\"deviceId\":\"d\"}");
    http_items_free(it, 1);
}

static void malformed_json_names_line_and_column(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"a\": 1,\n \"b\": }";
    assert_int_equal(http_parse_body(HK_JSON, b, strlen(b), NULL, NULL, &it, err, 256), -1);
    assert_non_null(strstr(err, "malformed JSON at line 2 column"));
    b = "{\"a\":1}\n{\"a\":2}\n{oops}\n";
    assert_int_equal(http_parse_body(HK_NDJSON, b, strlen(b), NULL, NULL, &it, err, 256), -1);
    assert_non_null(strstr(err, "line 3"));
}

static void ndjson_skips_blank_lines(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"a\":1}\r\n\n  \n{\"a\":2}";
    assert_int_equal(http_parse_body(HK_NDJSON, b, strlen(b), NULL, "a", &it, err, 256), 2);
    assert_string_equal(dump(it[1].value), "{\"a\":2}");
    assert_string_equal(dump(it[1].key), "2");
    http_items_free(it, 2);
}

static void rest_proxy_v2_records(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"records\":[{\"key\":\"k\",\"value\":{\"v\":1},\"partition\":2},{\"value\":3}]}";
    assert_int_equal(http_parse_body(HK_PROXY_JSON, b, strlen(b), "x", "v", &it, err, 256), 2);
    assert_string_equal(dump(it[0].key), "\"k\"");
    assert_string_equal(dump(it[0].value), "{\"v\":1}");
    assert_int_equal(it[0].partition, 2);
    assert_null(it[1].key);
    assert_int_equal(it[1].partition, -1);
    http_items_free(it, 2);
    b = "{\"records\":[{\"value\":\"aGk=\"}]}";
    assert_int_equal(http_parse_body(HK_PROXY_BINARY, b, strlen(b), NULL, NULL, &it, err, 256),
                     1);
    assert_int_equal(it[0].value_bytes, 1);
    assert_int_equal(json_string_length(it[0].value), 2);
    assert_memory_equal(json_string_value(it[0].value), "hi", 2);
    http_items_free(it, 1);
    b = "{\"records\":[{\"value\":\"***\"}]}";
    assert_int_equal(http_parse_body(HK_PROXY_BINARY, b, strlen(b), NULL, NULL, &it, err, 256),
                     -1);
    assert_string_equal(err, "records[0].value: expected a base64 string");
    b = "{\"value\":1}";
    assert_int_equal(http_parse_body(HK_PROXY_JSON, b, strlen(b), NULL, NULL, &it, err, 256), -1);
    assert_string_equal(err, "the body needs a \"records\" array");
}

static void rest_proxy_v3_record(void **st)
{
    struct http_item *it;
    char err[256];
    const char *b = "{\"partition_id\":1,\"key\":{\"type\":\"STRING\",\"data\":\"k\"},"
                    "\"value\":{\"type\":\"JSON\",\"data\":{\"t\":2}}}";
    assert_int_equal(http_parse_body(HK_V3, b, strlen(b), NULL, NULL, &it, err, 256), 1);
    assert_string_equal(dump(it[0].key), "\"k\"");
    assert_string_equal(dump(it[0].value), "{\"t\":2}");
    assert_int_equal(it[0].partition, 1);
    http_items_free(it, 1);
}

static void content_types_by_endpoint(void **st)
{
    assert_int_equal(http_content_kind("application/json; charset=utf-8", 0), HK_JSON);
    assert_int_equal(http_content_kind("Application/X-NDJSON", 0), HK_NDJSON);
    assert_int_equal(http_content_kind("application/vnd.kafka.json.v2+json", 1), HK_PROXY_JSON);
    assert_int_equal(http_content_kind("application/vnd.kafka.json.v2+json", 0), -1);
    assert_int_equal(http_content_kind("application/vnd.kafka.binary.v2+json", 1),
                     HK_PROXY_BINARY);
    assert_int_equal(http_content_kind("text/plain", 0), -1);
    assert_int_equal(http_content_kind(NULL, 0), -1);
}

static void paths_route_to_topics(void **st)
{
    const char *spec = "/cow=cow, /sensor_data = sensors ,/ingrid/measurement=measurements";
    char *t = http_route_topic(spec, "/sensor_data");
    assert_string_equal(t, "sensors");
    free(t);
    t = http_route_topic(spec, "/ingrid/measurement");
    assert_string_equal(t, "measurements");
    free(t);
    assert_null(http_route_topic(spec, "/cows"));
    char err[256];
    assert_int_equal(http_paths_check(spec, err, sizeof(err)), 0);
    assert_int_equal(http_paths_check("cow=cow", err, sizeof(err)), -1);
    assert_string_equal(err, "path 'cow' must start with /");
    assert_int_equal(http_paths_check("/cow", err, sizeof(err)), -1);
}

static void proxy_paths(void **st)
{
    int v3;
    char *t = http_proxy_topic("/topics/readings", &v3);
    assert_string_equal(t, "readings");
    assert_int_equal(v3, 0);
    free(t);
    t = http_proxy_topic("/v3/clusters/abc/topics/readings/records", &v3);
    assert_string_equal(t, "readings");
    assert_int_equal(v3, 1);
    free(t);
    assert_null(http_proxy_topic("/topics/", &v3));
    assert_null(http_proxy_topic("/topics/a/b", &v3));
    assert_null(http_proxy_topic("/v3/clusters/abc/topics/readings", &v3));
}

static void kafka_errors_map_to_rest_proxy_codes(void **st)
{
    (void)st;
    /* retriable: Kafka unreachable or busy, the same request may work later */
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), 50003);
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR__TRANSPORT), 50003);
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), 50003);
    /* not retriable: the record itself is the problem */
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), 50002);
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION), 50002);
    /* Kafka refused the worker's credentials or the topic's ACLs: REST Proxy's own codes */
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), 40301);
    assert_int_equal(http_kafka_error_code(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED), 40101);
}

static void mqtt_connect_packet_bytes(void **st)
{
    struct mqtt_buf b = {0};
    assert_int_equal(mqtt_put_connect(&b, "cid", "user1", "pw", 60, 0), 0);
    static const unsigned char want[] = {0x10, 26, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xc0, 0, 60,
                                         0, 3, 'c', 'i', 'd', 0, 5, 'u', 's', 'e', 'r', '1',
                                         0, 2, 'p', 'w'};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    b.len = 0; /* no user: no password either, clean session flag */
    assert_int_equal(mqtt_put_connect(&b, "c", NULL, "pw", 0, 1), 0);
    static const unsigned char anon[] = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0,
                                         0, 1, 'c'};
    assert_int_equal(b.len, sizeof(anon));
    assert_memory_equal(b.p, anon, sizeof(anon));
    mqtt_buf_free(&b);
}

static void mqtt_subscribe_and_ack_bytes(void **st)
{
    struct mqtt_buf b = {0};
    char *filters[] = {"a/#", "$share/g/b"};
    assert_int_equal(mqtt_put_subscribe(&b, 1, filters, 2, 1), 0);
    static const unsigned char sub[] = {0x82, 21, 0, 1, 0, 3, 'a', '/', '#', 1, 0, 10, '$', 's',
                                        'h', 'a', 'r', 'e', '/', 'g', '/', 'b', 1};
    assert_int_equal(b.len, sizeof(sub));
    assert_memory_equal(b.p, sub, sizeof(sub));
    b.len = 0;
    assert_int_equal(mqtt_put_ack(&b, MQTT_PUBACK, 0x1234), 0);
    assert_int_equal(mqtt_put_ack(&b, MQTT_PUBREC, 7), 0);
    assert_int_equal(mqtt_put_ack(&b, MQTT_PUBCOMP, 7), 0);
    assert_int_equal(mqtt_put_empty(&b, MQTT_PINGREQ), 0);
    static const unsigned char acks[] = {0x40, 2, 0x12, 0x34, 0x50, 2, 0, 7, 0x70, 2, 0, 7,
                                         0xc0, 0};
    assert_int_equal(b.len, sizeof(acks));
    assert_memory_equal(b.p, acks, sizeof(acks));
    mqtt_buf_free(&b);
}

static void mqtt_packets_are_framed_by_remaining_length(void **st)
{
    struct mqtt_packet pk;
    size_t need;
    /* a QoS 1 PUBLISH of 200 bytes: remaining length 207 takes two bytes (0xcf 0x01) */
    unsigned char p[3 + 207] = {0x32, 0xcf, 0x01, 0, 3, 'a', '/', 'b', 0x01, 0x02};
    memset(p + 10, 'x', 200);
    assert_int_equal(mqtt_packet_next(p, 2, &pk, &need), 0);
    assert_int_equal(need, 0); /* the length itself is not complete yet */
    assert_int_equal(mqtt_packet_next(p, 100, &pk, &need), 0);
    assert_int_equal(need, sizeof(p));
    assert_int_equal(mqtt_packet_next(p, sizeof(p), &pk, &need), sizeof(p));
    assert_int_equal(pk.type, MQTT_PUBLISH);
    struct mqtt_publish m;
    assert_int_equal(mqtt_publish_parse(&pk, &m), 0);
    assert_int_equal(m.qos, 1);
    assert_int_equal(m.retain, 0);
    assert_int_equal(m.mid, 0x0102);
    assert_int_equal(m.topic_len, 3);
    assert_memory_equal(m.topic, "a/b", 3);
    assert_int_equal(m.payload_len, 200);
    assert_int_equal(m.payload[199], 'x');
    unsigned char five[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(mqtt_packet_next(five, sizeof(five), &pk, &need), -1);
}

static void mqtt_malformed_publish_is_refused(void **st)
{
    struct mqtt_packet pk = {.type = MQTT_PUBLISH, .flags = 0x1};
    unsigned char q0[] = {0, 1, 't', 'p', 'a', 'y'};
    pk.body = q0;
    pk.body_len = sizeof(q0);
    struct mqtt_publish m;
    assert_int_equal(mqtt_publish_parse(&pk, &m), 0); /* QoS 0, retained, no packet id */
    assert_int_equal(m.retain, 1);
    assert_int_equal(m.mid, 0);
    assert_int_equal(m.payload_len, 3);
    pk.flags = 0x6; /* QoS 3 */
    assert_int_equal(mqtt_publish_parse(&pk, &m), -1);
    unsigned char zero_id[] = {0, 1, 't', 0, 0};
    pk.flags = 0x2;
    pk.body = zero_id;
    pk.body_len = sizeof(zero_id);
    assert_int_equal(mqtt_publish_parse(&pk, &m), -1);
    unsigned char long_topic[] = {0, 9, 't'};
    pk.body = long_topic;
    pk.body_len = sizeof(long_topic);
    assert_int_equal(mqtt_publish_parse(&pk, &m), -1);
    assert_string_equal(mqtt_connack_string(5), "Connection Refused: not authorised.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mqtt_uris_parse_with_default_ports),
        cmocka_unit_test(mqtt_bad_uris_are_refused),
        cmocka_unit_test(mqtt_shared_subscription_only_with_several_tasks),
        cmocka_unit_test(mqtt_connect_packet_bytes),
        cmocka_unit_test(mqtt_subscribe_and_ack_bytes),
        cmocka_unit_test(mqtt_packets_are_framed_by_remaining_length),
        cmocka_unit_test(mqtt_malformed_publish_is_refused),
        cmocka_unit_test(json_object_is_one_record_array_one_each),
        cmocka_unit_test(split_copies_top_level_fields_into_each_element),
        cmocka_unit_test(malformed_json_names_line_and_column),
        cmocka_unit_test(ndjson_skips_blank_lines),
        cmocka_unit_test(rest_proxy_v2_records),
        cmocka_unit_test(rest_proxy_v3_record),
        cmocka_unit_test(content_types_by_endpoint),
        cmocka_unit_test(paths_route_to_topics),
        cmocka_unit_test(proxy_paths),
        cmocka_unit_test(kafka_errors_map_to_rest_proxy_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
