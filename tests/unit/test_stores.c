/* Config, status and offset stores on the file backend (standalone mode): Kafka Connect's
 * record semantics, and a restart that replays the state file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char notified[64][128];
static int nnotified;

static void on_notify(void *opaque, const char *name)
{
    (void)opaque;
    if (nnotified < 64)
        snprintf(notified[nnotified++], sizeof(notified[0]), "%s", name);
}

static char *tmpfile_path(void)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/cd-test-stores-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    return path;
}

static void connector_with_dashes_gets_its_committed_tasks(void **st)
{
    (void)st;
    char err[256];
    char *path = tmpfile_path();
    struct cfgstore *cs = cfgstore_open(NULL, 0, path, on_notify, NULL, err, sizeof(err));
    assert_non_null(cs);
    json_t *conf = json_pack("{ss ss}", "name", "my-sink-1", "connector.class", "FileStreamSink");
    assert_int_equal(cfgstore_put_connector(cs, "my-sink-1", conf, err, sizeof(err)), 0);
    json_t *tasks = json_pack("[{ss} {ss}]", "a", "0", "a", "1");
    assert_int_equal(cfgstore_put_tasks(cs, "my-sink-1", tasks, err, sizeof(err)), 0);
    json_t *snap = cfgstore_get(cs, "my-sink-1");
    assert_non_null(snap);
    assert_true(json_equal(json_object_get(snap, "config"), conf));
    assert_true(json_equal(json_object_get(snap, "tasks"), tasks));
    assert_string_equal(json_string_value(json_object_get(snap, "target")), "STARTED");
    json_decref(snap);
    assert_int_equal(cfgstore_put_target(cs, "my-sink-1", "STOPPED", err, sizeof(err)), 0);
    cfgstore_close(cs);

    /* A restart replays the state file: same config, tasks and target. */
    nnotified = 0;
    cs = cfgstore_open(NULL, 0, path, on_notify, NULL, err, sizeof(err));
    assert_int_equal(cfgstore_read_to_end(cs, err, sizeof(err)), 0);
    assert_true(nnotified >= 1);
    assert_string_equal(notified[0], "my-sink-1");
    snap = cfgstore_get(cs, "my-sink-1");
    assert_string_equal(json_string_value(json_object_get(snap, "target")), "STOPPED");
    assert_true(json_equal(json_object_get(snap, "tasks"), tasks));
    json_decref(snap);
    json_t *names = cfgstore_names(cs);
    assert_int_equal(json_array_size(names), 1);
    json_decref(names);

    /* Delete: the connector disappears, also after a restart. */
    assert_int_equal(cfgstore_delete(cs, "my-sink-1", err, sizeof(err)), 0);
    assert_null(cfgstore_get(cs, "my-sink-1"));
    cfgstore_close(cs);
    cs = cfgstore_open(NULL, 0, path, on_notify, NULL, err, sizeof(err));
    cfgstore_read_to_end(cs, err, sizeof(err));
    assert_null(cfgstore_get(cs, "my-sink-1"));
    names = cfgstore_names(cs);
    assert_int_equal(json_array_size(names), 0);
    json_decref(names);
    cfgstore_close(cs);
    json_decref(conf);
    json_decref(tasks);
    unlink(path);
}

static void tasks_apply_only_after_commit(void **st)
{
    (void)st;
    char err[256];
    struct cfgstore *cs = cfgstore_open(NULL, 0, NULL, on_notify, NULL, err, sizeof(err));
    json_t *conf = json_pack("{ss}", "name", "c");
    cfgstore_put_connector(cs, "c", conf, err, sizeof(err));
    json_t *one = json_pack("[{ss}]", "v", "1");
    cfgstore_put_tasks(cs, "c", one, err, sizeof(err));
    /* STOPPED writes an empty task list; the committed list follows the commit record. */
    json_t *none = json_array();
    cfgstore_put_tasks(cs, "c", none, err, sizeof(err));
    json_t *snap = cfgstore_get(cs, "c");
    assert_int_equal(json_array_size(json_object_get(snap, "tasks")), 0);
    json_decref(snap);
    json_decref(conf);
    json_decref(one);
    json_decref(none);
    cfgstore_close(cs);
}

static void source_offsets_match_whatever_the_key_order(void **st)
{
    (void)st;
    char err[256];
    char *path = tmpfile_path();
    json_t *w = json_pack("{ss}", "offset.storage.file.filename", path);
    struct offstore *os = offstore_open(w, 0, err, sizeof(err));
    assert_non_null(os);
    json_t *entries = json_pack("[[{ss si} {si}]]", "filename", "/x", "shard", 2, "position", 42);
    assert_int_equal(offstore_put(os, "src", entries, 1000, err, sizeof(err)), 0);
    offstore_close(os);
    os = offstore_open(w, 0, err, sizeof(err));
    offstore_read_to_end(os, err, sizeof(err));
    json_t *part = json_pack("{si ss}", "shard", 2, "filename", "/x");
    json_t *off = offstore_get(os, "src", part);
    assert_non_null(off);
    assert_int_equal(json_integer_value(json_object_get(off, "position")), 42);
    json_decref(off);
    assert_null(offstore_get(os, "other", part));
    json_t *list = offstore_list(os, "src");
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* A null offset is a tombstone. */
    json_t *reset = json_pack("[[O n]]", part);
    offstore_put(os, "src", reset, 1000, err, sizeof(err));
    assert_null(offstore_get(os, "src", part));
    json_decref(reset);
    json_decref(part);
    json_decref(entries);
    offstore_close(os);
    json_decref(w);
    unlink(path);
}

static void status_keeps_states_and_topics(void **st)
{
    (void)st;
    char err[256];
    struct statstore *ss = statstore_open(NULL, 0, "host:8083", err, sizeof(err));
    statstore_read_to_end(ss, err, sizeof(err));
    statstore_put_connector(ss, "c", "RUNNING", NULL);
    statstore_put_task(ss, "c", 0, "FAILED", "boom");
    json_t *t = statstore_get(ss, "c", 0);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "FAILED");
    assert_string_equal(json_string_value(json_object_get(t, "trace")), "boom");
    assert_string_equal(json_string_value(json_object_get(t, "worker_id")), "host:8083");
    json_decref(t);
    statstore_put_topic(ss, "c", "b-topic", 0);
    statstore_put_topic(ss, "c", "a-topic", 0);
    statstore_put_topic(ss, "other", "z", 0);
    json_t *topics = statstore_topics(ss, "c");
    assert_int_equal(json_array_size(topics), 2);
    assert_string_equal(json_string_value(json_array_get(topics, 0)), "a-topic");
    json_decref(topics);
    statstore_delete(ss, "c", 1);
    assert_null(statstore_get(ss, "c", -1));
    assert_null(statstore_get(ss, "c", 0));
    topics = statstore_topics(ss, "c");
    assert_int_equal(json_array_size(topics), 0);
    json_decref(topics);
    topics = statstore_topics(ss, "other");
    assert_int_equal(json_array_size(topics), 1);
    json_decref(topics);
    statstore_close(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connector_with_dashes_gets_its_committed_tasks),
        cmocka_unit_test(tasks_apply_only_after_commit),
        cmocka_unit_test(source_offsets_match_whatever_the_key_order),
        cmocka_unit_test(status_keeps_states_and_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
