"""InfluxDB sink against a real InfluxDB 1.x: seed 000's vitals pipeline, escaping round trips,
type conflicts (partial writes) and an InfluxDB outage mid-stream."""
import json
import time

import pytest
import requests

import harness

SINK = "io.confluent.influxdb.InfluxDBSinkConnector"
T0 = 1767225600000  # 2026-01-01T00:00:00Z in ms


@pytest.fixture
def kafka():
    k = harness.DevKafka(topics=("vitals:2", "esc:1", "conflict:1", "dlq:1", "outage:1"))
    yield k
    k.stop()


def points(influx, db, q):
    """Series of an InfluxQL query as {(name, tags): [row dicts]} with times in ns."""
    r = requests.post(influx.url + "/query", params={"q": q, "db": db, "epoch": "ns"},
                      timeout=10)
    r.raise_for_status()
    out = {}
    for res in r.json()["results"]:
        assert "error" not in res, res
        for s in res.get("series", []):
            # a query over several measurements pads rows with nulls and empty tags
            tags = {k: v for k, v in (s.get("tags") or {}).items() if v != ""}
            key = (s["name"], tuple(sorted(tags.items())))
            out[key] = [{c: x for c, x in zip(s["columns"], v) if x is not None}
                        for v in s["values"]]
    return out


def count(influx, db, measurement_regex="/.*/"):
    try:
        res = points(influx, db, f"SELECT * FROM {measurement_regex} GROUP BY *")
    except (requests.RequestException, AssertionError):
        return 0
    return sum(len(v) for v in res.values())


def wait_points(w, influx, db, n, timeout=30):
    """Waits until db holds n points; on timeout the worker's log is in the failure."""
    try:
        harness.wait_until(lambda: count(influx, db) == n, timeout, 0.2, f"{n} points in {db}")
    except AssertionError as e:
        raise AssertionError(f"{e}; {count(influx, db)} there\n{w.logs()[-6000:]}") from None


def sink_config(influx, topics, db, **extra):
    c = {"connector.class": SINK, "tasks.max": "1", "topics": topics,
         "influxdb.url": influx.url, "influxdb.db": db, "linger.ms": "100",
         "key.converter": "org.apache.kafka.connect.storage.StringConverter"}
    c.update(extra)
    return c


def committed(bootstrap, name, topic, partitions):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"connect-{name}",
                  "enable.auto.commit": False})
    try:
        res = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return [tp.offset for tp in res]
    finally:
        c.close()


def vitals_records():
    recs = []
    for i in range(60):
        pid = f"patient-{i % 3 + 1:04d}"
        recs.append({"patient_id": pid, "timestamp": T0 + i * 1000, "heart_rate": 60 + i,
                     "respiratory_rate": 12 + i % 8, "anomaly": i % 10 == 0})
    return recs


def test_seed_000_vitals_land_as_exact_points(kafka, worker_factory, influxdb):
    recs = vitals_records()
    harness.produce(kafka.bootstrap, "vitals", recs, keys=[r["patient_id"] for r in recs])
    w = worker_factory(kafka.bootstrap)
    # the example in configs/, pointed at the test's InfluxDB
    with open(f"{harness.ROOT}/configs/seed-000-vitals-influxdb.json") as f:
        example = json.load(f)["config"]
    w.create("vitals-influx", dict(example, **{"influxdb.url": influxdb.url, "linger.ms": "100"}))
    w.wait_state("vitals-influx", "RUNNING")
    wait_points(w, influxdb, "vitals", 60)
    got = points(influxdb, "vitals", "SELECT * FROM heart_rate GROUP BY *")
    want = {}
    for r in recs:
        key = ("heart_rate", (("patient_id", r["patient_id"]),))
        want.setdefault(key, []).append({
            "time": r["timestamp"] * 1000000, "heart_rate": r["heart_rate"],
            "respiratory_rate": r["respiratory_rate"], "anomaly": r["anomaly"]})
    assert got == want
    # integers stay integers (written with the i suffix), no stray fields
    keys = points(influxdb, "vitals", "SHOW FIELD KEYS FROM heart_rate")
    assert keys[("heart_rate", ())] == [
        {"fieldKey": "anomaly", "fieldType": "boolean"},
        {"fieldKey": "heart_rate", "fieldType": "integer"},
        {"fieldKey": "respiratory_rate", "fieldType": "integer"}]
    # every offset is committed once InfluxDB acknowledged the points
    harness.wait_until(lambda: sum(committed(kafka.bootstrap, "vitals-influx", "vitals", 2)) == 60,
                       20, 0.3, "offsets committed")


def test_escaping_round_trips_through_influxdb(kafka, worker_factory, influxdb):
    weird = [
        {"m": "cpu load,1=x \"q\" a\\b \u00e9", "host": "a b,c=d\\e \u00fc",
         "tags": {"rack, 1=\"x\"": "r=1 ,\u2713"},
         "field key, =\"x\"": "str \"quoted\" \\ back\\slash\nnew line \u2713 \\",
         "n": 5, "f": -1.25, "ok": True, "ts": "2026-01-01T00:00:01.5Z"},
        {"m": "plain", "host": "h", "s": "'single' = , quotes", "nested": {"a b": {"c,d": 1.5}},
         "ts": 1767225602},
    ]
    harness.produce(kafka.bootstrap, "esc", weird)
    w = worker_factory(kafka.bootstrap)
    w.create("esc-influx", sink_config(influxdb, "esc", "esc",
                                       **{"measurement.name.format": "${value.m}",
                                          "tag.fields": "host", "event.time.fieldname": "ts"}))
    wait_points(w, influxdb, "esc", 2)
    got = points(influxdb, "esc", "SELECT * FROM /.*/ GROUP BY *")
    assert got == {
        ("cpu load,1=x \"q\" a\\b \u00e9",
         (("host", "a b,c=d\\e \u00fc"), ("rack, 1=\"x\"", "r=1 ,\u2713"))): [
            {"time": T0 * 1000000 + 1500000000,
             "field key, =\"x\"": "str \"quoted\" \\ back\\slash\nnew line \u2713 \\",
             "n": 5, "f": -1.25, "ok": True}],
        ("plain", (("host", "h"),)): [
            {"time": (T0 + 2000) * 1000000, "s": "'single' = , quotes", "nested.a b.c,d": 1.5}],
    }


def test_type_conflict_keeps_good_points_and_dead_letters_the_rest(kafka, worker_factory,
                                                                   influxdb):
    recs = [{"id": i, "x": i} for i in range(10)]
    recs[4]["x"] = 4.5  # InfluxDB refuses: x is an integer field
    recs[7]["x"] = "seven"
    harness.produce(kafka.bootstrap, "conflict", recs)
    w = worker_factory(kafka.bootstrap)
    w.create("conflict-influx", sink_config(
        influxdb, "conflict", "conflict",
        **{"tag.fields": "id", "errors.tolerance": "all",
           "errors.deadletterqueue.topic.name": "dlq",
           "errors.deadletterqueue.topic.replication.factor": "1",
           "errors.deadletterqueue.context.headers.enable": "true"}))
    dead = harness.consume_all(kafka.bootstrap, "dlq", 2, timeout=30)
    assert sorted(json.loads(m.value())["id"] for m in dead) == [4, 7], w.logs()[-5000:]
    wait_points(w, influxdb, "conflict", 8)
    got = points(influxdb, "conflict", "SELECT x FROM conflict GROUP BY id")
    assert sorted((int(k[1][0][1]), v[0]["x"]) for k, v in got.items()) == [
        (i, i) for i in range(10) if i not in (4, 7)]
    assert w.status("conflict-influx")["tasks"][0]["state"] == "RUNNING"
    harness.wait_until(lambda: committed(kafka.bootstrap, "conflict-influx", "conflict", 1) == [10],
                       20, 0.3, "offsets committed")


def influxd_stop(influx):
    harness._stop_process(influx.proc)


def influxd_start(influx):
    """Starts the fixture's influxd again with the same config, data and port."""
    import subprocess
    influx.proc = subprocess.Popen(["influxd", "-config", f"{influx.dir}/influxdb.conf"],
                                   stdout=influx.log, stderr=subprocess.STDOUT)
    harness.wait_until(lambda: requests.get(influx.url + "/ping", timeout=1).status_code == 204,
                       30, 0.1, "influxd back")


def test_influxdb_down_for_20_s_mid_stream_leaves_no_gap(kafka, worker_factory, influxdb):
    def batch(start, n):
        return [{"seq": i, "ts": T0 + i, "v": i * 2} for i in range(start, start + n)]
    harness.produce(kafka.bootstrap, "outage", batch(0, 100))
    w = worker_factory(kafka.bootstrap)
    w.create("outage-influx", sink_config(influxdb, "outage", "outage",
                                          **{"event.time.fieldname": "ts",
                                             "errors.retry.delay.max.ms": "1000"}))
    wait_points(w, influxdb, "outage", 100)
    influxd_stop(influxdb)
    try:
        harness.produce(kafka.bootstrap, "outage", batch(100, 100))
        time.sleep(10)
        # nothing written, nothing committed past what InfluxDB acknowledged
        assert committed(kafka.bootstrap, "outage-influx", "outage", 1)[0] <= 100
        harness.produce(kafka.bootstrap, "outage", batch(200, 100))
        time.sleep(10)
        assert w.status("outage-influx")["tasks"][0]["state"] == "RUNNING"
        assert committed(kafka.bootstrap, "outage-influx", "outage", 1)[0] <= 100
    finally:
        influxd_start(influxdb)
    wait_points(w, influxdb, "outage", 300)
    got = points(influxdb, "outage", "SELECT * FROM outage")
    assert got[("outage", ())] == [{"time": (T0 + i) * 1000000, "seq": i, "v": i * 2}
                                   for i in range(300)]
    harness.wait_until(lambda: committed(kafka.bootstrap, "outage-influx", "outage", 1) == [300],
                       20, 0.3, "offsets committed")
    assert "cannot write to InfluxDB" in w.logs()
