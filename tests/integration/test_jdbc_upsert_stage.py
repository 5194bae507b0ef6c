"""JDBC sink, Postgres upsert through a stage table (issue 4's upsert speed-up): a batch of
64 rows or more is COPYed into a session temp table (pg_temp.cd_stage_N) and moved into the
table with one INSERT ... SELECT ... ON CONFLICT. Each test produces its records before the
connector starts, so that they arrive in big batches, and checks both the exact rows and the
stage tables the connector's session holds. The stage is for keys the table may hold
already: optimistic upserts (a COPY while the keys are new, test_jdbc_upsert_optimistic.py)
are off here, as the tests' new keys would not need it."""
import json

import pytest

import harness
from test_jdbc_sink import CLASS, DB, jkey, one_partition, wait_rows


@pytest.fixture
def pg(postgres):
    """Postgres with no tables: the server is the module's and a rerun reuses names."""
    for (t,) in postgres.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
        postgres.query(f'DROP TABLE "{t}" CASCADE')
    postgres.query("DROP ROLE IF EXISTS notemp")
    return DB("postgres", postgres)


def upsert_sink(worker, pg, name, topic, **cfg):
    conf = {"connector.class": CLASS, "topics": topic, "insert.mode": "upsert",
            "auto.create": "true", "upsert.optimistic": "false", **pg.conf}
    conf.update({k.replace("_", "."): str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in cfg.items()})
    worker.create(name, conf)


def produce_batch(bootstrap, topic, values, keys=None):
    """Produces values (JSON, None = tombstone) in one produce request, so that the sink
    fetches them in one piece and gets them in one put (staged) rather than in pieces.
    The topic's metadata comes first: messages produced before it is known wait unassigned,
    and flush (which sends at once, linger or not) could then send the first of them while
    the rest are still being assigned, as two batches (seen in CI under load)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2000,
                  "batch.num.messages": 100000})
    md = p.list_topics(topic, timeout=10)
    assert md.topics[topic].partitions, md.topics[topic].error
    for i, v in enumerate(values):
        p.produce(topic, value=None if v is None else json.dumps(v).encode(),
                  key=keys[i] if keys else None)
    assert p.flush(30) == 0


def stages(pg, column):
    """The connector sessions' stage tables that have a column named column: a list of
    [(column, type), ...] in column order, one per stage table."""
    rs = pg.rows("SELECT c.oid::bigint, a.attname, format_type(a.atttypid, a.atttypmod) "
                 "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                 "AND NOT a.attisdropped WHERE c.relpersistence = 't' AND c.relname LIKE "
                 "'cd\\_stage\\_%' ORDER BY c.oid, a.attnum") or []
    by = {}
    for oid, col, typ in rs:
        by.setdefault(oid, []).append((col, typ))
    return [cols for cols in by.values() if column in [c for c, _ in cols]]


def test_upsert_stage_follows_auto_evolve_mid_stream(pg, dev_kafka, worker_factory):
    """A new field and a widened number mid-stream: the stage is made again with the table's
    new columns and types, and rows of the old and the new shape in one batch both land."""
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "evo_up")
    first = ([{"id": i, "v": i} for i in range(100)] +
             [{"id": i, "v": 1000 + i} for i in range(50)])
    produce_batch(dev_kafka.bootstrap, "evo_up", first)
    upsert_sink(w, pg, "evo-up", "evo_up", pk_mode="record_value", pk_fields="id",
                auto_evolve=True)
    wait_rows(pg, "SELECT id, v FROM evo_up ORDER BY id",
              [(i, 1000 + i if i < 50 else i) for i in range(100)])
    assert stages(pg, "v") == [[("id", "bigint"), ("v", "bigint")]], w.logs()[-6000:]
    # old shape for 70 rows, then a new field and a fractional number for 80 more
    second = ([{"id": i, "v": 2000 + i} for i in range(70)] +
              [{"id": i, "v": i + 0.5, "note": f"n{i}"} for i in range(70, 150)])
    produce_batch(dev_kafka.bootstrap, "evo_up", second)
    wait_rows(pg, "SELECT id, v, note FROM evo_up ORDER BY id",
              [(i, 2000.0 + i, None) for i in range(70)] +
              [(i, i + 0.5, f"n{i}") for i in range(70, 150)])
    assert pg.columns("evo_up") == {"id": "bigint", "v": "double precision", "note": "text"}
    # the new shape's stage has the table's new types and the (id, v BIGINT) one is gone
    # (the old-shape rows went through a stage made again with v DOUBLE when they shared a put
    # with new-shape rows, or through the old stage when a put ended before the change)
    st = stages(pg, "v")
    assert [("id", "bigint"), ("v", "double precision"), ("note", "text")] in st
    assert [dict(cols)["v"] for cols in st] == ["double precision"] * len(st)


@pytest.mark.parametrize("tolerance", ["none", "all"])
def test_upsert_stage_batch_with_refused_rows_reports_them(pg, dev_kafka, worker_factory,
                                                           tolerance):
    """A NULL for a NOT NULL column (the stage has no constraints: the INSERT ... SELECT fails)
    and a too long value (the COPY into the stage fails): the rows are found one by one as
    before; the task fails naming the first, or with errors.tolerance=all both go to the DLQ
    and every other row of the batch is written."""
    w = worker_factory(dev_kafka.bootstrap)
    table = f"refuse_{tolerance}"
    pg.exec(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, code VARCHAR(5) NOT NULL)")
    one_partition(dev_kafka, table, table + "_dead")
    values = [{"id": i, "code": f"c{i}"} for i in range(100)]
    values[30] = {"id": 30, "code": None}
    values[57] = {"id": 57, "code": "far too long"}
    produce_batch(dev_kafka.bootstrap, table, values)
    extra = {}
    if tolerance == "all":
        extra = {"errors.tolerance": "all", "errors.deadletterqueue.topic.name": table + "_dead",
                 "errors.deadletterqueue.context.headers.enable": "true"}
    upsert_sink(w, pg, table, table, pk_mode="record_value", pk_fields="id", **extra)
    if tolerance == "none":
        trace = w.wait_task_state(table, "FAILED")["tasks"][0]["trace"]
        assert f"topic {table}, partition 0, offset 30" in trace
        assert "null value in column \"code\"" in trace
        # rows of batches before the one that failed may be in, none from offset 30 on
        rows = pg.rows(f"SELECT id, code FROM {table} ORDER BY id")
        assert len(rows) < 30 and rows == [(i, f"c{i}") for i in range(len(rows))]
        return
    wait_rows(pg, f"SELECT id, code FROM {table} ORDER BY id",
              [(i, f"c{i}") for i in range(100) if i not in (30, 57)])
    dead = sorted(harness.consume_all(dev_kafka.bootstrap, table + "_dead", 2),
                  key=lambda m: int(dict(m.headers())["__connect.errors.offset"]))
    assert [json.loads(m.value()) for m in dead] == [values[30], values[57]]
    msgs = [dict(m.headers())["__connect.errors.exception.message"].decode() for m in dead]
    assert "null value in column \"code\"" in msgs[0] and "value too long" in msgs[1]
    assert stages(pg, "code") == [[("id", "bigint"), ("code", "character varying(5)")]]
    assert w.status(table)["tasks"][0]["state"] == "RUNNING"


def test_upsert_stage_is_made_again_after_postgres_restarts(pg, postgres, dev_kafka,
                                                            worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "restart_up")
    produce_batch(dev_kafka.bootstrap, "restart_up", [{"id": i, "r": i} for i in range(300)])
    upsert_sink(w, pg, "restart-up", "restart_up", pk_mode="record_value", pk_fields="id",
                retry_backoff_ms=300, max_retries=30, connection_attempts=1,
                connection_backoff_ms=200)
    wait_rows(pg, "SELECT id, r FROM restart_up ORDER BY id", [(i, i) for i in range(300)])
    assert stages(pg, "r") == [[("id", "bigint"), ("r", "bigint")]]
    postgres.stop()
    postgres.start()
    assert stages(pg, "r") == []  # the session and its temp tables are gone
    # the first write finds the connection dead, reconnects and makes the stage again
    produce_batch(dev_kafka.bootstrap, "restart_up",
                  [{"id": i, "r": 500 + i} for i in range(150, 450)])
    wait_rows(pg, "SELECT id, r FROM restart_up ORDER BY id",
              [(i, i if i < 150 else 500 + i) for i in range(450)])
    assert stages(pg, "r") == [[("id", "bigint"), ("r", "bigint")]]
    assert w.status("restart-up")["tasks"][0]["state"] == "RUNNING"


def test_upsert_stage_hostile_names_and_values_arrive_byte_exact(pg, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    evil_key, evil = 'k"; DROP TABLE t; --', 'x"\tcol'
    values = ["quote ' and \" and `", "back\\slash \\N \\\\", "tab\there", "new\nline\r\n",
              "unicode ünïcødé 🐄 中文", ""]
    recs = [{evil_key: f"key\t{i}\\", evil: values[i % len(values)] + str(i)}
            for i in range(300)]
    recs += [{evil_key: f"key\t{i}\\", evil: "again\n" + str(i)} for i in range(0, 300, 2)]
    one_partition(dev_kafka, "evil_up")
    produce_batch(dev_kafka.bootstrap, "evil_up", recs)
    upsert_sink(w, pg, "evil-up", "evil_up", pk_mode="record_value", pk_fields=evil_key)
    expect = sorted((f"key\t{i}\\", ("again\n" + str(i)) if i % 2 == 0
                     else values[i % len(values)] + str(i)) for i in range(300))

    def arrived(expect):
        got = harness.wait_until(
            lambda: (pg.rows("SELECT count(*) FROM evil_up") or [(0,)])[0][0] == 300 and
            sorted(pg.rows(f"SELECT {pg.q(evil_key)}, {pg.q(evil)} FROM evil_up") or []) == expect
            and expect, 30, 0.2, "rows")
        assert got == expect
    arrived(expect)
    staged = [[(evil_key, "text"), (evil, "text")]]
    assert stages(pg, evil) == staged, w.logs()[-6000:]


def test_upsert_stage_of_key_columns_only_does_nothing_on_conflict(pg, dev_kafka,
                                                                   worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "keys_up")
    produce_batch(dev_kafka.bootstrap, "keys_up", [{"a": i % 10, "b": i} for i in range(100)] * 2)
    upsert_sink(w, pg, "keys-up", "keys_up", pk_mode="record_value", pk_fields="a,b")
    wait_rows(pg, "SELECT a, b FROM keys_up ORDER BY b", [(i % 10, i) for i in range(100)])
    # 70 keys already there (nothing to do) and 70 new ones
    produce_batch(dev_kafka.bootstrap, "keys_up",
                  [{"a": i % 10, "b": i} for i in range(70)] +
                  [{"a": 99, "b": i} for i in range(70)])
    wait_rows(pg, "SELECT a, b FROM keys_up ORDER BY a, b",
              sorted([(i % 10, i) for i in range(100)] + [(99, i) for i in range(70)]))
    assert stages(pg, "b") == [[("a", "bigint"), ("b", "bigint")]]


def test_upsert_stage_used_twice_in_one_batch_holds_only_the_second_segment(
        pg, dev_kafka, worker_factory):
    """Upserts, tombstones for all of them, upserts again: three segments in one batch (one
    transaction), the first and the last through the same stage, which must be emptied in
    between or the deleted rows would come back."""
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "twice_up")
    keys = [jkey(f"k{i}") for i in range(100)]
    produce_batch(dev_kafka.bootstrap, "twice_up",
                  [{"n": i} for i in range(100)] + [None] * 100 +
                  [{"n": 1000 + i} for i in range(70)],
                  keys=keys + keys + keys[:70])
    upsert_sink(w, pg, "twice-up", "twice_up", pk_mode="record_key", pk_fields="k",
                delete_enabled=True)
    wait_rows(pg, "SELECT k, n FROM twice_up ORDER BY n",
              [(f"k{i}", 1000 + i) for i in range(70)])


def test_upsert_stage_writes_exactly_once_offsets_with_the_rows(pg, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "eos_up")
    produce_batch(dev_kafka.bootstrap, "eos_up", [{"id": i % 100, "n": i} for i in range(300)])
    upsert_sink(w, pg, "eos-up", "eos_up", pk_mode="record_value", pk_fields="id",
                exactly_once_enabled=True)
    wait_rows(pg, "SELECT id, n FROM eos_up ORDER BY id", [(i, 200 + i) for i in range(100)])
    wait_rows(pg, "SELECT topic, \"partition\", next_offset FROM connectd_offsets "
                  "WHERE connector = 'eos-up'", [("eos_up", 0, 300)])
    assert stages(pg, "n") == [[("id", "bigint"), ("n", "bigint")]]


def test_upsert_without_temporary_privilege_uses_multi_row_insert(pg, postgres, dev_kafka,
                                                                  worker_factory):
    """A user who may not create temp tables still upserts (no stage, the multi-row INSERT)."""
    pg.exec("CREATE ROLE notemp LOGIN")  # (the pg fixture drops it first)
    pg.exec("CREATE TABLE notemp_up (id BIGINT PRIMARY KEY, s TEXT)")
    pg.exec("GRANT ALL ON notemp_up TO notemp")
    pg.exec("REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC")
    try:
        w = worker_factory(dev_kafka.bootstrap)
        one_partition(dev_kafka, "notemp_up")
        produce_batch(dev_kafka.bootstrap, "notemp_up",
                      [{"id": i % 100, "s": f"s{i}"} for i in range(200)])
        upsert_sink(w, pg, "notemp-up", "notemp_up", pk_mode="record_value", pk_fields="id",
                    auto_create=False, **{"connection.user": "notemp"})
        wait_rows(pg, "SELECT id, s FROM notemp_up ORDER BY id",
                  [(i, f"s{100 + i}") for i in range(100)])
        assert stages(pg, "s") == []
        assert "no TEMPORARY privilege" in w.logs()
    finally:
        pg.exec("GRANT TEMPORARY ON DATABASE postgres TO PUBLIC")
