"""The sink task's loop, seen from outside: a record that comes alone is put at once."""
import statistics
import time

from confluent_kafka import Producer

import harness


def test_a_record_that_comes_alone_is_put_without_waiting_for_another_poll(dev_kafka,
                                                                           worker_factory,
                                                                           tmp_path):
    """The task converts batch N+1 while it puts batch N. A lone record's batch used to wait
    for the next poll to time out (100 ms) before its put, whatever the connector. The mock
    broker holds an empty fetch for all of fetch.wait.max.ms, so the consumer's is short here,
    as a real broker answers as soon as a record comes."""
    w = worker_factory(dev_kafka.bootstrap, extra={"consumer.fetch.wait.max.ms": "5"})
    out = tmp_path / "out.txt"
    w.create("alone", {"connector.class": "FileStreamSink", "topics": "lines", "file": str(out),
                       "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    p = Producer({"bootstrap.servers": dev_kafka.bootstrap, "linger.ms": 0})

    def lines():
        return out.read_text().splitlines() if out.exists() else []

    p.produce("lines", value="warm-up")  # the first one waits for the group's assignment
    assert p.flush(10) == 0
    harness.wait_until(lambda: lines() == ["warm-up"], 30, 0.01, "the warm-up line")
    waits = []
    for i in range(10):
        time.sleep(0.2)  # the task is idle, polling
        p.produce("lines", value=f"r{i}")
        assert p.flush(10) == 0
        t0 = time.monotonic()
        harness.wait_until(lambda: len(lines()) == i + 2, 10, 0.001, f"line r{i}")
        waits.append(time.monotonic() - t0)
    assert lines() == ["warm-up"] + [f"r{i}" for i in range(10)]
    # before: every one of them waited at least the 100 ms poll; now a few ms
    assert statistics.median(waits) < 0.05, [f"{x * 1000:.0f} ms" for x in waits]
