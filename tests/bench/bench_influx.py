#!/usr/bin/python3
"""InfluxDB sink benchmark (issue 5): BENCH_N vitals records (default 1M) → InfluxDB 1.x.

1. connectd: the InfluxDbSinkConnector consumes while the records are produced; the clock runs
   from the first produce to the commit of the last offset (committed = acknowledged by a 204).
   The records are keyed by patient, so each series keeps its time order (as in the seed's
   one-partition topic and in curl's batches); a second run keys every record apart, which
   scatters each series over all partitions and costs influxd about 25% more CPU for the same
   points (out-of-order writes are sorted in its cache), and is printed alongside.
2. the limit: curl posting the same points as pre-built 5000-line gzip batches to /write.
3. the seed's way: a Python consumer writing one point per request (on a sample).
Prints points/s, the ratios, the CPU seconds of connectd and influxd in each run, the time kcat
took to produce and connectd's peak RSS. BENCH_EXTRA (JSON) adds connector config keys, e.g.
'{"consumer.override.queued.max.messages.kbytes": "16384"}' to try a consumer setting."""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import requests  # noqa: E402

N = int(os.environ.get("BENCH_N", "1000000"))
SEED_SAMPLE = int(os.environ.get("BENCH_SEED_SAMPLE", "5000"))
T0 = 1767225600000
# librdkafka's mock broker keeps about 5 MB per partition and trims older records: spread the
# records so that none is trimmed before the sink reads it.
PARTITIONS = max(1, N // 20000)
TICK = os.sysconf("SC_CLK_TCK")


def record(i):
    return (f'{{"patient_id":"patient-{i % 100:04d}","timestamp":{T0 + i},'
            f'"heart_rate":{60 + i % 40},"respiratory_rate":{12 + i % 8},'
            f'"anomaly":{"true" if i % 100 == 0 else "false"}}}')


def key(i, spread):
    """By patient, each series stays in one partition and reaches InfluxDB in time order, as in
    the seed (a one-partition topic) and in curl's batches. spread: distinct keys scatter each
    series over every partition, so its points arrive out of time order (an unkeyed producer
    on a many-partition topic), which costs influxd more CPU per point."""
    return str(i) if spread else PATIENT_KEYS[i % 100]


def patient_key(p):
    """A key of patient p that the producer's partitioner (librdkafka's consistent_random: the
    CRC32 of the key) puts in partition p % PARTITIONS. Hashed as they are, the 100 patients'
    names left one partition with five series (6.5 MB), which the mock broker trimmed whenever
    the sink lagged more than 5 MB behind kcat on it; so every partition gets the same share."""
    for salt in range(1 << 20):
        k = f"patient-{p:04d}" + (f".{salt}" if salt else "")
        if zlib.crc32(k.encode()) % PARTITIONS == p % PARTITIONS:
            return k
    raise AssertionError(f"no key for patient {p}")


PATIENT_KEYS = [patient_key(p) for p in range(100)]


def line(i):
    return (f"heart_rate,patient_id=patient-{i % 100:04d} heart_rate={60 + i % 40}i,"
            f"respiratory_rate={12 + i % 8}i,anomaly={'true' if i % 100 == 0 else 'false'} "
            f"{(T0 + i) * 1000000}")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def count(influx, db):
    r = requests.post(influx.url + "/query",
                      params={"q": "SELECT count(heart_rate) FROM heart_rate", "db": db},
                      timeout=60)
    series = r.json()["results"][0].get("series")
    return series[0]["values"][0][1] if series else 0


_clients = {}


def committed(bootstrap, group, topic):
    """Sum of the group's committed offsets over the topic's partitions. One client per group
    is kept: a new one per check took CPU from the processes being measured."""
    from confluent_kafka import Consumer, TopicPartition
    c = _clients.get((bootstrap, group))
    if c is None:
        c = _clients[(bootstrap, group)] = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    res = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    return sum(max(tp.offset, 0) for tp in res)


def close_clients():
    while _clients:
        _clients.popitem()[1].close()


def produce(bootstrap, path, topic="vitals"):
    """kcat produces the records of the file (one per line), faster than Python could."""
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X",
                    "linger.ms=20", "-X", "batch.num.messages=10000", "-l", path], check=True)


def timed_produce(bootstrap, path, topic, took):
    t = time.time()
    produce(bootstrap, path, topic)
    took.append(time.time() - t)


def run_connectd(kafka, influx, workdir, topic, spread):
    """One sink run from topic into the database of the same name."""
    name = "bench-" + topic
    os.makedirs(workdir, exist_ok=True)
    w = harness.Worker(kafka.bootstrap, workdir=workdir,
                       extra={"offset.flush.interval.ms": "100"}).start()
    try:
        w.create(name, {
            "connector.class": "io.confluent.influxdb.InfluxDBSinkConnector",
            "topics": topic, "influxdb.url": influx.url, "influxdb.db": topic,
            "measurement.name.format": "heart_rate", "tag.fields": "patient_id",
            "event.time.fieldname": "timestamp", "batch.size": "5000", "linger.ms": "200",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            **json.loads(os.environ.get("BENCH_EXTRA", "{}"))})
        w.wait_state(name, "RUNNING")
        # a first record, so that the clock starts once the sink has joined its group
        warm = os.path.join(workdir, "warm.jsonl")
        with open(warm, "w") as f:
            f.write(f"-1\t{record(-1)}\n")
        produce(kafka.bootstrap, warm, topic)
        harness.wait_until(lambda: committed(kafka.bootstrap, "connect-" + name, topic) >= 1,
                           60, 0.1, "the warm-up record committed")
        data = os.path.join(workdir, "records.jsonl")
        with open(data, "w") as f:
            for i in range(N):
                f.write(f"{key(i, spread)}\t{record(i)}\n")
        c0, i0, k0 = cpu(w.proc.pid), cpu(influx.proc.pid), cpu(kafka.proc.pid)
        t0, took = time.time(), []
        producer = threading.Thread(target=timed_produce,
                                    args=(kafka.bootstrap, data, topic, took))
        producer.start()
        harness.wait_until(lambda: committed(kafka.bootstrap, "connect-" + name, topic) >= N + 1,
                           1800, 0.05, "every offset committed")
        secs = time.time() - t0
        c1, i1, k1 = cpu(w.proc.pid), cpu(influx.proc.pid), cpu(kafka.proc.pid)
        producer.join()
        stored = count(influx, topic) - 1
        assert stored == N, f"InfluxDB holds {stored} points, expected {N}\n{w.logs()[-3000:]}"
        with open(f"/proc/{w.proc.pid}/status") as f:
            hwm = [ln.split()[1] for ln in f if ln.startswith("VmHWM")][0]
        print(f"  (kcat produced the records in {took[0]:.1f} s; CPU dev-kafka {k1 - k0:.1f} s; "
              f"connectd peak RSS {int(hwm) / 1024:.0f} MiB)", flush=True)
        return secs, c1 - c0, i1 - i0
    finally:
        w.stop()


def run_curl(influx, tmp):
    requests.post(influx.url + "/query", params={"q": "CREATE DATABASE vitals_curl"}, timeout=10)
    cfg = os.path.join(tmp, "curl.cfg")
    url = f"{influx.url}/write?db=vitals_curl&precision=ns"
    with open(cfg, "w") as f:
        for b, start in enumerate(range(0, N, 5000)):
            body = "\n".join(line(i) for i in range(start, min(N, start + 5000))) + "\n"
            path = os.path.join(tmp, f"b{b}.gz")
            with open(path, "wb") as g:
                g.write(gzip.compress(body.encode(), 1))
            f.write(f'{"next" + chr(10) if b else ""}url = "{url}"\n'
                    f'data-binary = "@{path}"\nheader = "Content-Encoding: gzip"\n'
                    'silent\noutput = "/dev/null"\n')
    i0, t0 = cpu(influx.proc.pid), time.time()
    subprocess.run(["curl", "-K", cfg], check=True)
    secs = time.time() - t0
    i1 = cpu(influx.proc.pid)
    stored = count(influx, "vitals_curl")
    assert stored == N, f"curl run stored {stored} points"
    return secs, i1 - i0


def run_seed_way(kafka, influx):
    """The seed's consumer: one point per write request, on a sample of the records."""
    from confluent_kafka import Consumer
    import json
    requests.post(influx.url + "/query", params={"q": "CREATE DATABASE vitals_seed"}, timeout=10)
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "seed-way",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["vitals"])
    s = requests.Session()
    done, t0 = 0, None
    try:
        while done < SEED_SAMPLE:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            t0 = t0 or time.time()
            v = json.loads(m.value())
            p = (f"heart_rate,patient_id={v['patient_id']} heart_rate={v['heart_rate']}i,"
                 f"respiratory_rate={v['respiratory_rate']}i,"
                 f"anomaly={'true' if v['anomaly'] else 'false'} {v['timestamp']}")
            r = s.post(influx.url + "/write", params={"db": "vitals_seed", "precision": "ms"},
                       data=p)
            assert r.status_code == 204, r.text
            done += 1
    finally:
        c.close()
    return time.time() - t0


def main():
    tmp = tempfile.mkdtemp(prefix="bench-influx-")
    kafka = harness.DevKafka(topics=(f"vitals:{PARTITIONS}", f"vitals_spread:{PARTITIONS}"))
    influx = harness.InfluxDB()
    try:
        print(f"InfluxDB sink benchmark: {N} vitals records, InfluxDB 1.x, "
              f"{os.cpu_count()} CPUs", flush=True)
        secs, c_cpu, i_cpu = run_connectd(kafka, influx, os.path.join(tmp, "w"), "vitals",
                                          False)
        rate = N / secs
        print(f"connectd:   {rate:10.0f} points/s ({secs:.1f} s; CPU connectd {c_cpu:.1f} s, "
              f"influxd {i_cpu:.1f} s; keyed by patient, each series in time order)",
              flush=True)
        ssecs_, sc_cpu, si_cpu = run_connectd(kafka, influx, os.path.join(tmp, "ws"),
                                              "vitals_spread", True)
        print(f"connectd:   {N / ssecs_:10.0f} points/s ({ssecs_:.1f} s; CPU connectd "
              f"{sc_cpu:.1f} s, influxd {si_cpu:.1f} s; each series spread over "
              f"{PARTITIONS} partitions, out of time order)", flush=True)
        csecs, ci_cpu = run_curl(influx, tmp)
        crate = N / csecs
        print(f"curl limit: {crate:10.0f} points/s ({csecs:.1f} s; CPU influxd {ci_cpu:.1f} s)",
              flush=True)
        ssecs = run_seed_way(kafka, influx)
        srate = SEED_SAMPLE / ssecs
        print(f"seed's way: {srate:10.0f} points/s (one point per request, {SEED_SAMPLE} "
              f"sampled)", flush=True)
        print(f"ratio vs curl: {rate / crate:.2f}x (goal >= 0.7; {N / ssecs_ / crate:.2f}x with "
              f"series spread); vs the seed's way: "
              f"{rate / srate:.0f}x; goal >= 250000 points/s: "
              f"{'met' if rate >= 250000 else 'not met'}")
    finally:
        close_clients()
        influx.close()
        kafka.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
