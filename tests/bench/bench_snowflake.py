#!/usr/bin/python3
"""Snowflake sink benchmark (issue 6): BENCH_SF_N seed-002 device records (default 200000, so
that the run stays near two minutes on a small machine; the issue's figure is 1M) → the
Snowflake emulator (tests/integration/snowflake_emu.py).

1. connectd: the SnowflakeSinkConnector consumes while kcat produces; the clock runs from the
   first produce until the emulator holds all N rows committed.
2. the limit: a client posting the same rows as ready-made gzip'd NDJSON batches of the
   connector's mean batch size (measured from the emulator's append log of run 1) to the same
   emulator, one channel, appends in sequence following the continuation tokens. The bodies
   are built before its clock starts; the client is its own process so that it does not share
   the emulator's interpreter lock.
Prints rows/s of both, the ratio (goal >= 0.7x), connectd's peak RSS (VmHWM) and the CPU
seconds of connectd and of the emulator (this process) in each run.

`bench_snowflake.py --client` is that client (it reads its job as JSON on stdin). BENCH_EXTRA
(JSON) adds connector config keys to try, e.g. a consumer.override. setting."""
import gc
import gzip
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

N = int(os.environ.get("BENCH_SF_N", "200000"))
TOPIC = "heart_rate_device_topic"
TABLE = ("INGEST", "INGEST", TOPIC.upper())
# librdkafka's mock broker keeps about 5 MB per partition and trims older records: spread the
# records (about 130 bytes each) so that none is trimmed before the sink reads it.
PARTITIONS = max(2, N // 20000)
T0 = 1640995200


def device(i):
    """Seed 002's device JSON; the key is the deviceId (1000 devices spread the partitions)."""
    return (f'{{"deviceId":"device{i % 1000}","value":{60 + i % 40},"latitude":40.7128,'
            f'"longitude":-74.006,"createdTime":{T0 + i}}}')


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(emu, key):
    with emu.emu.lock:
        t = emu.emu.tables.get(key)
        return len(t["rows"]) if t else 0


def produce(bootstrap, path):
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", TOPIC, "-K", "\t",
                    "-X", "sticky.partitioning.linger.ms=0", "-X", "linger.ms=20",
                    "-X", "batch.num.messages=10000", "-l", path], check=True)


def run_connectd(harness, emu, kafka, tmp):
    from test_snowflake import seed_config
    workdir = os.path.join(tmp, "w")
    os.makedirs(workdir)
    w = harness.Worker(kafka.bootstrap, workdir=workdir).start()
    try:
        extra = json.loads(os.environ.get("BENCH_EXTRA", "{}"))  # connector keys to try
        w.create("bench-sf", seed_config(emu, **{"topics": TOPIC, "buffer.flush.time": "1",
                                                 "buffer.count.records": "10000", **extra}))
        w.wait_state("bench-sf", "RUNNING")
        harness.wait_until(lambda: TABLE in emu.emu.tables, 30, 0.1, "the table created")
        # a first record, so that the clock starts once the sink has joined its group
        warm = os.path.join(tmp, "warm.jsonl")
        with open(warm, "w") as f:
            f.write(f"warm\t{device(-1)}\n")
        produce(kafka.bootstrap, warm)
        harness.wait_until(lambda: stored(emu, TABLE) >= 1, 60, 0.1, "the warm-up row")
        data = os.path.join(tmp, "records.jsonl")
        with open(data, "w") as f:
            for i in range(N):
                f.write(f"device{i % 1000}\t{device(i)}\n")
        appends0 = len(emu.emu.events)
        c0, k0, e0, t0 = cpu(w.proc.pid), cpu(kafka.proc.pid), time.process_time(), time.time()
        done = []
        producer = threading.Thread(target=lambda: (produce(kafka.bootstrap, data),
                                                    done.append(time.time() - t0)))
        producer.start()
        harness.wait_until(lambda: stored(emu, TABLE) >= N + 1, 1800, 0.2,
                           "every row committed")
        secs = time.time() - t0
        c_cpu, e_cpu = cpu(w.proc.pid) - c0, time.process_time() - e0
        k_cpu = cpu(kafka.proc.pid) - k0
        producer.join()
        rss = vm_hwm_kb(w.proc.pid)
        rows = stored(emu, TABLE) - 1
        assert rows == N, f"the emulator holds {rows} rows, expected {N}\n{w.logs()[-3000:]}"
        with emu.emu.lock:
            appends = [e for e in emu.emu.events[appends0:] if e["kind"] == "append"]
            sizes = [e["rows"] for e in appends]
            span = (appends[0]["t"] - t0, appends[-1]["t"] - t0)
            # the baseline starts on an emulator as empty as this run's: N rows held in
            # Python slow its garbage collector down
            emu.emu.tables[TABLE]["rows"] = []
            emu.emu.events = []
        gc.collect()
        return secs, rss, sizes, c_cpu, e_cpu, k_cpu, done[0], span
    finally:
        w.stop()


def baseline_row(i):
    # the row the connector writes: its metadata and the record's content
    return (f'{{"RECORD_METADATA":{{"CreateTime":{(T0 + i) * 1000},"key":"device{i % 1000}",'
            f'"offset":{i // PARTITIONS},"partition":{i % PARTITIONS},"topic":"{TOPIC}"}},'
            f'"RECORD_CONTENT":{device(i)}}}\n')


def run_baseline(emu, tmp, batch):
    from test_snowflake_emu import CH, session
    base, headers = session(emu)  # JWT → hostname → scoped token; creates table T
    import requests
    r = requests.put(base + CH, headers=headers, json={})
    assert r.status_code == 200, r.text
    files = []
    for b, start in enumerate(range(0, N, batch)):
        body = "".join(baseline_row(i) for i in range(start, min(N, start + batch)))
        path = os.path.join(tmp, f"b{b}.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(body.encode(), 1))
        files.append((path, start, min(N, start + batch) - 1))
    job = {"base": base, "auth": headers["Authorization"], "path": CH,
           "ct": r.json()["next_continuation_token"], "files": files}
    client = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    client.stdin.write(json.dumps(job) + "\n")
    client.stdin.flush()
    assert client.stdout.readline().strip() == "ready"
    e0, t0 = time.process_time(), time.time()
    client.stdin.write("go\n")
    client.stdin.flush()
    key = ("INGEST", "INGEST", "T")
    import harness
    harness.wait_until(lambda: stored(emu, key) >= N or client.poll(), 1800, 0.2,
                       "every baseline row committed")
    secs, e_cpu = time.time() - t0, time.process_time() - e0
    client.stdin.close()
    assert client.wait() == 0, "the baseline client failed"
    assert stored(emu, key) == N, f"baseline: {stored(emu, key)} rows, expected {N}"
    return secs, e_cpu


def client_main():
    """Appends the pre-built bodies in sequence on one keep-alive connection."""
    import urllib.parse
    job = json.loads(sys.stdin.readline())
    bodies = []
    for path, start, end in job["files"]:
        with open(path, "rb") as f:
            bodies.append((f.read(), start, end))
    u = urllib.parse.urlsplit(job["base"])
    conn = http.client.HTTPConnection(u.hostname, u.port)
    hdr = {"Authorization": job["auth"], "Accept": "application/json",
           "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
    url = u.path + "/data" + job["path"] + "/rows"
    ct = job["ct"]
    print("ready", flush=True)
    sys.stdin.readline()
    for body, start, end in bodies:
        q = urllib.parse.urlencode({"continuationToken": ct, "startOffsetToken": start,
                                    "endOffsetToken": end})
        conn.request("POST", f"{url}?{q}", body=body, headers=hdr)
        r = conn.getresponse()
        reply = r.read()
        if r.status != 200:
            sys.exit(f"append: HTTP {r.status} {reply[:200]!r}")
        ct = json.loads(reply)["next_continuation_token"]
    sys.stdin.read()  # until the parent has counted the committed rows


def main():
    import harness
    from conftest import SnowflakeEmu
    tmp = tempfile.mkdtemp(prefix="bench-sf-")
    kafka = harness.DevKafka(topics=(f"{TOPIC}:{PARTITIONS}",))
    emu = SnowflakeEmu()
    try:
        print(f"Snowflake sink benchmark: {N} seed-002 device records (BENCH_SF_N; the issue "
              f"names 1M), {PARTITIONS} partitions, emulator commit delay "
              f"{emu.emu.commit_delay_ms} ms, {os.cpu_count()} CPUs", flush=True)
        secs, rss, sizes, c_cpu, e_cpu, k_cpu, kcat_secs, span = run_connectd(harness, emu,
                                                                              kafka, tmp)
        rate = N / secs
        batch = max(1, round(sum(sizes) / len(sizes)))
        print(f"connectd:   {rate:10.0f} rows/s ({secs:.1f} s; {len(sizes)} appends, mean "
              f"{batch} rows, the first at {span[0]:.1f} s, the last at {span[1]:.1f} s; "
              f"kcat done after {kcat_secs:.1f} s; CPU connectd {c_cpu:.1f} s, "
              f"emulator {e_cpu:.1f} s, dev-kafka {k_cpu:.1f} s)", flush=True)
        bsecs, be_cpu = run_baseline(emu, tmp, batch)
        brate = N / bsecs
        print(f"baseline:   {brate:10.0f} rows/s ({bsecs:.1f} s; pre-built gzip'd NDJSON "
              f"batches of {batch} rows, one channel; CPU emulator {be_cpu:.1f} s)", flush=True)
        ratio = rate / brate
        print(f"ratio vs baseline: {ratio:.3f}x (goal >= 0.7: "
              f"{'met' if ratio >= 0.7 else 'not met'}); connectd peak RSS (VmHWM) "
              f"{rss / 1024:.1f} MB")
    finally:
        emu.stop()
        kafka.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        client_main()
    else:
        main()
