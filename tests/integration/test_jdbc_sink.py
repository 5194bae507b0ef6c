"""JDBC sink (issue 4) against real Postgres and MariaDB: every insert.mode x pk.mode,
schemaless JSON with auto.create/auto.evolve, typed records, tombstones, hostile names and
values, exactly-once across kill -9, a database outage, and rejected records."""
import json
import os
import threading
import time

import psycopg2
import pymysql
import pytest

import harness

CLASS = "io.confluent.connect.jdbc.JdbcSinkConnector"


class DB:
    """One database under test: connector settings, identifier quoting, row queries."""

    def __init__(self, kind, srv):
        self.kind, self.srv = kind, srv
        if kind == "postgres":
            self.conf = {"connection.url": srv.url, "connection.user": "postgres"}
        else:
            self.conf = {"connection.url": srv.url, "connection.user": srv.USER,
                         "connection.password": srv.PASSWORD}

    def q(self, name):
        c = '"' if self.kind == "postgres" else "`"
        return c + name.replace(c, c + c) + c

    def exec(self, sql):
        self.srv.query(sql)

    def rows(self, sql):
        """Rows as a list of tuples, or None while the table does not exist yet."""
        try:
            return [tuple(r) for r in (self.srv.query(sql) or [])]
        except (psycopg2.Error, pymysql.Error):
            return None

    def columns(self, table):
        """{column: lower-case type} of table."""
        if self.kind == "postgres":
            rs = self.srv.query("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = %s", (table,))
        else:
            rs = self.srv.query("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                                "WHERE TABLE_SCHEMA = 'test' AND TABLE_NAME = %s", (table,))
        return {r[0]: r[1].lower() for r in rs}


@pytest.fixture(params=["postgres", "mariadb"])
def db(request):
    return DB(request.param, request.getfixturevalue(request.param))


def wait_rows(db, sql, expect, timeout=30):
    last = [None]

    def ok():
        last[0] = db.rows(sql)
        return last[0] == expect
    try:
        harness.wait_until(ok, timeout, 0.2, sql)
    except AssertionError:
        assert last[0] == expect  # shows the difference
    return last[0]


def sink(worker, db, name, topic, **cfg):
    conf = {"connector.class": CLASS, "topics": topic, **db.conf}
    conf.update({k.replace("_", "."): str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in cfg.items()})
    worker.create(name, conf)
    return name


def one_partition(kafka, *topics):
    """Creates topics with one partition (auto-created ones have several), so that the
    Kafka coordinates and the order of rows are known."""
    for t in topics:
        kafka.command(f"topic {t} 1")


def jkey(k):
    return json.dumps(k).encode()


def failed_trace(worker, name, timeout=30):
    s = worker.wait_task_state(name, "FAILED", timeout)
    return s["tasks"][0]["trace"]


# ------------------------------------------------------------------ modes


def test_every_insert_mode_and_pk_mode_writes_exact_rows(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    b = dev_kafka.bootstrap
    vals = [{"id": 1, "hr": 70}, {"id": 2, "hr": 80}, {"id": 1, "hr": 75}]
    keys = [jkey({"id": v["id"]}) for v in vals]
    combos = {
        "ins_none": dict(insert_mode="insert", pk_mode="none"),
        "ins_kafka": dict(insert_mode="insert", pk_mode="kafka"),
        "ins_rkey": dict(insert_mode="insert", pk_mode="record_key", pk_fields="id"),
        "ups_kafka": dict(insert_mode="upsert", pk_mode="kafka"),
        "ups_rkey": dict(insert_mode="upsert", pk_mode="record_key", pk_fields="id"),
        "ups_rval": dict(insert_mode="upsert", pk_mode="record_value", pk_fields="id"),
        "upd_rkey": dict(insert_mode="update", pk_mode="record_key", pk_fields="id"),
        "upd_rval": dict(insert_mode="update", pk_mode="record_value", pk_fields="id"),
    }
    for t in ("upd_rkey", "upd_rval"):  # update mode changes existing rows only
        db.exec(f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, hr BIGINT)")
        db.exec(f"INSERT INTO {t} VALUES (1, 0), (3, 30)")
    one_partition(dev_kafka, *combos)
    for t, cfg in combos.items():
        sink(w, db, "s_" + t, t, auto_create=True, **cfg)
        harness.produce(b, t, vals if t != "ins_rkey" else vals[:2], keys=keys)
    wait_rows(db, "SELECT id, hr FROM ins_none ORDER BY hr", [(1, 70), (1, 75), (2, 80)])
    wait_rows(db, "SELECT __connect_topic, __connect_partition, __connect_offset, id, hr "
                  "FROM ins_kafka ORDER BY 3",
              [("ins_kafka", 0, 0, 1, 70), ("ins_kafka", 0, 1, 2, 80), ("ins_kafka", 0, 2, 1, 75)])
    wait_rows(db, "SELECT id, hr FROM ins_rkey ORDER BY id", [(1, 70), (2, 80)])
    wait_rows(db, "SELECT __connect_offset, hr FROM ups_kafka ORDER BY 1", [(0, 70), (1, 80), (2, 75)])
    wait_rows(db, "SELECT id, hr FROM ups_rkey ORDER BY id", [(1, 75), (2, 80)])
    wait_rows(db, "SELECT id, hr FROM ups_rval ORDER BY id", [(1, 75), (2, 80)])
    wait_rows(db, "SELECT id, hr FROM upd_rkey ORDER BY id", [(1, 75), (3, 30)])
    wait_rows(db, "SELECT id, hr FROM upd_rval ORDER BY id", [(1, 75), (3, 30)])
    cols = db.columns("ins_kafka")
    assert set(cols) == {"__connect_topic", "__connect_partition", "__connect_offset", "id", "hr"}
    for t in combos:
        assert w.status("s_" + t)["tasks"][0]["state"] == "RUNNING"


def test_fields_whitelist_writes_only_the_listed_fields(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    sink(w, db, "wl", "wl_t", auto_create=True, insert_mode="upsert", pk_mode="record_value",
         pk_fields="id", fields_whitelist="hr,spo2")
    harness.produce(dev_kafka.bootstrap, "wl_t",
                    [{"id": 7, "hr": 61, "spo2": 98, "name": "secret patient", "temp": 36.6}])
    wait_rows(db, "SELECT id, hr, spo2 FROM wl_t", [(7, 61, 98)])
    assert set(db.columns("wl_t")) == {"id", "hr", "spo2"}


def test_bad_settings_are_config_errors_naming_the_key(worker):
    def errors(**cfg):
        conf = {"connector.class": "JdbcSinkConnector", "name": "v", "topics": "t",
                "connection.url": "jdbc:postgresql://127.0.0.1:1/x"}
        conf.update({k.replace("_", "."): v for k, v in cfg.items()})
        body = worker.put("/connector-plugins/JdbcSinkConnector/config/validate", conf).json()
        return {c["value"]["name"]: c["value"]["errors"] for c in body["configs"]
                if c["value"]["errors"]}
    assert errors() == {}
    assert "connection.url" in errors(connection_url="jdbc:oracle:thin:@h:1521:x")
    assert "pk.mode" in errors(insert_mode="upsert")
    assert "insert.mode" in errors(insert_mode="merge")
    assert "delete.enabled" in errors(delete_enabled="true", pk_mode="record_value")
    assert "db.timezone" in errors(db_timezone="Mars/Olympus")
    assert "batch.size" in errors(batch_size="many")
    r = worker.post("/connectors", {"name": "bad", "config": {
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "t",
        "connection.url": "jdbc:postgresql://127.0.0.1:1/x", "insert.mode": "update"}})
    assert r.status_code == 400 and "pk.mode" in r.json()["message"]


def test_upsert_keeps_latest_and_tombstone_deletes(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    sink(w, db, "cows-sink", "cowstate", insert_mode="upsert", pk_mode="record_key",
         pk_fields="cow_id", delete_enabled=True, auto_create=True)
    vals = [{"name": "Berta", "weight": 500}, {"name": "Clara", "weight": 610},
            {"name": "Berta", "weight": 512}, None, {"name": "Dora", "weight": 450},
            {"name": "Dora", "weight": 455}]
    keys = [jkey(k) for k in ("c1", "c2", "c1", "c2", "c3", "c3")]
    harness.produce(dev_kafka.bootstrap, "cowstate", vals, keys=keys)
    wait_rows(db, "SELECT cow_id, name, weight FROM cowstate ORDER BY cow_id",
              [("c1", "Berta", 512), ("c3", "Dora", 455)])
    harness.produce(dev_kafka.bootstrap, "cowstate", [None], keys=[jkey("c1")])
    wait_rows(db, "SELECT cow_id FROM cowstate ORDER BY cow_id", [("c3",)])


# ------------------------------------------------------------------ schemaless, typed


def test_schemaless_seed_shapes_create_and_evolve_tables(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    b = dev_kafka.bootstrap
    one_partition(dev_kafka, "cows", "measurements")
    sink(w, db, "raw", "cows,measurements", auto_create=True, auto_evolve=True,
         table_name_format="raw_${topic}")
    harness.produce(b, "cows", [
        {"cow_id": 1, "name": "Berta", "birthdate": "2019-04-01", "note": None},
        {"cow_id": 2, "name": "Clara", "birthdate": "2020-02-11", "note": None}])
    harness.produce(b, "measurements", [
        {"sensor_id": "s1", "cow_id": 1, "timestamp": 1700000000000, "value": 72},
        {"sensor_id": "s1", "cow_id": 1, "timestamp": 1700000001000, "value": 72.5},
        {"sensor_id": "s2", "cow_id": 2, "timestamp": 1700000002000, "value": 38,
         "unit": "C", "tags": {"site": "barn"}}])
    wait_rows(db, "SELECT cow_id, name, birthdate FROM raw_cows ORDER BY cow_id",
              [(1, "Berta", "2019-04-01"), (2, "Clara", "2020-02-11")])
    m = wait_rows(db, "SELECT sensor_id, cow_id, timestamp, value, unit FROM raw_measurements "
                      "ORDER BY timestamp",
                  [("s1", 1, 1700000000000, 72.0, None), ("s1", 1, 1700000001000, 72.5, None),
                   ("s2", 2, 1700000002000, 38.0, "C")])
    assert m
    cows = db.columns("raw_cows")
    assert "note" not in cows  # only nulls so far: no column
    assert cows["cow_id"] in ("bigint", "bigint(20)") and cows["name"] in ("text", "longtext")
    meas = db.columns("raw_measurements")
    assert meas["value"] in ("double precision", "double")  # widened from BIGINT
    assert meas["tags"] in ("jsonb", "longtext")
    tags = db.rows("SELECT tags FROM raw_measurements WHERE unit = 'C'")[0][0]
    assert (tags if isinstance(tags, dict) else json.loads(tags)) == {"site": "barn"}
    # a value finally shows the null-only field's type: the column appears
    harness.produce(b, "cows", [{"cow_id": 3, "name": "Dora", "note": "lame"}])
    wait_rows(db, "SELECT cow_id, note FROM raw_cows ORDER BY cow_id",
              [(1, None), (2, None), (3, "lame")])
    # a field of another type is a clear error naming field, column and topic coordinates
    harness.produce(b, "cows", [{"cow_id": "four", "name": "Emma"}])
    trace = failed_trace(w, "raw")
    assert "field 'cow_id' holds a string value but column raw_cows.cow_id is of type int64" in trace
    assert "topic cows, partition 0, offset 3" in trace


def test_typed_records_map_to_typed_columns(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    sink(w, db, "typed", "vit", auto_create=True, pk_mode="record_value", pk_fields="id",
         insert_mode="upsert",
         **{"value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "true"})
    schema = {"type": "struct", "name": "vital", "fields": [
        {"field": "id", "type": "int32", "optional": False},
        {"field": "small", "type": "int16", "optional": True},
        {"field": "hr", "type": "double", "optional": True},
        {"field": "ok", "type": "boolean", "optional": True},
        {"field": "who", "type": "string", "optional": True},
        {"field": "raw", "type": "bytes", "optional": True},
        {"field": "day", "type": "int32", "optional": True, "name": "org.apache.kafka.connect.data.Date"},
        {"field": "at", "type": "int64", "optional": True, "name": "org.apache.kafka.connect.data.Timestamp"}]}
    payloads = [
        {"id": 1, "small": 7, "hr": 72.5, "ok": True, "who": "p1", "raw": "AAH/",
         "day": 19723, "at": 1704112496789},
        {"id": 2, "small": None, "hr": None, "ok": None, "who": None, "raw": None, "day": None,
         "at": None}]
    harness.produce(dev_kafka.bootstrap, "vit", [{"schema": schema, "payload": p} for p in payloads])
    rows = harness.wait_until(lambda: (db.rows("SELECT count(*) FROM vit") or [(0,)])[0][0] == 2
                              and db.rows("SELECT id, small, hr, ok, who, raw, day, at FROM vit ORDER BY id"),
                              30, 0.2, "typed rows")
    import datetime
    assert rows[0][:5] == (1, 7, 72.5, True if db.kind == "postgres" else 1, "p1")
    assert bytes(rows[0][5]) == b"\x00\x01\xff"
    assert rows[0][6] == datetime.date(2024, 1, 1)
    assert rows[0][7] == datetime.datetime(2024, 1, 1, 12, 34, 56, 789000)
    assert rows[1] == (2, None, None, None, None, None, None, None)
    cols = db.columns("vit")
    if db.kind == "postgres":
        assert cols == {"id": "integer", "small": "smallint", "hr": "double precision",
                        "ok": "boolean", "who": "text", "raw": "bytea", "day": "date",
                        "at": "timestamp without time zone"}
    else:
        assert cols == {"id": "int(11)", "small": "smallint(6)", "hr": "double",
                        "ok": "tinyint(1)", "who": "longtext", "raw": "longblob", "day": "date",
                        "at": "datetime(3)"}


def test_hostile_names_and_values_arrive_byte_exact(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    evil = 'x"; DROP TABLE t; --'
    tick = "a`b"
    values = ["quote ' and \" and `", "back\\slash \\N \\\\", "tab\there", "new\nline\r\n",
              "unicode ünïcødé 🐄 中文", "", "x" * 500_000]
    sink(w, db, "evil", "evil", auto_create=True, auto_evolve=True)
    harness.produce(dev_kafka.bootstrap, "evil",
                    [{"i": i, evil: v, tick: v[:10]} for i, v in enumerate(values)])
    got = harness.wait_until(
        lambda: (db.rows("SELECT count(*) FROM evil") or [(0,)])[0][0] == len(values)
        and db.rows(f"SELECT i, {db.q(evil)}, {db.q(tick)} FROM evil ORDER BY i"), 30, 0.2, "rows")
    assert got == [(i, v, v[:10]) for i, v in enumerate(values)]
    assert db.rows("SELECT count(*) FROM evil") == [(len(values),)]


# ------------------------------------------------------------------ seed pipelines

CONFIGS = os.path.join(harness.ROOT, "configs")


def seed_config(name, url, user, password):
    """configs/NAME with the database address of the test server."""
    with open(os.path.join(CONFIGS, name)) as f:
        c = json.load(f)
    c["config"].update({"connection.url": url, "connection.user": user,
                        "connection.password": password})
    return c


def test_seed_001_raw_layer_lands_in_mysql_exactly(mariadb, dev_kafka, worker_factory):
    """Seed 001's consumer_seeder.sh: topics cows, sensors, measurements -> MySQL raw layer."""
    mariadb.query("CREATE DATABASE IF NOT EXISTS raw")
    url = f"jdbc:mysql://127.0.0.1:{mariadb.port}/raw"
    w = worker_factory(dev_kafka.bootstrap)
    for t in ("cows", "sensors", "measurements"):
        c = seed_config(f"seed-001-mysql-raw-{t}.json", url, mariadb.USER, mariadb.PASSWORD)
        w.create(c["name"], c["config"])
    cows = [{"cow_id": "c-001", "name": "Berta", "birthdate": "2019-04-01"},
            {"cow_id": "c-002", "name": "Clara", "birthdate": "2020-02-11"}]
    sensors = [{"sensor_id": "s-01", "unit": "L"}, {"sensor_id": "s-02", "unit": "kg"}]
    meas = [{"sensor_id": "s-01", "cow_id": "c-001", "timestamp": 1700000000.0, "value": 12},
            {"sensor_id": "s-02", "cow_id": "c-001", "timestamp": 1700000060.5, "value": 512.5},
            {"sensor_id": "s-01", "cow_id": "c-002", "timestamp": 1700000120.0, "value": 9.75}]
    b = dev_kafka.bootstrap
    harness.produce(b, "cows", cows, keys=[c["cow_id"].encode() for c in cows])
    harness.produce(b, "sensors", sensors)
    harness.produce(b, "measurements", meas)
    raw = DB("mariadb", mariadb)
    wait_rows(raw, "SELECT cow_id, name, birthdate FROM raw.cows ORDER BY cow_id",
              [("c-001", "Berta", "2019-04-01"), ("c-002", "Clara", "2020-02-11")])
    wait_rows(raw, "SELECT sensor_id, unit FROM raw.sensors ORDER BY sensor_id",
              [("s-01", "L"), ("s-02", "kg")])
    wait_rows(raw, "SELECT sensor_id, cow_id, timestamp, value FROM raw.measurements "
                   "ORDER BY timestamp",
              [("s-01", "c-001", 1700000000.0, 12.0), ("s-02", "c-001", 1700000060.5, 512.5),
               ("s-01", "c-002", 1700000120.0, 9.75)])
    rs = mariadb.query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE "
                       "TABLE_SCHEMA = 'raw' AND TABLE_NAME = 'measurements'")
    assert dict(rs)["value"] == "double"  # 12 first, then 512.5: widened
    # exactly-once: the next offset of every partition is stored with the rows
    stored = mariadb.query("SELECT connector, topic, SUM(next_offset) FROM raw.connectd_offsets "
                           "GROUP BY connector, topic ORDER BY connector")
    assert [(c, t, int(n)) for c, t, n in stored] == [
        ("seed-001-raw-cows", "cows", 2), ("seed-001-raw-measurements", "measurements", 3),
        ("seed-001-raw-sensors", "sensors", 2)]


def test_mysql_without_local_infile_falls_back_to_insert(mariadb, dev_kafka, worker_factory):
    """Insert mode loads batches with LOAD DATA LOCAL; a server that refuses it still gets
    every row, by multi-row INSERT."""
    root = pymysql.connect(unix_socket=mariadb.sock, user="root", autocommit=True)
    try:
        root.cursor().execute("SET GLOBAL local_infile = 0")
        db = DB("mariadb", mariadb)
        w = worker_factory(dev_kafka.bootstrap)
        one_partition(dev_kafka, "noload")
        sink(w, db, "noload", "noload", auto_create=True)
        values = [{"i": i, "s": f"tab\there {i}", "n": None if i % 3 else i / 2} for i in range(50)]
        harness.produce(dev_kafka.bootstrap, "noload", values)
        wait_rows(db, "SELECT count(*) FROM noload", [(50,)])
        assert db.rows("SELECT i, s, n FROM noload ORDER BY i") == \
            [(v["i"], v["s"], v["n"]) for v in values]
        assert "LOAD DATA LOCAL refused" in w.logs()
    finally:
        root.cursor().execute("SET GLOBAL local_infile = 1")
        root.close()


def test_seed_003_predictions_upsert_by_kafka_coordinates(postgres, dev_kafka, worker_factory):
    """Seed 003's db-consumer: the API's predictions -> Postgres, one row per Kafka record."""
    if not postgres.query("SELECT 1 FROM pg_database WHERE datname = 'predictions'"):
        c = postgres.connect()  # CREATE DATABASE cannot run in psycopg2's `with` transaction
        c.cursor().execute("CREATE DATABASE predictions")
        c.close()
    url = f"jdbc:postgresql://127.0.0.1:{postgres.port}/predictions"
    one_partition(dev_kafka, "predictions")
    w = worker_factory(dev_kafka.bootstrap)
    c = seed_config("seed-003-postgres-predictions.json", url, "postgres", "unused")
    w.create(c["name"], c["config"])
    preds = [{"text": "This product is terrible!", "summary": "Product review",
              "sentiment": "negative", "score": 0.97},
             {"text": "Love it, works as \"advertised\"", "summary": None,
              "sentiment": "positive", "score": 0.88}]
    harness.produce(dev_kafka.bootstrap, "predictions", preds)
    import psycopg2
    conn = psycopg2.connect(**dict(postgres.dsn, dbname="predictions"))
    conn.autocommit = True

    def rows():
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT __connect_topic, __connect_partition, __connect_offset, "
                            "text, summary, sentiment, score FROM predictions ORDER BY 3")
            except psycopg2.Error:
                return None
            return cur.fetchall()
    want = [("predictions", 0, 0, preds[0]["text"], "Product review", "negative", 0.97),
            ("predictions", 0, 1, preds[1]["text"], None, "positive", 0.88)]
    try:
        harness.wait_until(lambda: rows() == want, 30, 0.2, "prediction rows")
    finally:
        got = rows()
        conn.close()
    assert got == want


# ------------------------------------------------------------------ faults


def test_rejected_record_fails_the_task_with_its_coordinates(db, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    db.exec("CREATE TABLE strict_t (id BIGINT NOT NULL, code VARCHAR(5) NOT NULL)")
    one_partition(dev_kafka, "strict_t")
    sink(w, db, "strict", "strict_t")
    harness.produce(dev_kafka.bootstrap, "strict_t",
                    [{"id": 1, "code": "ok"}, {"id": 2, "code": "fine"}, {"id": 3, "code": "far too long"}])
    trace = failed_trace(w, "strict")
    assert "topic strict_t, partition 0, offset 2" in trace
    assert "strict_t" in trace
    assert ("value too long" in trace) if db.kind == "postgres" else ("Data too long" in trace)


def test_refused_rows_go_to_the_dead_letter_queue_with_tolerance_all(db, dev_kafka,
                                                                     worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    db.exec("CREATE TABLE dlq_t (id BIGINT NOT NULL, code VARCHAR(5) NOT NULL)")
    one_partition(dev_kafka, "dlq_t", "dlq_t_dead")
    sink(w, db, "tolerant", "dlq_t", errors_tolerance="all",
         **{"errors.deadletterqueue.topic.name": "dlq_t_dead",
            "errors.deadletterqueue.context.headers.enable": "true"})
    values = [{"id": 1, "code": "ok"}, {"id": 2, "code": "far too long"},  # database refuses
              {"id": 3, "code": "fine"}, {"id": "four", "code": "ok"},    # no such column type
              {"id": 5, "code": "last"}]
    harness.produce(dev_kafka.bootstrap, "dlq_t", values)
    wait_rows(db, "SELECT id, code FROM dlq_t ORDER BY id", [(1, "ok"), (3, "fine"), (5, "last")])
    # mapping failures are found before the write, database refusals during it: order by offset
    dead = sorted(harness.consume_all(dev_kafka.bootstrap, "dlq_t_dead", 2),
                  key=lambda m: int(dict(m.headers())["__connect.errors.offset"]))
    assert [json.loads(m.value()) for m in dead] == [values[1], values[3]]
    hdrs = [dict(m.headers()) for m in dead]
    assert [h["__connect.errors.offset"] for h in hdrs] == [b"1", b"3"]
    too_long = hdrs[0]["__connect.errors.exception.message"].decode()
    assert "table dlq_t" in too_long
    assert ("value too long" in too_long) if db.kind == "postgres" else ("Data too long" in too_long)
    assert "field 'id' holds a string value" in hdrs[1]["__connect.errors.exception.message"].decode()
    assert w.status("tolerant")["tasks"][0]["state"] == "RUNNING"


def test_names_no_column_or_table_can_have_are_rejected_at_once(db, dev_kafka, worker_factory):
    """Postgres cuts names to 63 bytes (the column would then never be found by its full name,
    and every retry would add it again); MySQL refuses over 64 characters, a trailing space
    and characters beyond U+FFFF. Such a record is rejected like a refused row: to the DLQ
    with tolerance all, else the task fails at once, not after max.retries of DDL."""
    w = worker_factory(dev_kafka.bootstrap)
    long_topic = "t" * 70
    one_partition(dev_kafka, "names_t", "names_dead", long_topic)
    sink(w, db, "names", f"names_t,{long_topic}", auto_create=True, auto_evolve=True,
         errors_tolerance="all", **{"errors.deadletterqueue.topic.name": "names_dead",
                                    "errors.deadletterqueue.context.headers.enable": "true"})
    bad = [{"id": 2, "f" * 70: 1}, {"id": 3, "": 1}]
    if db.kind == "mariadb":
        bad += [{"id": 4, "trailing ": 1}, {"id": 5, "cow🐄": 1}]
    ok_wide = {"id": 6, "g" * 60: 1}  # within both limits
    harness.produce(dev_kafka.bootstrap, "names_t", [{"id": 1}, *bad, ok_wide, {"id": 7}])
    wait_rows(db, "SELECT id FROM names_t ORDER BY id", [(1,), (6,), (7,)])
    harness.produce(dev_kafka.bootstrap, long_topic, [{"id": 8}])
    dead = harness.consume_all(dev_kafka.bootstrap, "names_dead", len(bad) + 1)
    msgs = {json.loads(m.value())["id"]: dict(m.headers())["__connect.errors.exception.message"]
            .decode() for m in dead}
    assert sorted(msgs) == [b["id"] for b in bad] + [8]
    limit = "Postgres cuts names to 63 bytes" if db.kind == "postgres" else "MySQL allows 64"
    assert f"field '{'f' * 70}' cannot be a column of table names_t" in msgs[2]
    assert limit in msgs[2] and "ReplaceField" in msgs[2]
    assert "field '' cannot be a column of table names_t: its name is empty" in msgs[3]
    if db.kind == "mariadb":
        assert "ends with a space" in msgs[4] and "beyond U+FFFF" in msgs[5]
    assert f"the name '{long_topic}' (from table.name.format)" in msgs[8] and limit in msgs[8]
    assert db.columns("names_t").keys() == {"id", "g" * 60}
    assert w.status("names")["tasks"][0]["state"] == "RUNNING"

    one_partition(dev_kafka, "names_strict")
    sink(w, db, "strict_names", "names_strict", auto_create=True)
    harness.produce(dev_kafka.bootstrap, "names_strict", [{"id": 1, "h" * 70: 1}])
    trace = failed_trace(w, "strict_names", timeout=10)  # max.retries x 3 s would be 30 s
    assert "topic names_strict, partition 0, offset 0" in trace and limit in trace


def test_a_record_without_values_is_still_a_row(db, dev_kafka, worker_factory):
    """{} and {"x": null} are events too: in insert mode each is a row of NULLs (they were
    dropped without a word). Before any value has shown a column type there is no table to put
    it in, and the task says so instead of dropping it."""
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "hollow", "hollow_first")
    sink(w, db, "hollow", "hollow", auto_create=True, auto_evolve=True)
    harness.produce(dev_kafka.bootstrap, "hollow",
                    [{"id": 1}, {}, {"never_seen": None}, {"id": None}, {"id": 5}])
    wait_rows(db, "SELECT id FROM hollow ORDER BY id", [(None,), (None,), (None,), (1,), (5,)]
              if db.kind == "mariadb" else [(1,), (5,), (None,), (None,), (None,)])
    assert db.columns("hollow").keys() == {"id"}
    sink(w, db, "hollow_first", "hollow_first", auto_create=True)
    harness.produce(dev_kafka.bootstrap, "hollow_first", [{"x": None}])
    trace = failed_trace(w, "hollow_first", timeout=10)
    assert "topic hollow_first, partition 0, offset 0" in trace
    assert "no field with a value, and table hollow_first does not exist yet" in trace


def test_unquoted_identifiers_fold_and_never_run_a_field_name_as_sql(db, dev_kafka,
                                                                    worker_factory):
    """quote.sql.identifiers=never leaves plain names unquoted (Postgres folds HeartRate to
    heartrate, and later records must find that column), but a name that is not plain is
    still quoted: unquoted, this field would create a table of its own."""
    w = worker_factory(dev_kafka.bootstrap)
    evil = "b int; CREATE TABLE pwned (x int); --"
    one_partition(dev_kafka, "Unq")
    sink(w, db, "unq", "Unq", auto_create=True, auto_evolve=True,
         **{"quote.sql.identifiers": "never"})
    recs = [{"id": 1}, {"id": 2, "HeartRate": 70, evil: "e"}, {"id": 3, "HeartRate": 71},
            {"id": 4, "HeartRate": 72, evil: "f"}]
    harness.produce(dev_kafka.bootstrap, "Unq", recs)
    table = "unq" if db.kind == "postgres" else "Unq"
    hr = "heartrate" if db.kind == "postgres" else "HeartRate"
    wait_rows(db, f"SELECT id, {db.q(hr)}, {db.q(evil)} FROM {db.q(table)} ORDER BY id",
              [(1, None, None), (2, 70, "e"), (3, 71, None), (4, 72, "f")])
    assert db.columns(table).keys() == {"id", hr, evil}
    assert db.rows("SELECT 1 FROM pwned") is None
    assert w.status("unq")["tasks"][0]["state"] == "RUNNING"


@pytest.mark.parametrize("bad,eos", [(7, False), (4321, True), (12345, False)],
                         ids=["early_at_least_once", "late_exactly_once", "at_the_row_limit"])
def test_a_refused_row_in_a_copy_spanning_puts_costs_only_itself(db, dev_kafka,
                                                                 worker_factory, bad, eos):
    """Insert mode writes several puts in one transaction (here up to 15 puts of 1000
    records, ended by its row limit or when no more records come; one COPY on Postgres, one
    LOAD DATA on MySQL): when the database refuses one row, every record of that
    transaction is written again and the refused one goes to the dead letter queue; the
    others land once each, also those of the put whose rows reached the limit and ended the
    transaction (at_the_row_limit)."""
    import re
    t = f"span_{bad}"
    n = 20000
    w = worker_factory(dev_kafka.bootstrap)
    db.exec(f"CREATE TABLE {t} (id BIGINT NOT NULL, code VARCHAR(5) NOT NULL)")
    one_partition(dev_kafka, t, t + "_dead")
    values = [{"id": i, "code": "far too long" if i == bad else "ok"} for i in range(n)]
    harness.produce(dev_kafka.bootstrap, t, values)  # all there before the sink starts
    sink(w, db, t, t, batch_size=1000, errors_tolerance="all",
         exactly_once_enabled=eos, **{"errors.deadletterqueue.topic.name": t + "_dead",
                                      "errors.deadletterqueue.context.headers.enable": "true"})
    wait_rows(db, f"SELECT count(*), count(DISTINCT id), sum(id) FROM {t}",
              [(n - 1, n - 1, n * (n - 1) // 2 - bad)], timeout=60)
    dead = harness.consume_all(dev_kafka.bootstrap, t + "_dead", 1)
    assert [json.loads(m.value()) for m in dead] == [values[bad]]
    assert dict(dead[0].headers())["__connect.errors.offset"] == str(bad).encode()
    failed = [int(x) for x in re.findall(r"writing (\d+) records failed", w.logs())]
    assert failed and max(failed) > 1000, failed  # the transaction held more than one put
    if eos:
        assert db.rows(f"SELECT next_offset FROM connectd_offsets WHERE connector = '{t}'") \
            == [(n,)]
    assert w.status(t)["tasks"][0]["state"] == "RUNNING"


def test_bytes_that_start_mid_stream_land_byte_exact(db, dev_kafka, worker_factory):
    """Insert mode, a bytes field null in the first records and set later: on MySQL the
    transaction the first puts opened streams one LOAD DATA, which binary values cannot join,
    so it is given up (the task reconnects) and its records written again with INSERT, as
    are the later ones. Every row lands once, the bytes exact."""
    import base64
    t, n = "blobs", 6000
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, t)
    schema = {"type": "struct", "name": "blob", "fields": [
        {"field": "id", "type": "int32", "optional": False},
        {"field": "raw", "type": "bytes", "optional": True}]}
    raw = [None if i < 2500 else bytes([i % 256, 0, 255, i // 256 % 256]) for i in range(n)]
    harness.produce(dev_kafka.bootstrap, t, [
        {"schema": schema, "payload": {"id": i, "raw": None if r is None else
                                       base64.b64encode(r).decode()}}
        for i, r in enumerate(raw)])
    sink(w, db, t, t, auto_create=True, batch_size=500,
         **{"value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "true"})
    wait_rows(db, f"SELECT count(*), count(DISTINCT id), count(raw) FROM {t}",
              [(n, n, n - 2500)], timeout=60)
    got = {i: None if r is None else bytes(r) for i, r in db.rows(f"SELECT id, raw FROM {t}")}
    assert got == dict(enumerate(raw))
    assert w.status(t)["tasks"][0]["state"] == "RUNNING"
    if db.kind == "mariadb":  # the records were all there: the first puts came together
        assert "binary values cannot join LOAD DATA" in w.logs()


def test_unreachable_database_fails_after_max_retries(dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    port = harness.free_port()
    w.create("nodb", {"connector.class": CLASS, "topics": "nodb",
                      "connection.url": f"jdbc:postgresql://127.0.0.1:{port}/x",
                      "connection.password": "hush-hush", "max.retries": "1",
                      "retry.backoff.ms": "100", "connection.attempts": "1"})
    harness.produce(dev_kafka.bootstrap, "nodb", [{"a": 1}])
    trace = failed_trace(w, "nodb")
    assert "failed after 1 retries" in trace and "cannot connect to Postgres" in trace
    assert "hush-hush" not in trace and "hush-hush" not in w.logs()


def test_password_in_connection_url_never_reaches_logs_or_traces(postgres, mariadb, dev_kafka,
                                                                 worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    for logger in ("root", "connectd.task", "connectd.connector", "connectd.rest"):
        assert w.put(f"/admin/loggers/{logger}", {"level": "TRACE"}).status_code == 200
    down = harness.free_port()
    # name -> (connection.url with a password in it, the secret, what the trace must name)
    cases = {
        "pw-pg-down": (f"jdbc:postgresql://127.0.0.1:{down}/salesdb?user=alice"
                       "&password=PgParamSecret-1&sslmode=disable",
                       "PgParamSecret-1", ["127.0.0.1", "salesdb", "Connection refused"]),
        "pw-pg-nodb": (f"postgresql://postgres:PgUserinfoSecret-2@127.0.0.1:{postgres.port}"
                       "/nosuchdb",
                       "PgUserinfoSecret-2", ["nosuchdb", "does not exist"]),
        "pw-my-wrong": (f"jdbc:mysql://{mariadb.USER}:MyUserinfoSecret-3@127.0.0.1:"
                        f"{mariadb.port}/test",
                        "MyUserinfoSecret-3", ["127.0.0.1", "/test", "Access denied"]),
        "pw-my-param": (f"jdbc:mariadb://127.0.0.1:{mariadb.port}/test?user={mariadb.USER}"
                        "&password=MyParamSecret-4",
                        "MyParamSecret-4", ["127.0.0.1", "/test", "Access denied"]),
    }
    for name, (url, _, _) in cases.items():
        w.create(name, {"connector.class": CLASS, "topics": "pwtopic", "connection.url": url,
                        "max.retries": "1", "retry.backoff.ms": "100",
                        "connection.attempts": "2", "connection.backoff.ms": "100"})
    harness.produce(dev_kafka.bootstrap, "pwtopic", [{"a": 1}])
    traces = {name: failed_trace(w, name) for name in cases}
    statuses = {name: json.dumps(w.status(name)) for name in cases}
    logs = w.logs()
    for name, (url, secret, named) in cases.items():
        for part in named:
            assert part in traces[name], (name, part, traces[name])
        assert secret not in statuses[name], name
        assert secret not in logs, name
    # the URL is shown in the log, its password masked
    assert "password=****" in logs and f"{mariadb.USER}:****@127.0.0.1" in logs
    assert "postgres:****@127.0.0.1" in logs


def _producer_thread(bootstrap, topic, n, rate_per_batch=500, pause=0.05, quota=None):
    """Produces {"seq": i} for i in range(n) in batches, in the background; with quota (a
    one-element list), never more than quota[0] records until the caller raises it."""
    def run():
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
        for i in range(n):
            while quota is not None and i >= quota[0]:
                p.flush(10)
                time.sleep(0.05)
            p.produce(topic, key=str(i % 7).encode(), value=json.dumps({"seq": i, "pad": "v" * 40}))
            if i % rate_per_batch == rate_per_batch - 1:
                p.flush(10)
                time.sleep(pause)
        assert p.flush(30) == 0
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_pause_resume_and_a_second_task_mid_stream_keep_rows_exact(db, dev_kafka,
                                                                  worker_factory):
    """Insert mode leaves a transaction open across puts (one COPY on Postgres): pausing ends
    it (no row arrives while paused), and resuming, then going to two tasks mid-stream (the
    task restarts, partitions move between the two) leaves exactly the produced rows with
    exactly-once, and the stored offsets at the end of the stream."""
    w = worker_factory(dev_kafka.bootstrap)
    topic, n = f"mid_{db.kind}", 20000
    dev_kafka.command(f"topic {topic} 4")
    conf = {"connector.class": CLASS, "topics": topic, **db.conf, "tasks.max": "1",
            "auto.create": "true", "exactly.once.enabled": "true"}
    w.create(topic, conf)
    prod = _producer_thread(dev_kafka.bootstrap, topic, n, rate_per_batch=100, pause=0.05)

    def count():
        return (db.rows(f"SELECT count(*) FROM {db.q(topic)}") or [(0,)])[0][0]
    harness.wait_until(lambda: count() > 2000, 30, 0.05, "rows before the pause")
    assert w.put(f"/connectors/{topic}/pause").status_code == 202
    w.wait_state(topic, "PAUSED")
    time.sleep(1.5)  # what was put before the pause is committed by then
    paused_at = count()
    time.sleep(1.5)
    assert count() == paused_at < n
    assert w.put(f"/connectors/{topic}/resume").status_code == 202
    harness.wait_until(lambda: count() > paused_at + 1000, 30, 0.05, "rows after resuming")
    assert w.put(f"/connectors/{topic}/config", {**conf, "tasks.max": "2"}).status_code == 200
    w.wait_state(topic, "RUNNING", tasks=2)
    prod.join(60)
    wait_rows(db, f"SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM {db.q(topic)}",
              [(n, n, 0, n - 1)], timeout=60)
    stored = db.rows(f"SELECT sum(next_offset) FROM connectd_offsets WHERE connector = '{topic}'")
    assert int(stored[0][0]) == n


def test_exactly_once_survives_kill9_and_at_least_once_has_no_gap(db, worker_factory):
    k = harness.DevKafka(topics=("eos:3",))
    try:
        w = worker_factory(k.bootstrap)
        sink(w, db, "eos", "eos", auto_create=True, exactly_once_enabled=True,
             table_name_format="eos_exact")
        sink(w, db, "alo", "eos", auto_create=True, table_name_format="eos_alo")
        # upsert by Kafka coordinates (seed 003's way): the records replayed after each kill
        # meet their keys in the table (on Postgres the optimistic COPY fails and they are
        # upserted), and the table still holds each record once
        sink(w, db, "ups", "eos", auto_create=True, table_name_format="eos_ups",
             insert_mode="upsert", pk_mode="kafka")
        n = 10000
        # The stream is released a quarter at a time, one more quarter after each restart, so
        # that every kill lands before the end of the stream however long a restart takes.
        quota = [n // 4]
        prod = _producer_thread(k.bootstrap, "eos", n, rate_per_batch=250, pause=0.25,
                                quota=quota)

        def count():
            return (db.rows("SELECT count(*) FROM eos_exact") or [(0,)])[0][0]
        seen = 0
        for _ in range(3):
            # the restarted worker makes progress before it is killed again
            harness.wait_until(lambda: count() > seen, 30, 0.1, "progress")
            time.sleep(0.5)
            w.kill9()
            seen = count()
            assert seen < n, "the stream ended before the kill"
            w.start()
            quota[0] += n // 4
        prod.join(60)
        try:
            wait_rows(db, "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) "
                          "FROM eos_exact", [(n, n, 0, n - 1)], timeout=60)
            wait_rows(db, "SELECT count(DISTINCT seq), min(seq), max(seq) FROM eos_alo",
                      [(n, 0, n - 1)], timeout=60)
            wait_rows(db, "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) "
                          "FROM eos_ups", [(n, n, 0, n - 1)], timeout=60)
        except AssertionError:
            print(w.status("eos"), w.status("alo"), w.status("ups"), w.logs()[-20000:])
            raise
        stored = db.rows("SELECT sum(next_offset) FROM connectd_offsets WHERE connector = 'eos'")
        assert [(int(stored[0][0]),)] == [(n,)]
    finally:
        k.stop()


@pytest.mark.parametrize("eos", [False, True], ids=["at_least_once", "exactly_once"])
def test_postgres_down_20s_mid_stream_loses_nothing_and_never_fails(postgres, dev_kafka,
                                                                    worker_factory, eos):
    """No gap in either mode; with exactly-once also no duplicate: the table holds each
    produced record once and connectd_offsets the next offset."""
    db = DB("postgres", postgres)
    w = worker_factory(dev_kafka.bootstrap)
    name = "outage_eos" if eos else "outage"
    if eos:
        one_partition(dev_kafka, name)
    sink(w, db, name, name, auto_create=True, exactly_once_enabled=eos, retry_backoff_ms=500,
         max_retries=20, connection_attempts=1, connection_backoff_ms=200,
         errors_retry_delay_max_ms=2000)
    n = 6000
    # a first part before the outage, the rest during it: a sink that keeps pace with the
    # producer would otherwise be done before the outage starts
    quota = [1000]
    prod = _producer_thread(dev_kafka.bootstrap, name, n, rate_per_batch=100, pause=0.05,
                            quota=quota)

    def count():
        return (db.rows(f"SELECT count(*) FROM {name}") or [(0,)])[0][0]
    harness.wait_until(lambda: count() > 0, 30, 0.1, "progress")
    before = count()
    postgres.stop()
    quota[0] = n
    states = set()
    end = time.time() + 20
    while time.time() < end:
        states.add(w.status(name)["tasks"][0]["state"])
        time.sleep(0.5)
    postgres.start()
    prod.join(60)
    try:
        wait_rows(db, f"SELECT count(DISTINCT seq), min(seq), max(seq) FROM {name}",
                  [(n, 0, n - 1)], timeout=60)
        total = count()
        if eos:
            assert total == n, f"{total - n} duplicate rows"
        else:
            assert total >= n
    except AssertionError:
        print(w.status(name), w.logs()[-20000:])
        raise
    states.add(w.status(name)["tasks"][0]["state"])
    assert states == {"RUNNING"}
    assert before < n, "the stream ended before the outage"
    assert "attempt" in w.logs()  # the outage was noticed and retried
    if eos:
        assert db.rows("SELECT next_offset FROM connectd_offsets WHERE connector = "
                       f"'{name}'") == [(n,)]


def test_mariadb_down_mid_stream_exactly_once_loses_nothing_duplicates_nothing(
        mariadb, dev_kafka, worker_factory):
    db = DB("mariadb", mariadb)
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "myoutage")
    sink(w, db, "myoutage", "myoutage", auto_create=True, exactly_once_enabled=True,
         retry_backoff_ms=500, max_retries=20, connection_attempts=1,
         connection_backoff_ms=200, errors_retry_delay_max_ms=2000)
    n = 6000
    quota = [1000]  # the rest arrives during the outage, as in the Postgres test
    prod = _producer_thread(dev_kafka.bootstrap, "myoutage", n, rate_per_batch=100, pause=0.05,
                            quota=quota)

    def count():
        return (db.rows("SELECT count(*) FROM myoutage") or [(0,)])[0][0]
    harness.wait_until(lambda: count() > 0, 30, 0.1, "progress")
    before = count()
    mariadb.stop()
    quota[0] = n
    states = set()
    end = time.time() + 10
    while time.time() < end:
        states.add(w.status("myoutage")["tasks"][0]["state"])
        time.sleep(0.5)
    mariadb.start()
    prod.join(60)
    try:
        wait_rows(db, "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM myoutage",
                  [(n, n, 0, n - 1)], timeout=60)
    except AssertionError:
        print(w.status("myoutage"), w.logs()[-20000:])
        raise
    states.add(w.status("myoutage")["tasks"][0]["state"])
    assert states == {"RUNNING"}
    assert before < n, "the stream ended before the outage"
    assert "attempt" in w.logs()  # the outage was noticed and retried
    assert db.rows("SELECT next_offset FROM connectd_offsets WHERE connector = 'myoutage'") == \
        [(n,)]


def test_exactly_once_offsets_of_a_connector_named_with_a_quote(postgres, dev_kafka,
                                                               worker_factory):
    """Postgres insert mode leaves each batch in flight while the next is mapped; the offsets
    upsert then travels as literal SQL in the same query as the COPY, so a connector name with a
    quote must arrive exactly, and batches behind one another must all land once."""
    db = DB("postgres", postgres)
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "quoted")
    name = "o'brien-eos"
    sink(w, db, name, "quoted", auto_create=True, exactly_once_enabled=True, batch_size=50,
         table_name_format="quoted_t")
    w.wait_state(name, "RUNNING")
    harness.produce(dev_kafka.bootstrap, "quoted",
                    [{"seq": i, "who": "o'brien"} for i in range(500)])
    wait_rows(db, "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM quoted_t",
              [(500, 500, 0, 499)])
    wait_rows(db, "SELECT connector, topic, partition, next_offset FROM connectd_offsets "
                  "WHERE topic = 'quoted'", [(name, "quoted", 0, 500)])
    assert db.rows("SELECT count(*) FROM quoted_t WHERE who = 'o''brien'") == [(500,)]


def test_a_tolerated_record_reaches_the_dead_letter_queue_once_across_retries(
        postgres, dev_kafka, worker_factory):
    """The batch holding a record that cannot be mapped is written again while the database
    is down; the record goes to the dead letter queue once, not once per attempt."""
    db = DB("postgres", postgres)
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "once", "once_dead")
    sink(w, db, "once", "once", auto_create=True, errors_tolerance="all", retry_backoff_ms=300,
         max_retries=50, connection_attempts=1, connection_backoff_ms=100,
         errors_retry_delay_max_ms=500, **{"errors.deadletterqueue.topic.name": "once_dead"})
    harness.produce(dev_kafka.bootstrap, "once", [{"id": 1}])
    wait_rows(db, "SELECT id FROM once", [(1,)])
    postgres.stop()
    harness.produce(dev_kafka.bootstrap, "once", [{"id": "not a number"}, {"id": 3}])
    time.sleep(4)  # several attempts, each mapping the batch again
    postgres.start()
    wait_rows(db, "SELECT id FROM once ORDER BY id", [(1,), (3,)], timeout=60)
    assert "attempt" in w.logs()
    dead = harness.consume_all(dev_kafka.bootstrap, "once_dead", 2, timeout=8)
    assert [json.loads(m.value()) for m in dead] == [{"id": "not a number"}]
