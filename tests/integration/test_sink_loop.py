"""The sink task's loop, seen from outside: a record that comes alone is written at once.

The mock broker holds an empty fetch for all of fetch.wait.max.ms, so the consumers' is short
here, as a real broker answers as soon as a record comes."""
import statistics
import time

from confluent_kafka import Producer

import harness

FAST_FETCH = {"consumer.fetch.wait.max.ms": "5"}


def lone_record_waits(bootstrap, topic, arrived, n=10):
    """Produces n records one at a time, each once the sink is idle, and returns how long
    each took to arrive (arrived(k): the k-th record and those before it are there)."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    p.produce(topic, value='{"i": -1}')  # the first one waits for the group's assignment
    assert p.flush(10) == 0
    harness.wait_until(lambda: arrived(0), 30, 0.01, "the warm-up record")
    waits = []
    for i in range(n):
        time.sleep(0.2)  # the task is idle, polling
        p.produce(topic, value=f'{{"i": {i}}}')
        assert p.flush(10) == 0
        t0 = time.monotonic()
        harness.wait_until(lambda: arrived(i + 1), 10, 0.001, f"record {i}")
        waits.append(time.monotonic() - t0)
    return waits


def test_a_record_that_comes_alone_is_put_without_waiting_for_another_poll(dev_kafka,
                                                                           worker_factory,
                                                                           tmp_path):
    """The task converts batch N+1 while it puts batch N. A lone record's batch used to wait
    for the next poll to time out (100 ms) before its put, whatever the connector."""
    w = worker_factory(dev_kafka.bootstrap, extra=FAST_FETCH)
    out = tmp_path / "out.txt"
    w.create("alone", {"connector.class": "FileStreamSink", "topics": "lines", "file": str(out),
                       "value.converter": "org.apache.kafka.connect.storage.StringConverter"})

    def lines():
        return out.read_text().splitlines() if out.exists() else []

    waits = lone_record_waits(dev_kafka.bootstrap, "lines", lambda k: len(lines()) == k + 1)
    assert lines() == ['{"i": -1}'] + [f'{{"i": {i}}}' for i in range(10)]
    # before: every one of them waited at least the 100 ms poll; now a few ms
    assert statistics.median(waits) < 0.05, [f"{x * 1000:.0f} ms" for x in waits]


def test_a_lone_row_ends_its_copy_soon_after_the_stream_pauses(postgres, dev_kafka,
                                                               worker_factory):
    """Insert mode keeps a COPY open across puts and ends it in the put that comes when a poll
    brings nothing. After records, that poll waits 10 ms instead of 100, so a row that came
    alone is committed about 15 ms after its produce (105 ms before)."""
    w = worker_factory(dev_kafka.bootstrap, extra=FAST_FETCH)
    w.create("lone", {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
                      "topics": "lines", "connection.url": postgres.url,
                      "connection.user": "postgres", "auto.create": "true",
                      "table.name.format": "lone_rows", "value.converter.schemas.enable": "false",
                      "value.converter": "org.apache.kafka.connect.json.JsonConverter"})
    c = postgres.connect()
    c.autocommit = True
    cur = c.cursor()

    def rows():
        try:
            cur.execute("SELECT i FROM lone_rows ORDER BY i")
            return [r[0] for r in cur.fetchall()]
        except Exception:  # not created yet
            return []

    waits = lone_record_waits(dev_kafka.bootstrap, "lines", lambda k: len(rows()) == k + 1)
    assert rows() == list(range(-1, 10))
    c.close()
    assert statistics.median(waits) < 0.06, [f"{x * 1000:.0f} ms" for x in waits]
