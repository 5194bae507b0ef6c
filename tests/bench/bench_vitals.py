#!/usr/bin/python3
"""Vitals generator into Kafka: VitalsSourceConnector with rate=0 (as fast as possible)
against `kcat -P` producing the same records, pre-generated into a file, on the same
dev-kafka. Both key by device (1,000 devices over 32 partitions: the mock broker keeps only
~5 MB per partition, and sticky partitioning is off for the same reason).

    BENCH_VITALS_N=300000 BENCH_VITALS_FORMAT=device /usr/bin/python3 tests/bench/bench_vitals.py
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from confluent_kafka import Consumer, TopicPartition  # noqa: E402

import harness  # noqa: E402

N = int(os.environ.get("BENCH_VITALS_N", "300000"))
FORMATS = os.environ.get("BENCH_VITALS_FORMAT", "heart_rate,device").split(",")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "32"))
STRING = "org.apache.kafka.connect.storage.StringConverter"


def progress(what):
    print(f"bench: {what} ...", file=sys.stderr, flush=True)


_watermarks = {}


def in_kafka(bootstrap, topic):
    """Records in all partitions of topic (sum of the high watermarks). One client per broker
    is kept: a new one per check took CPU from the process being measured."""
    c = _watermarks.get(bootstrap)
    if c is None:
        c = _watermarks[bootstrap] = Consumer({"bootstrap.servers": bootstrap,
                                               "group.id": "bench-watermarks"})
    return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
               for p in range(PARTITIONS))


def connectd_rate(bootstrap, topic, fmt, work):
    """Records/s from the first generated record in Kafka to the N-th (task start left out)."""
    os.makedirs(work)
    w = harness.Worker(bootstrap, workdir=work,
                       extra={"producer.sticky.partitioning.linger.ms": "0"}).start()
    try:
        w.create("bench-vitals", {"connector.class": "VitalsSourceConnector",
                                  "kafka.topic": topic, "format": fmt, "rate": "0",
                                  "iterations": str(N), "devices": "1000", "random.seed": "1",
                                  "start.time": "2026-01-01T00:00:00Z",
                                  "key.converter": STRING,
                                  "value.converter.schemas.enable": "false"})
        m0 = harness.wait_until(lambda: in_kafka(bootstrap, topic), 60, 0.01, "first record")
        t0 = time.time()
        harness.wait_until(lambda: in_kafka(bootstrap, topic) >= N, 600, 0.05, f"{N} records")
        return (N - m0) / (time.time() - t0)
    finally:
        w.stop()


def dump(bootstrap, topic, path):
    """The generated records as kcat -P -K input: key TAB value, one a line."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-dump-{time.time()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    n = 0
    deadline = time.time() + 300
    with open(path, "wb") as f:
        while n < N and time.time() < deadline:
            for m in c.consume(10000, 0.5):
                if not m.error():
                    f.write(m.key() + b"\t" + m.value() + b"\n")
                    n += 1
    c.close()
    if n != N:
        raise SystemExit(f"bench: read back {n} of {N} generated records")


def kcat_rate(bootstrap, topic, path):
    t0 = time.time()
    subprocess.run(["kcat", "-P", "-q", "-b", bootstrap, "-t", topic, "-K", "\t", "-l",
                    "-X", "sticky.partitioning.linger.ms=0", path], check=True)
    dt = time.time() - t0
    if in_kafka(bootstrap, topic) != N:
        raise SystemExit("bench: kcat did not deliver every record")
    return N / dt


def main():
    for fmt in FORMATS:
        work = tempfile.mkdtemp(prefix="bench-vitals-")
        k = harness.DevKafka(topics=(f"gen:{PARTITIONS}", f"kcat:{PARTITIONS}"))
        try:
            progress(f"connectd generating {N:,} {fmt} records")
            ours = connectd_rate(k.bootstrap, "gen", fmt, os.path.join(work, "w"))
            progress("reading them back for kcat")
            path = os.path.join(work, "records.tsv")
            dump(k.bootstrap, "gen", path)
            mb = os.path.getsize(path) / 1e6
            progress("kcat -P")
            lim = kcat_rate(k.bootstrap, "kcat", path)
            print(f"vitals format={fmt}: {N:,} records ({mb:.0f} MB): kcat -P "
                  f"{lim:,.0f} rec/s, connectd generator -> Kafka {ours:,.0f} rec/s "
                  f"({ours / lim:.2f}x)", flush=True)
        finally:
            c = _watermarks.pop(k.bootstrap, None)
            if c is not None:
                c.close()
            k.stop()


if __name__ == "__main__":
    main()
