"""JDBC sink, Postgres optimistic upsert (issue 4's upsert speed-up, upsert.optimistic): while
the keys are new to the table, upserts go in as insert mode's COPY across puts; a COPY that
meets a key already there is rolled back and its records upserted with ON CONFLICT through
the stage. The tests check the exact rows, whether the stage was needed, and, at DEBUG, the
connector's own account of each fallback."""
import harness
from test_jdbc_sink import failed_trace, one_partition, wait_rows
from test_jdbc_upsert_stage import pg, produce_batch, stages  # noqa: F401
from test_jdbc_upsert_stage import upsert_sink as stage_sink

FALLBACK = "records failed, upserting them"


def upsert_sink(worker, pg, name, topic, **cfg):  # noqa: F811
    """As the stage tests', with upsert.optimistic at its default."""
    stage_sink(worker, pg, name, topic, **{"upsert_optimistic": True, **cfg})


def debug_logs(w):
    assert w.put("/admin/loggers/connectd.connector", {"level": "DEBUG"}).status_code == 200


def test_new_keys_by_copy_known_keys_by_on_conflict(pg, dev_kafka, worker_factory):  # noqa: F811
    """1000 new keys (no stage: COPY), then 1000 of which 500 are known (the COPY fails, all of
    them are upserted through the stage), then 1000 new keys again: the latest value per key."""
    w = worker_factory(dev_kafka.bootstrap)
    debug_logs(w)
    one_partition(dev_kafka, "opt_up")
    produce_batch(dev_kafka.bootstrap, "opt_up", [{"id": i, "n": i} for i in range(1000)])
    upsert_sink(w, pg, "opt-up", "opt_up", pk_mode="record_value", pk_fields="id",
                batch_size=250)
    wait_rows(pg, "SELECT count(*), sum(n) FROM opt_up", [(1000, sum(range(1000)))])
    assert stages(pg, "n") == [] and FALLBACK not in w.logs()
    produce_batch(dev_kafka.bootstrap, "opt_up",
                  [{"id": i, "n": 10000 + i} for i in range(500, 1500)])
    produce_batch(dev_kafka.bootstrap, "opt_up",
                  [{"id": i, "n": i} for i in range(1500, 2500)])
    expect = [(i, 10000 + i if 500 <= i < 1500 else i) for i in range(2500)]
    wait_rows(pg, "SELECT id, n FROM opt_up ORDER BY id", expect)
    assert stages(pg, "n") == [[("id", "bigint"), ("n", "bigint")]]
    assert FALLBACK in w.logs() and "Key (id)=(500) already exists" in w.logs()
    assert "failed, writing them again" not in w.logs()  # a fallback is no warning
    assert w.status("opt-up")["tasks"][0]["state"] == "RUNNING"


def test_keys_repeating_across_puts_keep_the_latest(pg, dev_kafka, worker_factory):  # noqa: F811
    """6000 records over 250 keys, puts of 500: every put after the first meets keys the table
    holds. One row per key, with its last value, whichever way each put went."""
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "rep_up")
    harness.produce(dev_kafka.bootstrap, "rep_up",
                    [{"id": i % 250, "n": i, "s": f"v{i}"} for i in range(6000)])
    upsert_sink(w, pg, "rep-up", "rep_up", pk_mode="record_value", pk_fields="id",
                batch_size=500)
    wait_rows(pg, "SELECT id, n, s FROM rep_up ORDER BY id",
              [(i, 5750 + i, f"v{5750 + i}") for i in range(250)], timeout=60)
    assert w.status("rep-up")["tasks"][0]["state"] == "RUNNING"


def test_composite_key_in_another_order_and_exactly_once(pg, dev_kafka, worker_factory):  # noqa: F811
    """A user's table whose primary key lists the key columns in another order (ON CONFLICT
    takes it, so the COPY may too), with exactly-once: rows and stored offsets match after new
    keys and after known ones."""
    pg.exec("CREATE TABLE comp_up (b TEXT, a BIGINT, v TEXT, PRIMARY KEY (b, a))")
    w = worker_factory(dev_kafka.bootstrap)
    debug_logs(w)
    one_partition(dev_kafka, "comp_up")
    produce_batch(dev_kafka.bootstrap, "comp_up",
                  [{"a": i, "b": f"b{i % 3}", "v": f"x{i}"} for i in range(300)])
    upsert_sink(w, pg, "comp-up", "comp_up", pk_mode="record_value", pk_fields="a,b",
                auto_create=False, exactly_once_enabled=True)
    wait_rows(pg, "SELECT count(*) FROM comp_up", [(300,)])
    wait_rows(pg, "SELECT next_offset FROM connectd_offsets WHERE connector = 'comp-up'",
              [(300,)])
    assert stages(pg, "v") == []
    produce_batch(dev_kafka.bootstrap, "comp_up",
                  [{"a": i, "b": f"b{i % 3}", "v": f"y{i}"} for i in range(100, 400)])
    wait_rows(pg, "SELECT a, b, v FROM comp_up ORDER BY a",
              [(i, f"b{i % 3}", f"x{i}" if i < 100 else f"y{i}") for i in range(400)])
    wait_rows(pg, "SELECT next_offset FROM connectd_offsets WHERE connector = 'comp-up'",
              [(600,)])
    assert FALLBACK in w.logs()


def test_table_without_unique_key_is_refused_not_duplicated(pg, dev_kafka,  # noqa: F811
                                                           worker_factory):
    """A user's table with no unique index on the key columns (only one on a part of them):
    ON CONFLICT cannot upsert into it, and a COPY would add a second row for a key. The task
    fails as without the optimistic path, and the table keeps its one row per key."""
    pg.exec("CREATE TABLE nokey_up (id BIGINT, k TEXT, n BIGINT)")
    pg.exec("CREATE UNIQUE INDEX nokey_up_id ON nokey_up (id)")
    pg.exec("INSERT INTO nokey_up VALUES (1, 'a', 0)")
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "nokey_up")
    produce_batch(dev_kafka.bootstrap, "nokey_up",
                  [{"id": i, "k": "b", "n": i} for i in range(2, 200)])
    upsert_sink(w, pg, "nokey-up", "nokey_up", pk_mode="record_value", pk_fields="id,k",
                auto_create=False, max_retries=0)
    trace = failed_trace(w, "nokey-up")
    assert "no unique or exclusion constraint matching the ON CONFLICT" in trace
    assert pg.rows("SELECT id, k, n FROM nokey_up") == [(1, "a", 0)]


def test_optimistic_off_always_goes_through_the_stage(pg, dev_kafka, worker_factory):  # noqa: F811
    w = worker_factory(dev_kafka.bootstrap)
    one_partition(dev_kafka, "off_up")
    produce_batch(dev_kafka.bootstrap, "off_up", [{"id": i, "n": i} for i in range(200)])
    upsert_sink(w, pg, "off-up", "off_up", pk_mode="record_value", pk_fields="id",
                upsert_optimistic=False)
    wait_rows(pg, "SELECT count(*), sum(n) FROM off_up", [(200, sum(range(200)))])
    assert stages(pg, "n") == [[("id", "bigint"), ("n", "bigint")]]
