"""Transforms and predicates through REST on real pipelines: seed 002's split of one topic of
device records into one output per measure, a source pipeline routed and reshaped before it
reaches Kafka, and a poison record that a transform rejects going to the dead letter queue."""
import json

import pytest

import harness
from harness import consume_all, produce, read_lines, wait_until

JSON = "org.apache.kafka.connect.json.JsonConverter"
STRING = "org.apache.kafka.connect.storage.StringConverter"
T = "org.apache.kafka.connect.transforms."


@pytest.fixture
def dev_kafka():
    # events-dlq is left out: the worker creates the DLQ topic when it first needs it.
    k = harness.DevKafka(topics=("device_data:1", "events:1", "lines:1", "lines-shaped:1",
                                 "vitals:1", "heart_rate:1"))
    yield k
    k.stop()


HEALTH_SCHEMA = {
    "type": "struct", "name": "HealthData", "optional": False,
    "fields": [
        {"type": "string", "optional": False, "field": "deviceId"},
        {"type": "int64", "optional": False, "field": "timestamp"},
        {"type": "int32", "optional": False, "field": "heartRate"},
        {"type": "int32", "optional": False, "field": "systolic"},
        {"type": "int32", "optional": False, "field": "diastolic"},
        {"type": "int32", "optional": False, "field": "oxygenSaturation"},
        {"type": "double", "optional": False, "field": "bodyTemperature"},
    ],
}


def device_record(i):
    return {"deviceId": f"device{i % 3}", "timestamp": 1640995200 + i, "heartRate": 70 + i,
            "systolic": 120 + i, "diastolic": 80 - i, "oxygenSaturation": 98 - i % 2,
            "bodyTemperature": 98.6 + i / 10}


MEASURES = {"heart_rate": "heartRate", "blood_pressure": "systolic,diastolic",
            "oxygen_saturation": "oxygenSaturation", "temperature": "bodyTemperature"}


def split_sink(tmp_path, table, measure):
    """One sink per measure: drops tombstones and test traffic (predicates), keeps deviceId,
    timestamp and the measure, and routes the topic to the table's name."""
    return {
        "connector.class": "FileStreamSink", "topics": "device_data",
        "file": str(tmp_path / f"{table}.txt"),
        "value.converter": JSON, "value.converter.schemas.enable": "true",
        "transforms": "dropTombstones,dropTests,keep,route",
        "transforms.dropTombstones.type": T + "Filter",
        "transforms.dropTombstones.predicate": "isTombstone",
        "transforms.dropTests.type": T + "Filter",
        "transforms.dropTests.predicate": "isTest",
        "transforms.keep.type": T + "ReplaceField$Value",
        "transforms.keep.include": "deviceId,timestamp," + measure,
        "transforms.route.type": T + "RegexRouter",
        "transforms.route.regex": "device_(.*)",
        "transforms.route.replacement": table,
        "predicates": "isTombstone,isTest",
        "predicates.isTombstone.type": T + "predicates.RecordIsTombstone",
        "predicates.isTest.type": T + "predicates.HasHeaderKey",
        "predicates.isTest.name": "test",
    }


def test_seed_002_split_into_one_output_per_measure(dev_kafka, worker, tmp_path):
    records = [device_record(i) for i in range(6)]
    values = [json.dumps({"schema": HEALTH_SCHEMA, "payload": r}) for r in records]
    values += [None, json.dumps({"schema": HEALTH_SCHEMA, "payload": device_record(99)})]
    headers = [None] * 6 + [None, [("test", b"1")]]
    produce(dev_kafka.bootstrap, "device_data", values, headers=headers)

    for table, measure in MEASURES.items():
        worker.create(f"split-{table}", split_sink(tmp_path, table, measure))
    for table in MEASURES:
        worker.wait_state(f"split-{table}", "RUNNING")

    def expected(measure):
        lines = []
        for r in records:
            fields = ["deviceId", "timestamp"] + measure.split(",")
            kept = ",".join(f"{f}={r[f]}" for f in fields)
            lines.append(f"Struct{{{kept}}}")
        return lines

    for table, measure in MEASURES.items():
        path = tmp_path / f"{table}.txt"
        wait_until(lambda: len(read_lines(path)) >= len(records), 30, what=f"{table} rows")
        assert read_lines(path) == expected(measure)
    assert read_lines(tmp_path / "heart_rate.txt")[0] == \
        "Struct{deviceId=device0,timestamp=1640995200,heartRate=70}"
    assert read_lines(tmp_path / "temperature.txt")[1] == \
        "Struct{deviceId=device1,timestamp=1640995201,bodyTemperature=98.69999999999999}"


def test_source_records_reshaped_and_routed(dev_kafka, worker, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("foo\nbar\nhello world\n")
    worker.create("shaped", {
        "connector.class": "FileStreamSource", "file": str(src), "topic": "lines",
        "transforms": "MakeMap,InsertSource,Route,Tag",
        "transforms.MakeMap.type": T + "HoistField$Value",
        "transforms.MakeMap.field": "line",
        "transforms.InsertSource.type": T + "InsertField$Value",
        "transforms.InsertSource.static.field": "data_source",
        "transforms.InsertSource.static.value": "test-file-source",
        "transforms.Route.type": T + "RegexRouter",
        "transforms.Route.regex": "(.*)",
        "transforms.Route.replacement": "$1-shaped",
        "transforms.Route.predicate": "isLines",
        "transforms.Tag.type": T + "InsertHeader",
        "transforms.Tag.header": "origin",
        "transforms.Tag.value.literal": "file",
        "predicates": "isLines",
        "predicates.isLines.type": "TopicNameMatches",
        "predicates.isLines.pattern": "lines",
    })
    msgs = consume_all(dev_kafka.bootstrap, "lines-shaped", 3)
    assert [m.value().decode() for m in msgs] == [
        '{"line":"foo","data_source":"test-file-source"}',
        '{"line":"bar","data_source":"test-file-source"}',
        '{"line":"hello world","data_source":"test-file-source"}',
    ]
    assert all(m.headers() == [("origin", b"file")] for m in msgs)
    assert consume_all(dev_kafka.bootstrap, "lines", 1, timeout=2) == []


def test_device_records_keyed_and_converted_at_the_source(dev_kafka, worker_factory):
    """Seed 002 on the source side: the vitals generator's device records, kept to deviceId,
    timestamp and heartRate, keyed by deviceId, the epoch seconds turned into a Connect
    Timestamp, and routed to heart_rate; compared with the same records produced untouched."""
    w = worker_factory(dev_kafka.bootstrap, extra={"key.converter.schemas.enable": "true",
                                                   "value.converter.schemas.enable": "true"})
    gen = {"connector.class": "VitalsSource", "format": "device", "iterations": "4",
           "rate": "0", "start.time": "2022-01-01T00:00:00Z", "kafka.topic": "vitals"}
    w.create("raw", gen)
    raw = [json.loads(m.value()) for m in consume_all(dev_kafka.bootstrap, "vitals", 4)]
    assert len(raw) == 4
    w.create("shaped", dict(gen, **{
        "transforms": "keep,key,flatKey,ts,route",
        "transforms.keep.type": T + "ReplaceField$Value",
        "transforms.keep.include": "deviceId,timestamp,heartRate",
        "transforms.key.type": T + "ValueToKey", "transforms.key.fields": "deviceId",
        "transforms.flatKey.type": T + "ExtractField$Key", "transforms.flatKey.field": "deviceId",
        "transforms.ts.type": T + "TimestampConverter$Value", "transforms.ts.field": "timestamp",
        "transforms.ts.target.type": "Timestamp", "transforms.ts.unix.precision": "seconds",
        "transforms.route.type": T + "RegexRouter", "transforms.route.regex": "vitals",
        "transforms.route.replacement": "heart_rate"}))
    shaped = consume_all(dev_kafka.bootstrap, "heart_rate", 4)
    assert len(shaped) == 4
    schema = {"type": "struct", "fields": [
        {"type": "string", "optional": False, "field": "deviceId"},
        {"type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp",
         "version": 1, "field": "timestamp"},
        {"type": "int32", "optional": False, "field": "heartRate"}],
        "optional": False, "name": raw[0]["schema"]["name"]}
    for m, r in zip(shaped, raw):
        p = r["payload"]
        assert json.loads(m.key()) == {"schema": {"type": "string", "optional": False},
                                       "payload": p["deviceId"]}
        assert json.loads(m.value()) == {"schema": schema, "payload": {
            "deviceId": p["deviceId"], "timestamp": p["timestamp"] * 1000,
            "heartRate": p["heartRate"]}}


def dlq_sink(tmp_path, tolerance):
    return {
        "connector.class": "FileStreamSink", "topics": "events",
        "file": str(tmp_path / f"out-{tolerance}.txt"),
        "key.converter": STRING,
        "transforms": "toInt",
        "transforms.toInt.type": T + "Cast$Value",
        "transforms.toInt.spec": "reading:int32",
        "errors.tolerance": tolerance,
        "errors.deadletterqueue.topic.name": "events-dlq",
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
    }


def test_poison_record_goes_to_the_dlq_with_context(dev_kafka, worker, tmp_path):
    values = [b'{"reading":"17"}', b'{"reading":"abc"}', b'{"reading":3.5}', b'{"reading":',
              b'{"reading":"-4"}']
    produce(dev_kafka.bootstrap, "events", values, keys=[b"k0", b"poison", b"k2", b"k3", b"k4"],
            headers=[None, [("trace", b"t-1")], None, None, None])
    worker.create("dlq-all", dlq_sink(tmp_path, "all"))
    out = tmp_path / "out-all.txt"
    wait_until(lambda: len(read_lines(out)) == 3, 30, what="the good records")
    assert read_lines(out) == ["{reading=17}", "{reading=3}", "{reading=-4}"]

    # An auto-created DLQ topic may have several partitions: find the records by key.
    dead = {m.key(): m for m in consume_all(dev_kafka.bootstrap, "events-dlq", 2)}
    assert sorted(dead) == [b"k3", b"poison"]
    broken = dead[b"k3"]  # invalid JSON fails before the transform, in the value converter
    assert broken.value() == b'{"reading":'
    bh = dict((k, v.decode()) for k, v in broken.headers())
    assert (bh["__connect.errors.stage"], bh["__connect.errors.offset"]) == ("VALUE_CONVERTER", "3")
    assert bh["__connect.errors.class.name"] == JSON
    m = dead[b"poison"]
    assert m.value() == b'{"reading":"abc"}'
    h = dict((k, v.decode()) for k, v in m.headers())
    assert h["trace"] == "t-1"
    assert h["__connect.errors.topic"] == "events"
    assert h["__connect.errors.partition"] == "0"
    assert h["__connect.errors.offset"] == "1"
    assert h["__connect.errors.connector.name"] == "dlq-all"
    assert h["__connect.errors.task.id"] == "0"
    assert h["__connect.errors.stage"] == "TRANSFORMATION"
    assert h["__connect.errors.class.name"] == T + "Cast$Value"
    assert h["__connect.errors.exception.class.name"] == \
        "org.apache.kafka.connect.errors.DataException"
    assert h["__connect.errors.exception.message"] == \
        "Value (abc) was out of range for requested data type"
    assert "Value (abc)" in h["__connect.errors.exception.stacktrace"]

    # With errors.tolerance=none the task stops at the poison record and says where it was.
    worker.create("dlq-none", dlq_sink(tmp_path, "none"))
    st = worker.wait_task_state("dlq-none", "FAILED")
    trace = st["tasks"][0]["trace"]
    assert "TRANSFORMATION" in trace and "events" in trace
    assert "Value (abc) was out of range for requested data type" in trace
    assert "{reading=3}" not in read_lines(tmp_path / "out-none.txt")


def test_bad_transform_config_is_reported_against_its_key(worker):
    r = worker.put("/connector-plugins/FileStreamSink/config/validate", {
        "name": "v", "connector.class": "FileStreamSink", "topics": "events", "file": "/tmp/x",
        "transforms": "c", "transforms.c.type": "Cast$Value", "transforms.c.spec": "a:bytes"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["error_count"] == 1
    errors = {c["value"]["name"]: c["value"]["errors"] for c in body["configs"]
              if c["value"]["errors"]}
    assert list(errors) == ["transforms.c.spec"], errors
    assert "Cast transformation does not support casting to BYTES" in errors["transforms.c.spec"][0]


def test_plugins_list_transformations_and_predicates_with_their_keys(worker):
    plugins = worker.get("/connector-plugins?connectorsOnly=false").json()
    kinds = {p["class"]: p["type"] for p in plugins}
    assert kinds[T + "Cast$Value"] == "transformation"
    assert kinds[T + "ValueToKey"] == "transformation"
    assert kinds[T + "predicates.HasHeaderKey"] == "predicate"
    assert sum(t == "transformation" for t in kinds.values()) == 26
    assert sum(t == "predicate" for t in kinds.values()) == 3
    assert all(p["type"] in ("source", "sink")
               for p in worker.get("/connector-plugins").json())

    r = worker.get("/connector-plugins/" + T + "RegexRouter/config")
    assert r.status_code == 200, r.text
    assert [(k["name"], k["type"], k["required"]) for k in r.json()] == [
        ("regex", "STRING", True), ("replacement", "STRING", True)]
    r = worker.get("/connector-plugins/TopicNameMatches/config")
    assert [k["name"] for k in r.json()] == ["pattern"]
