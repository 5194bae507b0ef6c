/* The three stores on the embedded Kafka: read-your-writes, a second worker (or a restart)
 * sees the same state from the topics alone, Kafka Connect's record formats on the wire, and
 * a config topic with more than one partition is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka.h"
#include "stores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kafka_mock *mock;
static json_t *wconf;

static int setup(void **st)
{
    (void)st;
    char err[256];
    mock = kafka_mock_start(1, err, sizeof(err));
    if (!mock)
        return -1;
    wconf = json_pack("{ss ss ss ss ss}", "bootstrap.servers", kafka_mock_bootstraps(mock),
                      "group.id", "g", "config.storage.topic", "cfg", "offset.storage.topic",
                      "off", "status.storage.topic", "st");
    kafka_mock_topic_create(mock, "cfg", 1);
    kafka_mock_topic_create(mock, "off", 25);
    kafka_mock_topic_create(mock, "st", 5);
    kafka_mock_topic_create(mock, "cfg3", 3);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    json_decref(wconf);
    kafka_mock_stop(mock);
    return 0;
}

static void config_survives_in_the_topic(void **st)
{
    (void)st;
    char err[512];
    struct cfgstore *a = cfgstore_open(wconf, 1, NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(cfgstore_read_to_end(a, err, sizeof(err)), 0);
    json_t *conf = json_pack("{ss ss}", "name", "s-1", "connector.class", "FileStreamSink");
    assert_int_equal(cfgstore_put_connector(a, "s-1", conf, err, sizeof(err)), 0);
    /* read your own writes: visible as soon as the put returns */
    json_t *snap = cfgstore_get(a, "s-1");
    assert_non_null(snap);
    json_decref(snap);
    json_t *tasks = json_pack("[{ss}]", "task.class", "X");
    assert_int_equal(cfgstore_put_tasks(a, "s-1", tasks, err, sizeof(err)), 0);
    assert_int_equal(cfgstore_put_target(a, "s-1", "PAUSED", err, sizeof(err)), 0);
    assert_non_null(cfgstore_cluster_id(a));

    struct cfgstore *b = cfgstore_open(wconf, 1, NULL, NULL, NULL, err, sizeof(err));
    assert_int_equal(cfgstore_read_to_end(b, err, sizeof(err)), 0);
    snap = cfgstore_get(b, "s-1");
    assert_non_null(snap);
    assert_true(json_equal(json_object_get(snap, "config"), conf));
    assert_true(json_equal(json_object_get(snap, "tasks"), tasks));
    assert_string_equal(json_string_value(json_object_get(snap, "target")), "PAUSED");
    json_decref(snap);
    cfgstore_close(b);
    cfgstore_close(a);
    json_decref(conf);
    json_decref(tasks);
}

static void config_topic_with_three_partitions_is_refused(void **st)
{
    (void)st;
    char err[512] = "";
    json_t *w = json_deep_copy(wconf);
    json_object_set_new(w, "config.storage.topic", json_string("cfg3"));
    struct cfgstore *cs = cfgstore_open(w, 1, NULL, NULL, NULL, err, sizeof(err));
    assert_null(cs);
    assert_non_null(strstr(err, "single partition"));
    json_decref(w);
}

static void source_offsets_survive_in_the_topic(void **st)
{
    (void)st;
    char err[512];
    struct offstore *a = offstore_open(wconf, 1, err, sizeof(err));
    assert_non_null(a);
    offstore_read_to_end(a, err, sizeof(err));
    json_t *e = json_pack("[[{ss} {si}]]", "filename", "/in", "position", 7);
    assert_int_equal(offstore_put(a, "src", e, 5000, err, sizeof(err)), 0);
    struct offstore *b = offstore_open(wconf, 1, err, sizeof(err));
    assert_int_equal(offstore_read_to_end(b, err, sizeof(err)), 0);
    json_t *part = json_pack("{ss}", "filename", "/in");
    json_t *off = offstore_get(b, "src", part);
    assert_non_null(off);
    assert_int_equal(json_integer_value(json_object_get(off, "position")), 7);
    json_decref(off);
    json_decref(part);
    json_decref(e);
    offstore_close(b);
    offstore_close(a);
}

static void status_of_another_worker_is_visible(void **st)
{
    (void)st;
    char err[512];
    struct statstore *a = statstore_open(wconf, 1, "a:8083", err, sizeof(err));
    statstore_read_to_end(a, err, sizeof(err));
    statstore_put_task(a, "c", 0, "RUNNING", NULL);
    statstore_flush(a);
    struct statstore *b = statstore_open(wconf, 1, "b:8083", err, sizeof(err));
    assert_int_equal(statstore_read_to_end(b, err, sizeof(err)), 0);
    json_t *v = statstore_get(b, "c", 0);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "worker_id")), "a:8083");
    assert_string_equal(json_string_value(json_object_get(v, "state")), "RUNNING");
    json_decref(v);
    statstore_close(b);
    statstore_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_survives_in_the_topic),
        cmocka_unit_test(config_topic_with_three_partitions_is_refused),
        cmocka_unit_test(source_offsets_survive_in_the_topic),
        cmocka_unit_test(status_of_another_worker_is_visible),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
