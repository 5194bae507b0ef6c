"""kill -9 of the worker mid-pipeline: nothing is lost, connectors come back in their target
states from the Kafka topics alone (Kafka lives in its own dev-kafka process)."""
import threading
import time

from harness import read_lines, wait_until

STRING = "org.apache.kafka.connect.storage.StringConverter"


def dedupe_replays(lines):
    """At-least-once output with replays removed: the first occurrence of each line."""
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def writer(path, total, stop):
    with open(path, "a") as f:
        for i in range(total):
            f.write(f"line-{i:06d}\n")
            f.flush()
            if i % 200 == 0:
                time.sleep(0.02)
            if stop.is_set():
                break


def test_kill9_mid_stream_loses_nothing(dev_kafka, worker_factory, tmp_path):
    w = worker_factory(dev_kafka.bootstrap)
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    w.create("src", {"connector.class": "FileStreamSource", "file": str(src), "topic": "lines",
                     "value.converter": STRING, "batch.size": "100"})
    w.create("snk", {"connector.class": "FileStreamSink", "file": str(out), "topics": "lines",
                     "value.converter": STRING})
    w.create("parked", {"connector.class": "FileStreamSink", "file": str(tmp_path / "p.txt"),
                        "topics": "lines2", "value.converter": STRING})
    w.wait_state("snk", "RUNNING")
    assert w.put("/connectors/parked/pause").status_code == 202
    w.wait_state("parked", "PAUSED")

    total = 20000
    stop = threading.Event()
    t = threading.Thread(target=writer, args=(src, total, stop))
    t.start()
    wait_until(lambda: len(read_lines(out)) > 3000, 60, what="data flowing")
    w.kill9()
    t.join()

    w2 = worker_factory(dev_kafka.bootstrap, workdir=w.dir)
    w2.wait_state("src", "RUNNING")
    w2.wait_state("snk", "RUNNING")
    w2.wait_state("parked", "PAUSED")
    assert sorted(w2.get("/connectors").json()) == ["parked", "snk", "src"]

    want = [f"line-{i:06d}" for i in range(total)]
    wait_until(lambda: len(dedupe_replays(read_lines(out))) == total, 120,
               what="every line in the output")
    assert dedupe_replays(read_lines(out)) == want  # one partition: in order
    assert read_lines(tmp_path / "p.txt") == []


def test_standalone_keeps_rest_connectors(worker_factory, tmp_path, dev_kafka):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("a\nb\n")
    w = worker_factory(dev_kafka.bootstrap, mode="standalone")
    w.create("src", {"connector.class": "FileStreamSource", "file": str(src), "topic": "lines",
                     "value.converter": STRING})
    w.create("snk", {"connector.class": "FileStreamSink", "file": str(out), "topics": "lines",
                     "value.converter": STRING})
    wait_until(lambda: read_lines(out) == ["a", "b"], 60, what="standalone pipeline")
    assert w.stop() == 0

    with open(src, "a") as f:
        f.write("c\n")
    w2 = worker_factory(dev_kafka.bootstrap, mode="standalone", workdir=w.dir)
    assert sorted(w2.get("/connectors").json()) == ["snk", "src"]
    wait_until(lambda: read_lines(out) == ["a", "b", "c"], 60,
               what="offsets kept: only the new line is read again")


def test_a_sink_to_dev_null_commits_its_offsets(dev_kafka, worker_factory):
    """fsync of /dev/null fails with EINVAL: there is nothing to make durable, so flushing
    succeeds and the offsets are committed (a benchmark's null sink, a smoke test)."""
    import harness
    w = worker_factory(dev_kafka.bootstrap, extra={"offset.flush.interval.ms": "200"})
    w.create("null", {"connector.class": "FileStreamSink", "file": "/dev/null",
                      "topics": "to-null", "value.converter": STRING})
    w.wait_state("null", "RUNNING")
    harness.produce(dev_kafka.bootstrap, "to-null", [f"v{i}" for i in range(5)])

    def committed():
        offs = w.get("/connectors/null/offsets").json().get("offsets", [])
        return sum(o["offset"]["kafka_offset"] for o in offs)
    wait_until(lambda: committed() == 5, 30, what="the offsets of all 5 records committed")
    assert "flush failed" not in w.logs()
    assert w.status("null")["tasks"][0]["state"] == "RUNNING"
