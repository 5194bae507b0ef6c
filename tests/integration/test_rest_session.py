"""The REST session of Kafka's connect_rest_test.py, against one distributed worker."""
import os

from harness import read_lines, wait_until

SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"

SOURCE_KEYS = {"name", "connector.class", "tasks.max", "key.converter", "value.converter",
               "header.converter", "batch.size", "topic", "file", "transforms",
               "config.action.reload", "errors.retry.timeout", "errors.retry.delay.max.ms",
               "errors.tolerance", "errors.log.enable", "errors.log.include.messages",
               "predicates", "topic.creation.groups", "exactly.once.support",
               "transaction.boundary", "transaction.boundary.interval.ms",
               "offsets.storage.topic", "tasks.max.enforce"}
SINK_KEYS = {"name", "connector.class", "tasks.max", "key.converter", "value.converter",
             "header.converter", "topics", "file", "transforms", "topics.regex",
             "config.action.reload", "errors.retry.timeout", "errors.retry.delay.max.ms",
             "errors.tolerance", "errors.log.enable", "errors.log.include.messages",
             "errors.deadletterqueue.topic.name",
             "errors.deadletterqueue.topic.replication.factor",
             "errors.deadletterqueue.context.headers.enable", "predicates", "tasks.max.enforce"}


def configs(tmp_path):
    src = {"connector.class": SOURCE, "tasks.max": "1", "file": str(tmp_path / "in.txt"),
           "topic": "lines", "name": "local-file-source"}
    snk = {"connector.class": SINK, "tasks.max": "1", "file": str(tmp_path / "out.txt"),
           "topics": "lines", "name": "local-file-sink",
           "value.converter": "org.apache.kafka.connect.storage.StringConverter"}
    src["value.converter"] = "org.apache.kafka.connect.storage.StringConverter"
    return src, snk


def append(path, lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


def test_plugins_and_validate(worker):
    assert worker.get("/connectors").json() == []
    classes = {p["class"] for p in worker.get("/connector-plugins/").json()}
    assert {SOURCE, SINK} <= classes
    only = worker.get("/connector-plugins?connectorsOnly=false").json()
    assert any(p["type"] == "converter" for p in only)
    for cls, keys, conf in ((SOURCE, SOURCE_KEYS, {"file": "/tmp/x", "topic": "t"}),
                            (SINK, SINK_KEYS, {"file": "/tmp/y", "topics": "t"})):
        conf = dict(conf, **{"connector.class": cls, "tasks.max": "1", "name": cls})
        r = worker.put(f"/connector-plugins/{cls}/config/validate", conf)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["name"] == cls and body["error_count"] == 0, body
        assert {c["definition"]["name"] for c in body["configs"]} == keys


def test_validate_reports_errors_per_key(worker):
    conf = {"connector.class": "FileStreamSink", "name": "x", "tasks.max": "zero"}
    body = worker.put("/connector-plugins/FileStreamSink/config/validate", conf).json()
    assert body["error_count"] >= 2
    errs = {c["value"]["name"]: c["value"]["errors"] for c in body["configs"]}
    assert errs["tasks.max"] and "tasks.max" in errs["tasks.max"][0]
    assert errs["topics"]  # neither topics nor topics.regex


def test_rest_session(worker, tmp_path):
    src, snk = configs(tmp_path)
    r = worker.post("/connectors", {"name": src["name"], "config": src})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/connectors/local-file-source")
    worker.create(snk["name"], snk)
    wait_until(lambda: sorted(worker.get("/connectors").json()) ==
               ["local-file-sink", "local-file-source"], 10)

    append(tmp_path / "in.txt", ["foo", "bar", "baz"])
    wait_until(lambda: read_lines(tmp_path / "out.txt") == ["foo", "bar", "baz"], 60,
               what="lines in the sink file")

    assert worker.post("/connectors", {"name": src["name"], "config": src}).status_code == 409

    for conf, typ in ((src, "source"), (snk, "sink")):
        name = conf["name"]
        wait_until(lambda: worker.get(f"/connectors/{name}").json()["tasks"], 10)
        assert worker.get(f"/connectors/{name}").json() == {
            "name": name, "config": conf, "tasks": [{"connector": name, "task": 0}], "type": typ}
        assert worker.get(f"/connectors/{name}/config").json() == conf
        tasks = worker.get(f"/connectors/{name}/tasks").json()
        assert len(tasks) == 1 and tasks[0]["id"] == {"connector": name, "task": 0}
        tconf = tasks[0]["config"]
        assert {k: tconf[k] for k in conf} == conf and "task.class" in tconf

    expanded = worker.get("/connectors?expand=status&expand=info").json()
    assert expanded["local-file-source"]["info"]["type"] == "source"
    assert expanded["local-file-sink"]["status"]["connector"]["state"] == "RUNNING"

    # PUT config: the source now reads a second file.
    src2 = dict(src, file=str(tmp_path / "in2.txt"))
    r = worker.put("/connectors/local-file-source/config", src2)
    assert r.status_code == 200, r.text
    assert worker.get("/connectors/local-file-source/config").json() == src2
    append(tmp_path / "in2.txt", ["one", "two", "three", "four", "five", "six"])
    want = ["foo", "bar", "baz", "one", "two", "three", "four", "five", "six"]
    wait_until(lambda: read_lines(tmp_path / "out.txt") == want, 60, what="second file's lines")

    # Pause stops the data, resume restarts it.
    assert worker.put("/connectors/local-file-source/pause").status_code == 202
    worker.wait_state("local-file-source", "PAUSED")
    append(tmp_path / "in2.txt", ["paused-1", "paused-2"])
    import time
    time.sleep(2)
    assert read_lines(tmp_path / "out.txt") == want
    assert worker.put("/connectors/local-file-source/resume").status_code == 202
    worker.wait_state("local-file-source", "RUNNING")
    wait_until(lambda: read_lines(tmp_path / "out.txt") == want + ["paused-1", "paused-2"], 60,
               what="lines written while paused")

    # Restarts.
    assert worker.post("/connectors/local-file-sink/restart").status_code == 204
    r = worker.post("/connectors/local-file-sink/restart?includeTasks=true&onlyFailed=false")
    assert r.status_code == 202 and r.json()["name"] == "local-file-sink"
    assert worker.post("/connectors/local-file-sink/tasks/0/restart").status_code == 204
    worker.wait_state("local-file-sink", "RUNNING")
    assert worker.get("/connectors/local-file-sink/tasks/0/status").json()["state"] == "RUNNING"

    # Topics seen by each connector.
    topics = worker.get("/connectors/local-file-sink/topics").json()
    assert topics == {"local-file-sink": {"topics": ["lines"]}}

    # Stop, offsets, delete.
    assert worker.put("/connectors/local-file-source/stop").status_code == 204
    wait_until(lambda: worker.status("local-file-source")["connector"]["state"] == "STOPPED", 20)
    offs = worker.get("/connectors/local-file-source/offsets").json()["offsets"]
    want_offs = [{"partition": {"filename": str(tmp_path / f)},
                  "offset": {"position": os.path.getsize(tmp_path / f)}}
                 for f in ("in.txt", "in2.txt")]
    assert sorted(offs, key=str) == sorted(want_offs, key=str)
    sink_offs = worker.get("/connectors/local-file-sink/offsets").json()["offsets"]
    assert {"partition": {"kafka_topic": "lines", "kafka_partition": 0},
            "offset": {"kafka_offset": 11}} in sink_offs

    for name in ("local-file-source", "local-file-sink"):
        assert worker.delete(f"/connectors/{name}").status_code == 204
    wait_until(lambda: worker.get("/connectors").json() == [], 10)
    r = worker.get("/connectors/local-file-source")
    assert r.status_code == 404 and r.json()["error_code"] == 404
