"""Vitals generator (VitalsSourceConnector) through REST into dev-kafka: the same seed gives
byte-identical records, `iterations` stops the stream, a restart (clean stop or kill -9)
continues the sequence without a gap, both formats have the seeds' record shapes (seed 000:
heart rate; seed 002: MQTT health device), and bad config names the key."""
import json
import re
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

import harness

START = "2026-01-01T00:00:00Z"
START_MS = 1767225600000
TOPICS = ("a", "b", "other", "hr", "dev", "calm", "sick", "seq", "ref")


@pytest.fixture
def dev_kafka():
    k = harness.DevKafka(topics=tuple(f"{t}:1" for t in TOPICS))
    yield k
    k.stop()


def vitals(topic, **kw):
    conf = {"connector.class": "VitalsSourceConnector", "kafka.topic": topic,
            "random.seed": "7", "start.time": START, "rate": "0", "devices": "10"}
    conf.update({k.replace("_", "."): str(v) for k, v in kw.items()})
    return conf


def records(bootstrap, topic, n, timeout=30):
    """The first n records of a one-partition topic as (key, value, timestamp) bytes."""
    got = harness.consume_all(bootstrap, topic, n, timeout)
    assert len(got) >= n, f"{topic}: {len(got)} of {n} records"
    return [(m.key(), m.value(), m.timestamp()[1]) for m in got[:n]]


def end_offset(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermark"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def test_same_seed_gives_byte_identical_records_and_iterations_stops(dev_kafka, worker):
    n = 2000
    for name, topic, seed in (("gen-a", "a", 7), ("gen-b", "b", 7), ("gen-o", "other", 8)):
        worker.create(name, vitals(topic, iterations=n, random_seed=seed, format="device"))
    a = records(dev_kafka.bootstrap, "a", n)
    b = records(dev_kafka.bootstrap, "b", n)
    assert a == b
    assert len(set(v for _, v, _ in a)) == n  # not one record repeated
    other = records(dev_kafka.bootstrap, "other", n)
    assert [k for k, _, _ in other] == [k for k, _, _ in a]  # devices cycle the same way
    assert sum(x[1] != y[1] for x, y in zip(a, other)) > n * 0.9  # another seed, other values
    # iterations: exactly n records, and the tasks stay RUNNING with nothing more to send
    for name in ("gen-a", "gen-b"):
        worker.wait_state(name, "RUNNING")
    harness.wait_until(lambda: end_offset(dev_kafka.bootstrap, "a") == n, 10)
    time.sleep(1.5)
    assert end_offset(dev_kafka.bootstrap, "a") == n
    assert end_offset(dev_kafka.bootstrap, "b") == n


def test_heart_rate_records_have_seed_000_shape(dev_kafka, worker):
    n = 300
    worker.create("hr", vitals("hr", iterations=n, rate=100, devices=3, anomaly_ratio=0.2))
    got = records(dev_kafka.bootstrap, "hr", n)
    anomalies = 0
    for i, (key, raw, ts) in enumerate(got):
        v = json.loads(raw)
        assert list(v) == ["patient_id", "timestamp", "heart_rate", "respiratory_rate",
                           "anomaly"]
        pid = f"patient-{i % 3 + 1:04d}"
        assert json.loads(key) == pid and v["patient_id"] == pid
        assert v["timestamp"] == ts == START_MS + i * 10  # start + n / rate, in ms
        assert type(v["heart_rate"]) is int and type(v["respiratory_rate"]) is int
        if v["anomaly"] is True:
            anomalies += 1
            assert 30 <= v["heart_rate"] <= 45 or 140 <= v["heart_rate"] <= 190, v
            assert 24 <= v["respiratory_rate"] <= 35, v
        else:
            assert v["anomaly"] is False
            assert 58 <= v["heart_rate"] <= 100 and 12 <= v["respiratory_rate"] <= 20, v
    assert 0.1 * n < anomalies < 0.3 * n


def test_device_records_have_seed_002_shape(dev_kafka, worker):
    n = 200
    worker.create("calm", vitals("calm", iterations=n, rate=100, format="device",
                                 anomaly_ratio=0))
    worker.create("sick", vitals("sick", iterations=n, rate=100, format="device",
                                 anomaly_ratio=1))
    types = {"deviceId": str, "timestamp": int, "heartRate": int, "systolic": int,
             "diastolic": int, "oxygenSaturation": int, "bodyTemperature": float,
             "latitude": float, "longitude": float}
    homes = {}
    for topic in ("calm", "sick"):
        for i, (key, raw, ts) in enumerate(records(dev_kafka.bootstrap, topic, n)):
            v = json.loads(raw)
            assert list(v) == list(types)  # seed 002's field order
            assert {k: type(x) for k, x in v.items()} == types, v
            dev = f"device{i % 10 + 1:03d}"
            assert json.loads(key) == dev and v["deviceId"] == dev
            assert ts == START_MS + i * 10
            assert v["timestamp"] == ts // 1000  # seconds, as the seed's publisher sends
            # short decimals in the bytes, as a person would write them (98.6, not 98.5999…)
            assert re.search(rb'"bodyTemperature":\d+\.\d,', raw), raw
            assert re.search(rb'"latitude":\d+\.\d{1,6},"longitude":-\d+\.\d{1,6}}$', raw), raw
            assert 40.6 < v["latitude"] < 40.82 and -74.11 < v["longitude"] < -73.9, v
            home = homes.setdefault(dev, (v["latitude"], v["longitude"]))
            assert abs(v["latitude"] - home[0]) < 0.002 and abs(v["longitude"] - home[1]) < 0.002
            assert v["systolic"] - 50 <= v["diastolic"] <= v["systolic"] - 35
            if topic == "calm":
                assert 58 <= v["heartRate"] <= 100 and 105 <= v["systolic"] <= 135, v
                assert 95 <= v["oxygenSaturation"] <= 100, v
                assert 97.0 <= v["bodyTemperature"] <= 99.2, v
            else:
                assert 140 <= v["heartRate"] <= 190 and 160 <= v["systolic"] <= 200, v
                assert 82 <= v["oxygenSaturation"] <= 90, v
                assert 101.0 <= v["bodyTemperature"] <= 104.0, v


def committed_sequence(w, name):
    """The sequence number in the connector's stored source offset (0 while none is)."""
    offs = w.get(f"/connectors/{name}/offsets").json().get("offsets", [])
    return max((o["offset"].get("sequence", 0) for o in offs), default=0)


@pytest.mark.parametrize("how", ["stop", "kill9"])
def test_restart_continues_the_sequence_without_a_gap(dev_kafka, worker_factory, how):
    n, rate = 3000, 1000
    w = worker_factory(dev_kafka.bootstrap)
    w.create("seq", vitals("seq", iterations=n, rate=rate))
    w.wait_state("seq", "RUNNING")
    harness.wait_until(lambda: end_offset(dev_kafka.bootstrap, "seq") >= 500, 20)
    # kill -9 before the first offset flush would rightly start again from the beginning:
    # wait until one is stored, so the test shows that the restart resumes from it
    harness.wait_until(lambda: committed_sequence(w, "seq") > 0, 20, 0.05, "an offset flush")
    w.kill9() if how == "kill9" else w.stop()
    before = end_offset(dev_kafka.bootstrap, "seq")
    assert before < n  # stopped mid-stream
    w.start()
    w.wait_state("seq", "RUNNING")
    # the reference: the same config generated in one go
    w.create("ref", vitals("ref", iterations=n, rate=rate))
    ref = records(dev_kafka.bootstrap, "ref", n)
    harness.wait_until(lambda: end_offset(dev_kafka.bootstrap, "seq") >= n, 30)
    got = records(dev_kafka.bootstrap, "seq", end_offset(dev_kafka.bootstrap, "seq"))
    # Record n is stamped start + n / rate, so the timestamp names its sequence number.
    seqs = [(ts - START_MS) * rate // 1000 for _, _, ts in got]
    for s, rec in zip(seqs, got):
        assert rec == ref[s]  # a re-sent record is the same bytes as the first time
    first = sorted(set(seqs))
    assert first == list(range(n))  # every sequence number, no gap
    if how == "stop":
        assert got == ref  # a clean stop committed every offset: no duplicates either
    else:
        # kill -9 loses at most the offsets not yet flushed: the restart goes back a little
        # (at least once), never forward past a record that is not in Kafka
        assert len(got) - n < before


@pytest.mark.parametrize("conf,key", [
    ({"format": "xyz"}, "format"),
    ({"rate": "-1"}, "rate"),
    ({"rate": "fast"}, "rate"),
    ({"devices": "0"}, "devices"),
    ({"iterations": "-5"}, "iterations"),
    ({"anomaly.ratio": "1.5"}, "anomaly.ratio"),
    ({"start.time": "yesterday"}, "start.time"),
])
def test_bad_config_names_the_key(worker, conf, key):
    c = dict(vitals("a"), name="bad", **conf)
    r = worker.put("/connector-plugins/VitalsSourceConnector/config/validate", c)
    assert r.status_code == 200, r.text
    errs = {x["value"]["name"]: x["value"]["errors"] for x in r.json()["configs"]
            if x["value"]["errors"]}
    assert list(errs) == [key] and f"configuration {key}" in errs[key][0], errs
    r = worker.post("/connectors", {"name": "bad", "config": c})
    assert r.status_code == 400 and f"configuration {key}" in r.json()["message"], r.text
    assert worker.get("/connectors").json() == []


def test_format_is_case_insensitive_as_its_check(dev_kafka, worker):
    c = vitals("dev", format="DEVICE", rate="0.5", iterations=1, anomaly_ratio=1)
    r = worker.put("/connector-plugins/VitalsSourceConnector/config/validate", dict(c, name="x"))
    assert r.json()["error_count"] == 0, r.text
    worker.create("dev", c)
    [(key, raw, ts)] = records(dev_kafka.bootstrap, "dev", 1)
    assert key == b'"device001"' and json.loads(raw)["deviceId"] == "device001"
