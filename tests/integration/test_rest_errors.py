"""Bad input gets a clear 4xx naming the problem, bad CLI use a clear exit code; the worker
keeps serving."""
import signal
import subprocess

import requests

import harness

SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"


def error_of(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error_code"] == status and body["message"], body
    return body["message"]


def test_bad_requests(worker):
    url = worker.url
    msg = error_of(requests.post(url + "/connectors", data='{"name": "x", "config": {',
                                 headers={"Content-Type": "application/json"}), 400)
    assert "line 1" in msg and "column" in msg

    big = '{"name":"x","config":{"file":"' + "a" * (1 << 20) + '"}}'
    assert requests.post(url + "/connectors", data=big,
                         headers={"Content-Type": "application/json"}).status_code == 413

    msg = error_of(worker.post("/connectors", {"name": "x", "config": {
        "connector.class": SINK, "topics": "t", "tasks.max": "abc"}}), 400)
    assert "tasks.max" in msg

    msg = error_of(worker.post("/connectors", {"name": "x", "config": {
        "connector.class": "com.example.NoSuchConnector", "topics": "t"}}), 400)
    assert "com.example.NoSuchConnector" in msg

    msg = error_of(worker.post("/connectors", {"name": "x", "config": {"topics": "t"}}), 400)
    assert "connector.class" in msg or "connector type" in msg

    msg = error_of(worker.post("/connectors", {"name": "x", "config": {"connector.class": SINK}}),
                   400)
    assert "topics" in msg

    msg = error_of(worker.put("/connectors/a/config", {"connector.class": SINK, "topics": "t",
                                                      "name": "b"}), 400)
    assert "doesn't match" in msg

    assert worker.get("/no/such/path").status_code == 404
    assert requests.delete(url + "/connector-plugins").status_code == 405
    error_of(worker.get("/connectors/ghost"), 404)
    error_of(worker.get("/connectors/ghost/status"), 404)
    error_of(worker.put("/connectors/ghost/pause"), 404)
    error_of(worker.delete("/connectors/ghost"), 404)

    assert worker.get("/").status_code == 200
    assert worker.get("/connectors").json() == []


def run(*args, timeout=20):
    return subprocess.run([harness.BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_cli_exit_codes(tmp_path):
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("connectd ")
    assert run().returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("dev-kafka", "--help").returncode == 0
    assert "broker-down" in run("dev-kafka", "--help").stdout
    assert run("distributed", "--help").returncode == 0

    props = tmp_path / "w.properties"
    props.write_text("bootstrap.servers=embedded\ngroup.id=g\nconfig.storage.topic=c\n"
                     "offset.storage.topic=o\nstatus.storage.topic=s\n"
                     "offset.flush.interval.ms=abc\n")
    r = run("distributed", str(props))
    assert r.returncode == 1 and "offset.flush.interval.ms" in r.stderr

    props.write_text("bootstrap.servers=embedded\ngroup.id=g\n")
    r = run("distributed", str(props))
    assert r.returncode == 1 and "config.storage.topic" in r.stderr

    r = run("standalone", str(tmp_path / "missing.properties"))
    assert r.returncode == 1 and "missing.properties" in r.stderr


def test_sigterm_exits_zero(dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap, extra={"plugin.path": "/opt/plugins",
                                                   "max.poll.records": "500",
                                                   "consumer.max.poll.records": "10",
                                                   "producer.buffer.memory": "1048576"})
    assert w.stop() == 0
    logs = w.logs()
    assert "plugin.path" in logs  # warned as unused
    assert "max.poll.records" in logs  # skipped with a warning


def test_java_fetch_wait_key_reaches_librdkafka(dev_kafka, worker_factory, tmp_path):
    """Kafka Connect users tune the sink consumers' fetch wait as consumer.fetch.max.wait.ms
    (the Java client's name); librdkafka calls it fetch.wait.max.ms. It is renamed, not skipped,
    and the sink reads as usual."""
    harness.produce(dev_kafka.bootstrap, "fw", ["a", "b"])
    w = worker_factory(dev_kafka.bootstrap, extra={"consumer.fetch.max.wait.ms": "100"})
    out = tmp_path / "out.txt"
    w.create("fw-sink", {"connector.class": "FileStreamSink", "topics": "fw", "file": str(out),
                         "value.converter": "org.apache.kafka.connect.storage.StringConverter"})
    # the topic auto-creates with several partitions: the order across them is not kept
    harness.wait_until(lambda: out.exists() and sorted(out.read_text().splitlines()) == ["a", "b"],
                       30, 0.1, "the two records in the file")
    assert "fetch.max.wait.ms" not in w.logs()  # no "not known to librdkafka; skipped"


def test_embedded_kafka_says_it_is_in_memory(tmp_path):
    port = harness.free_port()
    props = tmp_path / "w.properties"
    props.write_text(f"bootstrap.servers=embedded\ngroup.id=g\nconfig.storage.topic=connect-configs\n"
                     f"offset.storage.topic=connect-offsets\nstatus.storage.topic=connect-status\n"
                     f"listeners=http://127.0.0.1:{port}\n")
    log = open(tmp_path / "log", "w")
    p = subprocess.Popen([harness.BIN, "distributed", str(props)], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        harness.wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health",
                                                timeout=1).status_code == 200, 20)
        p.send_signal(signal.SIGINT)
        assert p.wait(20) == 0
    finally:
        if p.poll() is None:
            p.kill()
    log.close()
    assert "in memory" in (tmp_path / "log").read_text()
