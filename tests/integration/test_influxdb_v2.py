"""InfluxDB sink against the v2 write emulator: token/org/bucket/precision and gzip, and each
reply of Telegraf's table (413, 400/422 partial writes, 429 with Retry-After, 503, 401) with
its outcome and no loss; config validation of the v1/v2 choice."""
import json
import time

import pytest

import harness
from influx2_emu import Influx2Emu

SINK = "io.confluent.influxdb.InfluxDBSinkConnector"
T0 = 1767225600000
TOKEN = "test-token-5ecret"


@pytest.fixture
def kafka():
    k = harness.DevKafka(topics=("hr:1", "dlq:1"))
    yield k
    k.stop()


@pytest.fixture
def emu():
    e = Influx2Emu(token=TOKEN, org="my-org", bucket="vitals")
    yield e
    e.close()


def config(emu, **extra):
    c = {"connector.class": SINK, "tasks.max": "1", "topics": "hr",
         "influxdb.url": emu.url, "influxdb.org": "my-org", "influxdb.bucket": "vitals",
         "influxdb.token": TOKEN, "measurement.name.format": "heart_rate",
         "tag.fields": "patient_id", "event.time.fieldname": "timestamp", "linger.ms": "100",
         "key.converter": "org.apache.kafka.connect.storage.StringConverter",
         "errors.retry.delay.max.ms": "1000"}
    c.update(extra)
    return c


def records(n, start=0):
    return [{"patient_id": f"patient-{i % 3 + 1:04d}", "timestamp": T0 + i * 1000,
             "heart_rate": 60 + i, "respiratory_rate": 12 + i % 8} for i in range(start, start + n)]


def expected(recs):
    return [{"measurement": "heart_rate", "tags": {"patient_id": r["patient_id"]},
             "fields": {"heart_rate": r["heart_rate"], "respiratory_rate": r["respiratory_rate"]},
             "time": r["timestamp"] * 1000000} for r in recs]


def wait_stored(w, emu, n, timeout=30):
    try:
        harness.wait_until(lambda: len(emu.stored()) == n, timeout, 0.1, f"{n} points")
    except AssertionError as e:
        raise AssertionError(f"{e}; {len(emu.stored())} stored\n{w.logs()[-5000:]}") from None
    return emu.stored()


def committed(bootstrap, name):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"connect-{name}",
                  "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition("hr", 0)], timeout=10)[0].offset
    finally:
        c.close()


def sort_points(points):
    return sorted(points, key=lambda p: (p["time"], p["tags"].get("patient_id", "")))


def test_v2_write_is_gzipped_with_token_org_bucket_and_exact_points(kafka, worker_factory, emu):
    recs = records(30)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu))
    got = wait_stored(w, emu, 30)
    assert sort_points(got) == sort_points(expected(recs))
    done = [r for r in emu.requests if r["status"] == 204]
    assert done and all(r["gzip"] and r["query"]["precision"] == "ns" for r in done)
    assert all(r["status"] == 204 for r in emu.requests)
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 30, 20, 0.3, "offsets")
    assert TOKEN not in w.logs()


def test_413_splits_batches_in_half_until_they_fit(kafka, worker_factory, emu):
    emu.max_lines = 8
    recs = records(50)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu, **{"batch.size": "50", "linger.ms": "2000"}))
    got = wait_stored(w, emu, 50)
    assert sort_points(got) == sort_points(expected(recs))
    statuses = [r["status"] for r in emu.requests]
    assert 413 in statuses
    assert all(r["lines"] <= 8 for r in emu.requests if r["status"] == 204)
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 50, 20, 0.3, "offsets")


def test_partial_writes_keep_good_points_and_dead_letter_the_rejected(kafka, worker_factory,
                                                                      emu):
    recs = records(20)
    recs[5]["heart_rate"] = 65.5     # 422: a float where the field is an integer
    recs[12]["patient_id"] = "poison"  # 400: the emulator calls this line unparsable
    emu.unparsable = lambda line: "poison" in line
    # no field at all: not a point, a failed record of its own (before any write)
    recs.append({"patient_id": "patient-0001", "timestamp": T0 + 99000})
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu, **{"errors.tolerance": "all",
                                  "errors.deadletterqueue.topic.name": "dlq",
                                  "errors.deadletterqueue.topic.replication.factor": "1",
                                  "errors.deadletterqueue.context.headers.enable": "true"}))
    dead = harness.consume_all(kafka.bootstrap, "dlq", 3, timeout=30)
    assert sorted(json.loads(m.value())["timestamp"] for m in dead) == [
        T0 + 5000, T0 + 12000, T0 + 99000]
    reasons = {json.loads(m.value())["timestamp"]: dict(m.headers())[
        "__connect.errors.exception.message"].decode() for m in dead}
    assert "no fields" in reasons[T0 + 99000]
    assert "unable to parse" in reasons[T0 + 12000]
    assert "field type conflict" in reasons[T0 + 5000]
    good = [r for i, r in enumerate(recs) if i not in (5, 12, 20)]
    got = wait_stored(w, emu, 18)
    assert sort_points(got) == sort_points(expected(good))
    assert {400, 422} <= {r["status"] for r in emu.requests}
    assert w.status("v2")["tasks"][0]["state"] == "RUNNING"
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 21, 20, 0.3, "offsets")


def test_rejected_point_fails_the_task_without_error_tolerance(kafka, worker_factory, emu):
    recs = records(5)
    recs[2]["patient_id"] = "poison"
    emu.unparsable = lambda line: "poison" in line
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu))
    st = w.wait_task_state("v2", "FAILED")
    assert "rejected" in st["tasks"][0]["trace"]
    assert "hr-0@2" in st["tasks"][0]["trace"]
    assert len(emu.stored()) == 4  # the good points of the partial write are kept


def test_429_backs_off_for_retry_after(kafka, worker_factory, emu):
    emu.fault(429, times=1, retry_after=2)
    recs = records(10)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu))
    got = wait_stored(w, emu, 10)
    assert sort_points(got) == sort_points(expected(recs))
    first, second = emu.requests[0], emu.requests[1]
    assert first["status"] == 429 and second["status"] == 204
    assert second["time"] - first["time"] >= 2.0
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 10, 20, 0.3, "offsets")


def test_503_is_retried_and_offsets_wait_for_the_write(kafka, worker_factory, emu):
    emu.fault(503, times=10**6)
    recs = records(10)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu))
    harness.wait_until(lambda: len(emu.requests) >= 3, 20, 0.1, "retried writes")
    time.sleep(1.5)  # three offset flush intervals: nothing may be committed meanwhile
    assert committed(kafka.bootstrap, "v2") <= 0  # none yet, or offset 0 = start at the first
    assert w.status("v2")["tasks"][0]["state"] == "RUNNING"
    assert emu.stored() == []
    emu.clear_faults()
    got = wait_stored(w, emu, 10)
    assert sort_points(got) == sort_points(expected(recs))
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 10, 20, 0.3, "offsets")


def test_a_failed_write_ahead_of_another_in_flight_loses_nothing(kafka, worker_factory, emu):
    """Two writes are in flight at once; the first one answers 503 and the one behind it 204:
    both batches are written again from the first, and offsets wait for them."""
    emu.delay = 0.3
    emu.fault(503, times=1)
    recs = records(60)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu, **{"batch.size": "10", "linger.ms": "5000"}))
    got = wait_stored(w, emu, 60)
    assert sort_points(got) == sort_points(expected(recs))
    assert emu.max_inflight == 2
    assert emu.requests[0]["status"] == 503
    harness.wait_until(lambda: committed(kafka.bootstrap, "v2") == 60, 20, 0.3, "offsets")
    assert w.status("v2")["tasks"][0]["state"] == "RUNNING"


def test_401_fails_the_task_with_a_clear_message_and_no_secret(kafka, worker_factory, emu):
    harness.produce(kafka.bootstrap, "hr", records(3))
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu, **{"influxdb.token": "wrong-s3cret-token"}))
    st = w.wait_task_state("v2", "FAILED")
    trace = st["tasks"][0]["trace"]
    assert "HTTP 401" in trace and "influxdb.token" in trace
    assert "wrong-s3cret-token" not in trace and "wrong-s3cret-token" not in w.logs()
    assert committed(kafka.bootstrap, "v2") <= 0


def validate(w, conf):
    r = w.put(f"/connector-plugins/{SINK}/config/validate", conf)
    assert r.status_code == 200, r.text
    return {c["value"]["name"]: c["value"]["errors"] for c in r.json()["configs"]
            if c["value"]["errors"]}


def test_validate_names_the_keys_of_the_api_choice(kafka, worker_factory, emu):
    w = worker_factory(kafka.bootstrap)
    base = {"connector.class": SINK, "name": "x", "topics": "hr", "influxdb.url": emu.url}
    errs = validate(w, base)
    assert "influxdb.db" in errs and "influxdb.org and" in errs["influxdb.db"][0]
    errs = validate(w, dict(base, **{"influxdb.db": "vitals", "influxdb.bucket": "b"}))
    assert "only one" in errs["influxdb.db"][0] and "influxdb.org" in errs
    assert validate(w, dict(base, **{"influxdb.db": "vitals"})) == {}
    assert validate(w, dict(base, **{"influxdb.org": "o", "influxdb.bucket": "b"})) == {}
    errs = validate(w, dict(base, **{"influxdb.db": "v", "influxdb.url": "localhost:8086"}))
    assert list(errs) == ["influxdb.url"]
    for example in ("seed-000-vitals-influxdb.json", "seed-000-vitals-influxdb2.json"):
        with open(f"{harness.ROOT}/configs/{example}") as f:
            assert validate(w, dict(json.load(f)["config"], name="x")) == {}
    r = w.post("/connectors", {"name": "x", "config": base})
    assert r.status_code == 400 and "influxdb.db" in r.text


def test_other_5xx_is_retried_with_backoff(kafka, worker_factory, emu):
    emu.fault(500, times=2)
    recs = records(10)
    harness.produce(kafka.bootstrap, "hr", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("v2", config(emu))
    got = wait_stored(w, emu, 10)
    assert sort_points(got) == sort_points(expected(recs))
    assert [r["status"] for r in emu.requests][:3] == [500, 500, 204]
    assert "InfluxDB failed the write (HTTP 500)" in w.logs()
    assert w.status("v2")["tasks"][0]["state"] == "RUNNING"


# Values whose line text the fast path (the record's JSON bytes straight to a line) must write
# exactly as the usual path (JsonConverter's tree) does, and records it must leave to it.
FAST_VALUES = ["72", "-0", "-17", "36.60", "95.0", "-0.0", "0.0001", "0.00001", "100.0",
               "123456789012345.5", "1.5e3", "0.30000000000000004", "true", "false", "null",
               '"a \\"quoted\\" \\\\ back,slash=eq"', '"caf\\u00e9 \\t tab"', '""',
               '{"nested": 1}', '[1, 2]']


def fast_stream():
    """Raw JSON texts: one record per value (each field name used once, so no field changes
    type), escaped tags, a record time as an ISO string, no fields at all, and not JSON."""
    out = []
    for i, v in enumerate(FAST_VALUES):
        out.append(f'{{"patient_id":"p-{i % 3}","timestamp":{T0 + i},"f{i}":{v},'
                   f'"g {i},=x":1}}')
    out += [f'{{"patient_id":"a b,c=d","timestamp":{T0 + 100},"hr":1}}',
            f'{{"patient_id":"caf\\u00e9","timestamp":{T0 + 101},"hr2":2}}',
            f'{{"patient_id":null,"timestamp":{T0 + 102},"hr3":3}}',
            f'{{"patient_id":7,"timestamp":{T0 + 103},"hr4":4}}',
            f'{{"patient_id":"p","timestamp":"2026-01-01T00:00:01Z","hr5":5}}',
            f'{{"patient_id":"p","timestamp":{T0 + 104},"hr6":6,"hr6":7}}',
            f'{{"patient_id":"p","timestamp":{T0 + 105}}}',
            'not json']
    return out


def test_fast_path_writes_what_the_usual_path_writes(kafka, worker_factory, emu):
    """Two sinks read one topic: one takes the fast path, the other has a transform that
    changes nothing the sink writes, which makes the runtime convert every value first. Both
    must send InfluxDB the same lines, byte for byte, in the same order."""
    slow_emu = Influx2Emu(token=TOKEN, org="my-org", bucket="vitals")
    try:
        stream = fast_stream()
        harness.produce(kafka.bootstrap, "hr", stream)
        w = worker_factory(kafka.bootstrap)
        tolerant = {"errors.tolerance": "all", "errors.log.enable": "true"}
        w.create("fast", config(emu, **tolerant))
        w.create("slow", config(slow_emu, **tolerant, **{
            "transforms": "hdr",
            "transforms.hdr.type": "org.apache.kafka.connect.transforms.InsertHeader",
            "transforms.hdr.header": "via", "transforms.hdr.value.literal": "usual path"}))
        # every record makes a line (the usual path flattens nested values and reads the ISO
        # time; a duplicate key keeps its last value) but the one without fields and "not json"
        n = len(stream) - 2
        harness.wait_until(lambda: len(slow_emu.lines) >= n and len(emu.lines) >= n, 30, 0.2,
                           "both sinks' lines")
        time.sleep(0.5)
        assert len(emu.lines) == n
        assert emu.lines == slow_emu.lines
        logs = w.logs()
        assert "reads schemaless JSON values from their bytes" in logs
        for line in (f"heart_rate,patient_id=p-1 f1=0i,g\\ 1\\,\\=x=1i {(T0 + 1) * 1000000}",
                     f"heart_rate,patient_id=p-0 f3=36.6,g\\ 3\\,\\=x=1i {(T0 + 3) * 1000000}",
                     f"heart_rate,patient_id=p-1 f4=95,g\\ 4\\,\\=x=1i {(T0 + 4) * 1000000}",
                     f"heart_rate,patient_id=a\\ b\\,c\\=d hr=1i {(T0 + 100) * 1000000}",
                     f"heart_rate,patient_id=café hr2=2i {(T0 + 101) * 1000000}",
                     f"heart_rate hr3=3i {(T0 + 102) * 1000000}",
                     f"heart_rate,patient_id=7 hr4=4i {(T0 + 103) * 1000000}"):
            assert line in emu.lines, (line, emu.lines)
    finally:
        slow_emu.close()
