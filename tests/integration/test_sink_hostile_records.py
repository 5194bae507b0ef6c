"""Hostile records into every kind of sink at once (FileStream, JDBC on Postgres and
MariaDB, InfluxDB, Snowflake), with errors.tolerance=all: garbage bytes, broken JSON, wrong
schema envelopes, numbers past int64 and double, odd and overlong field names, nested values,
long strings, tombstones (about 1.6 MB in all: the embedded broker keeps 5 MB of a partition).
No task fails, the worker keeps serving, and every record is accounted for in the JDBC sinks
(a row, a dead letter, or a tombstone skipped as delete.enabled is off) and in Snowflake (a row,
tombstones too, or a dead letter). Run against the ASan binary
(CONNECTD_BIN=build/asan/connectd), the harness also fails the test on any sanitizer report of
the worker, leaks included."""
import json
import random

from confluent_kafka import Consumer, TopicPartition

import harness

N = 400
NAMES = ["a", "b", "A", "ts", "time", 'x"; DROP TABLE t; --', "", " ", "é", "a.b", "value",
         "f" * 70, "Ünï", "col`tick", "trailing "]
SCALARS = [None, True, False, 0, -1, 2 ** 63, -2 ** 63 - 1, 10 ** 30, 1.5, -0.0, 1e308, "",
           "x", "a\tb\nc\\d\"e'", "é中", "🐄", "x" * 20000]
BROKEN = [b"{", b"[1,", b"nul", b'{"a":}', b"\xff\xfe", b'{"a":"\xc3\x28"}', b"1e99999",
          b'{"a":1,"a":2}', b"-", b""]


def hostile_json(rnd, depth=0):
    c = rnd.random()
    if depth > 3 or c < 0.3:
        return rnd.choice(SCALARS)
    if c < 0.6:
        return {rnd.choice(NAMES): hostile_json(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}
    return [hostile_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]


def hostile_record(rnd):
    c = rnd.random()
    if c < 0.1:
        return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 50)))
    if c < 0.2:
        return rnd.choice(BROKEN)
    if c < 0.3:
        return None  # a tombstone
    if c < 0.4:
        return json.dumps(hostile_json(rnd)).encode()
    return json.dumps({"a": hostile_json(rnd, 2), "b": hostile_json(rnd, 3),
                       "n": rnd.randint(-5, 5), rnd.choice(NAMES): hostile_json(rnd, 3),
                       "ts": rnd.choice([1767225600000, "2026-01-01T00:00:00Z", -1, None])}
                      ).encode()


def dead_letters(bootstrap, topic):
    """Messages in topic (one partition): its high watermark."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "count-" + topic})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def rows(db, sql):
    try:
        return db.query(sql)[0][0]
    except Exception:  # the table does not exist (yet)
        return 0


def test_hostile_records_never_fail_a_sink_and_every_one_is_accounted_for(
        postgres, mariadb, influxdb, snowflake_emu, dev_kafka, worker_factory, tmp_path):
    rnd = random.Random(20261202)
    values = [hostile_record(rnd) for _ in range(N)]
    w = worker_factory(dev_kafka.bootstrap)
    jdbc = {
        "pg": {"connection.url": postgres.url, "connection.user": "postgres"},
        "pgup": {"connection.url": postgres.url, "connection.user": "postgres",
                 "insert.mode": "upsert", "pk.mode": "kafka"},
        "my": {"connection.url": mariadb.url, "connection.user": mariadb.USER,
               "connection.password": mariadb.PASSWORD},
        "myup": {"connection.url": mariadb.url, "connection.user": mariadb.USER,
                 "connection.password": mariadb.PASSWORD, "insert.mode": "upsert",
                 "pk.mode": "kafka"},
    }
    sinks = {name: {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                    "auto.create": "true", "auto.evolve": "true",
                    "table.name.format": f"hostile_{name}", **c} for name, c in jdbc.items()}
    sinks["file"] = {"connector.class": "FileStreamSink", "file": str(tmp_path / "out.txt")}
    sinks["influx"] = {"connector.class": "io.connectd.influxdb.InfluxDbSinkConnector",
                       "influxdb.url": influxdb.url, "influxdb.db": "hostile",
                       "measurement.name.format": "m"}
    sinks["snowflake"] = {
        "connector.class": "com.snowflake.kafka.connector.SnowflakeSinkConnector",
        "snowflake.url.name": snowflake_emu.url,
        "snowflake.account.name": snowflake_emu.account.lower(),
        "snowflake.user.name": "kafka_user", "snowflake.private.key": snowflake_emu.private_pem,
        "snowflake.database.name": "INGEST", "snowflake.schema.name": "INGEST",
        "snowflake.role.name": "INGEST", "buffer.flush.time": "1"}
    dev_kafka.command("topic hostile 1")
    for name, conf in sinks.items():
        dev_kafka.command(f"topic dead-{name} 1")
        w.create(name, {"topics": "hostile", "errors.tolerance": "all",
                        "errors.deadletterqueue.topic.name": f"dead-{name}",
                        "errors.deadletterqueue.context.headers.enable": "true",
                        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                        "value.converter.schemas.enable": "false", **conf})
        w.wait_state(name, "RUNNING")
    harness.produce(dev_kafka.bootstrap, "hostile", values,
                    keys=[str(i).encode() for i in range(N)])
    tombstones = values.count(None) + values.count(b"null")  # JsonConverter: null either way

    def accounted():
        return {name: (rows(postgres if name.startswith("pg") else mariadb,
                            f"SELECT count(*) FROM hostile_{name}")
                       + dead_letters(dev_kafka.bootstrap, f"dead-{name}") + tombstones)
                for name in jdbc}
    last = {}
    try:
        harness.wait_until(lambda: last.update(accounted()) or set(last.values()) == {N}, 60,
                           0.5, "every record a row, a dead letter or a skipped tombstone")
    except AssertionError:
        detail = {name: (rows(postgres if name.startswith("pg") else mariadb,
                              f"SELECT count(*) FROM hostile_{name}"),
                         dead_letters(dev_kafka.bootstrap, f"dead-{name}"), tombstones)
                  for name in jdbc}
        assert last == {name: N for name in jdbc}, detail
    # Snowflake takes any JSON value (and a tombstone as an empty row): a row or a dead letter
    harness.wait_until(lambda: len(snowflake_emu.rows("INGEST.INGEST.HOSTILE"))
                       + dead_letters(dev_kafka.bootstrap, "dead-snowflake") == N, 30, 0.5,
                       "every record a Snowflake row or a dead letter")
    for name in sinks:
        task = w.status(name)["tasks"][0]
        assert task["state"] == "RUNNING", (name, task.get("trace"))
    # the file and InfluxDB sinks took their share too, and the worker still serves
    for name in ("file", "influx"):
        harness.wait_until(lambda: dead_letters(dev_kafka.bootstrap, f"dead-{name}") > 0, 30,
                           0.5, f"dead letters of {name}")
    assert (tmp_path / "out.txt").stat().st_size > 0
    harness.wait_until(lambda: influxdb.query("SELECT count(n) FROM m", db="hostile")
                       ["results"][0].get("series"), 30, 0.5, "points in InfluxDB")
    assert sorted(w.get("/connectors").json()) == sorted(sinks)
