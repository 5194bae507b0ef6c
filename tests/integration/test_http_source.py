"""HttpSourceConnector: the seeds' ingest endpoints (001 POST /cow, 004 Sensor Logger
/sensor_data) and the Confluent REST Proxy v2 produce API; a 200 lists where Kafka stored
each record, errors are JSON with error_code and message."""
import base64
import json
import re
import threading
import time

import pytest
import requests

import harness
from test_mqtt_source import read_topic

STRING = "org.apache.kafka.connect.storage.StringConverter"
BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
TOKEN = "s3cr3t-t0ken"


def http_post(url, **kw):
    kw.setdefault("timeout", 30)
    return requests.post(url, **kw)


def http_get(url, **kw):
    kw.setdefault("timeout", 30)
    return requests.get(url, **kw)


def high_watermark(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


@pytest.fixture
def kafka():
    k = harness.DevKafka(topics=("cow:1", "sensors:1", "proxied:1", "bin:1"))
    yield k
    k.stop()


@pytest.fixture
def ingest(kafka, worker_factory):
    """ingest(name, **config) -> base URL of a running HttpSourceConnector."""
    w = worker_factory(kafka.bootstrap)

    def make(name, scheme="http", **conf):
        port = harness.free_port()
        c = {"connector.class": "HttpSourceConnector",
             "http.listeners": f"{scheme}://127.0.0.1:{port}", "key.converter": STRING}
        c.update(conf)
        w.create(name, c)
        w.wait_state(name, "RUNNING")
        return f"{scheme}://127.0.0.1:{port}"
    make.worker = w
    return make


def test_seed_001_post_cow_lands_in_kafka_with_offsets(kafka, ingest):
    url = ingest("cows", **{"http.paths": "/cow=cow", "http.key.field": "id"})
    cow = {"id": "cow-001", "name": "Bessie", "birthdate": "2019-04-02", "weight": 612.5}
    r = http_post(url + "/cow", json=cow)
    assert r.status_code == 200, r.text
    assert r.json() == {"offsets": [{"partition": 0, "offset": 0}]}
    more = [{"id": "cow-002", "name": "Daisy", "birthdate": "2020-01-15", "weight": 540.0},
            {"id": "cow-003", "name": "Clara", "birthdate": "2021-06-30", "weight": 498.25}]
    r = http_post(url + "/cow", json=more)
    assert r.json() == {"offsets": [{"partition": 0, "offset": 1}, {"partition": 0, "offset": 2}]}

    msgs = read_topic(kafka.bootstrap, "cow")
    assert [m.key() for m in msgs] == [b"cow-001", b"cow-002", b"cow-003"]
    assert [json.loads(m.value()) for m in msgs] == [cow] + more
    assert msgs[0].value() == (b'{"id":"cow-001","name":"Bessie","birthdate":"2019-04-02",'
                               b'"weight":612.5}')


def test_seed_004_sensor_logger_split_one_record_per_reading(kafka, ingest):
    url = ingest("sensor-logger", **{"http.paths": "/sensor_data=sensors",
                                     "http.split.field": "payload",
                                     "http.key.field": "deviceId"})
    body = {"messageId": 7, "sessionId": "session456", "deviceId": "device789",
            "payload": [
                {"name": "accelerometer", "time": 1698435000000000000,
                 "values": {"x": 1.0, "y": 0.0, "z": -1.0}},
                {"name": "gyroscope", "time": 1698435000010000000,
                 "values": {"x": 0.01, "y": -0.02, "z": 0.0}},
                {"name": "orientation", "time": 1698435000020000000,
                 "values": {"qx": 0.1, "qy": 0.2, "qz": 0.3, "qw": 0.9}}]}
    r = http_post(url + "/sensor_data", json=body)
    assert r.status_code == 200, r.text
    assert [o["offset"] for o in r.json()["offsets"]] == [0, 1, 2]

    msgs = read_topic(kafka.bootstrap, "sensors")
    head = {"messageId": 7, "sessionId": "session456", "deviceId": "device789"}
    assert [json.loads(m.value()) for m in msgs] == [dict(head, **p) for p in body["payload"]]
    assert {m.key() for m in msgs} == {b"device789"}


def test_ndjson_one_record_per_line(kafka, ingest):
    url = ingest("nd", **{"http.paths": "/cow=cow"})
    r = http_post(url + "/cow", data=b'{"id":"a"}\n\n{"id":"b"}\n',
                      headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert [json.loads(m.value()) for m in read_topic(kafka.bootstrap, "cow")] == [
        {"id": "a"}, {"id": "b"}]


def test_bearer_token_required_and_never_logged(kafka, ingest):
    url = ingest("secure", **{"http.paths": "/cow=cow", "http.auth.token": TOKEN})
    r = http_post(url + "/cow", json={"id": "x"})
    assert r.status_code == 401
    assert r.json() == {"error_code": 40101, "message": "missing bearer token"}
    r = http_post(url + "/cow", json={"id": "x"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["message"] == "invalid bearer token"
    r = http_post(url + "/cow", json={"id": "x"},
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert [json.loads(m.value()) for m in read_topic(kafka.bootstrap, "cow")] == [{"id": "x"}]
    assert TOKEN not in ingest.worker.logs()
    cfg = ingest.worker.get("/connectors/secure").json()["config"]
    assert TOKEN not in json.dumps(ingest.worker.get("/connectors/secure/status").json())
    assert cfg["http.paths"] == "/cow=cow"


def test_client_errors_are_json_with_codes(kafka, ingest):
    url = ingest("errors", **{"http.paths": "/cow=cow", "http.max.body.bytes": "1000"})
    r = http_post(url + "/cow", data=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error_code"] == 41301
    r = http_post(url + "/cow", data=b'{"id": 1,\n "name": }',
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"].startswith("malformed JSON at line 2 column")
    r = http_post(url + "/cow", data=b"id=1", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = http_post(url + "/horse", json={"id": 1})
    assert r.status_code == 404
    assert r.json() == {"error_code": 40401, "message": "no route for /horse"}
    r = http_get(url + "/cow")
    assert r.status_code == 405
    # the listener still works after all that, and nothing of it reached Kafka
    assert http_post(url + "/cow", json={"id": "ok"}).status_code == 200
    assert [json.loads(m.value()) for m in read_topic(kafka.bootstrap, "cow")] == [{"id": "ok"}]


def test_rest_proxy_v2_round_trip(kafka, ingest):
    url = ingest("proxy", **{"http.proxy.topics.regex": "proxied|bin"})
    body = {"records": [{"key": "k1", "value": {"temp": 21.5}},
                        {"value": {"temp": 22}, "partition": 0}]}
    r = http_post(url + "/topics/proxied", data=json.dumps(body),
                      headers={"Content-Type": "application/vnd.kafka.json.v2+json"})
    assert r.status_code == 200, r.text
    assert r.json() == {"offsets": [
        {"partition": 0, "offset": 0, "error_code": None, "error": None},
        {"partition": 0, "offset": 1, "error_code": None, "error": None}],
        "key_schema_id": None, "value_schema_id": None}
    msgs = read_topic(kafka.bootstrap, "proxied")
    assert [(m.key(), m.value()) for m in msgs] == [(b"k1", b'{"temp":21.5}'),
                                                    (None, b'{"temp":22}')]

    v3 = {"key": {"type": "STRING", "data": "k3"}, "value": {"type": "JSON", "data": [1, 2]}}
    r = http_post(url + "/v3/clusters/local/topics/proxied/records", json=v3)
    assert r.status_code == 200, r.text
    assert r.json() == {"error_code": 200, "topic_name": "proxied", "partition_id": 0,
                        "offset": 2}
    assert (read_topic(kafka.bootstrap, "proxied")[2].key(),
            read_topic(kafka.bootstrap, "proxied")[2].value()) == (b"k3", b"[1,2]")

    r = http_post(url + "/topics/elsewhere", data=json.dumps(body),
                      headers={"Content-Type": "application/vnd.kafka.json.v2+json"})
    assert r.status_code == 403


def test_rest_proxy_v2_binary(kafka, ingest):
    url = ingest("proxy-bin", **{"value.converter": BYTES})
    raw = bytes(range(256))
    body = {"records": [{"value": base64.b64encode(raw).decode()}]}
    r = http_post(url + "/topics/bin", data=json.dumps(body),
                      headers={"Content-Type": "application/vnd.kafka.binary.v2+json"})
    assert r.status_code == 200, r.text
    assert r.json()["offsets"][0]["offset"] == 0
    assert [m.value() for m in read_topic(kafka.bootstrap, "bin")] == [raw]


@pytest.mark.parametrize("name", ["seed-001-http-ingest", "seed-002-mqtt-source",
                                  "seed-004-http-sensor-logger"])
def test_example_configs_validate(worker, name):
    with open(f"{harness.ROOT}/configs/{name}.json") as f:
        conf = dict(json.load(f)["config"], name=name)
    r = worker.put(f"/connector-plugins/{conf['connector.class']}/config/validate", conf)
    assert r.status_code == 200, r.text
    errors = [c["value"] for c in r.json()["configs"] if c["value"]["errors"]]
    assert r.json()["error_count"] == 0, errors


def test_bad_config_names_the_key(worker):
    conf = {"name": "h", "connector.class": "HttpSourceConnector", "http.paths": "cow=cow",
            "http.listeners": "ftp://x"}
    r = worker.put("/connector-plugins/HttpSourceConnector/config/validate", conf)
    bad = {c["value"]["name"]: c["value"]["errors"] for c in r.json()["configs"]
           if c["value"]["errors"]}
    assert set(bad) == {"http.paths", "http.listeners"}
    assert "path 'cow' must start with /" in bad["http.paths"][0]
    assert "not a listener URL" in bad["http.listeners"][0]
    conf = {"name": "m", "connector.class": "MqttSourceConnector", "mqtt.server.uri": "http://broker",
            "mqtt.topics": "a/#", "kafka.topic": "t", "mqtt.qos": "3"}
    r = worker.put("/connector-plugins/MqttSourceConnector/config/validate", conf)
    bad = {c["value"]["name"] for c in r.json()["configs"] if c["value"]["errors"]}
    assert bad == {"mqtt.server.uri", "mqtt.qos"}


def test_queue_full_is_429_with_retry_after(kafka, ingest):
    url = ingest("slow", **{"http.paths": "/cow=cow", "http.max.inflight.records": "1"})
    assert http_post(url + "/cow", json={"id": "warm"}).status_code == 200
    assert kafka.command("rtt 1 2000").startswith("ok")
    try:
        slow = {}
        t = threading.Thread(target=lambda: slow.update(r=http_post(url + "/cow",
                                                                         json={"id": "a"})))
        t.start()
        time.sleep(0.5)  # the first request waits for Kafka
        r = http_post(url + "/cow", json={"id": "b"})
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error_code"] == 42901
        t.join()
        assert slow["r"].status_code == 200
        assert slow["r"].json() == {"offsets": [{"partition": 0, "offset": 1}]}
    finally:
        kafka.command("rtt 1 0")
    assert [json.loads(m.value())["id"] for m in read_topic(kafka.bootstrap, "cow")] == [
        "warm", "a"]


def test_many_concurrent_clients_and_a_20mb_body(kafka, ingest):
    url = ingest("busy", **{"http.paths": "/cow=cow,/sensor_data=sensors"})
    n = 300
    results = [None] * n

    def post(i):
        results[i] = http_post(url + "/cow", json={"id": i}, timeout=60).status_code
    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * n
    ids = sorted(json.loads(m.value())["id"] for m in read_topic(kafka.bootstrap, "cow"))
    assert ids == list(range(n))

    line = json.dumps({"deviceId": "d", "pad": "x" * 180}) + "\n"
    count = 20 * 1024 * 1024 // len(line)
    r = http_post(url + "/sensor_data", data=(line * count).encode(),
                      headers={"Content-Type": "application/x-ndjson"}, timeout=120)
    assert r.status_code == 200, r.text[:200]
    offs = r.json()["offsets"]
    assert [o["offset"] for o in offs] == list(range(count))
    assert high_watermark(kafka.bootstrap, "sensors") == count


def test_https_listener(kafka, ingest, tmp_path):
    from test_mqtt_source import make_ca
    files = make_ca(str(tmp_path))
    url = ingest("tls", **{"http.paths": "/cow=cow",
                           "http.ssl.certificate.location": files["server.crt"],
                           "http.ssl.key.location": files["server.key"]},
                 scheme="https")
    assert url.startswith("https://")
    r = http_post(url + "/cow", json={"id": "tls"}, verify=files["ca.crt"])
    assert r.status_code == 200, r.text
    assert [json.loads(m.value()) for m in read_topic(kafka.bootstrap, "cow")] == [{"id": "tls"}]


def test_a_thousand_slow_clients_at_once(kafka, ingest):
    """1,000 connections that send half a request and wait: a normal client is still served
    at once, then every slow one finishes its request and gets its 200."""
    import socket
    url = ingest("slowloris", **{"http.paths": "/cow=cow"})
    port = int(url.rsplit(":", 1)[1])
    conns = []
    for i in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"POST /cow HTTP/1.1\r\nHost: x\r\n")
        conns.append(s)
    assert http_post(url + "/cow", json={"id": "quick"}).status_code == 200
    assert ingest.worker.get("/health").status_code == 200
    for i, s in enumerate(conns):
        body = json.dumps({"id": i}).encode()
        s.sendall(b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (len(body), body))
    statuses = []
    for s in conns:
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        statuses.append(reply.split(b" ", 2)[1])
    assert statuses == [b"200"] * 1000
    assert high_watermark(kafka.bootstrap, "cow") == 1001


def cow_ids(bootstrap):
    return [json.loads(m.value())["id"] for m in read_topic(bootstrap, "cow")]


def test_a_record_kafka_refuses_is_listed_in_a_500_and_the_others_land_once(kafka, ingest):
    """librdkafka refuses a record above message.max.bytes (1,000,000 by default): the reply
    is 500 with that record's error in its place and the others' offsets; the task goes on."""
    url = ingest("partial", **{"http.paths": "/cow=cow"})
    big = {"id": "big", "pad": "x" * 1_100_000}
    r = http_post(url + "/cow", json=[{"id": "a"}, big, {"id": "b"}])
    assert r.status_code == 500, r.text[:300]
    assert "Retry-After" not in r.headers
    assert r.json() == {"offsets": [
        {"partition": 0, "offset": 0},
        {"error_code": 50002, "error": "Broker: Message size too large"},
        {"partition": 0, "offset": 1}]}
    r = http_post(url + "/cow", json={"id": "c"})
    assert r.status_code == 200, r.text
    assert r.json() == {"offsets": [{"partition": 0, "offset": 2}]}
    assert cow_ids(kafka.bootstrap) == ["a", "b", "c"]
    # a v3 request holds one record: its failure is the whole reply
    v3 = {"value": {"type": "JSON", "data": big}}
    r = http_post(url + "/v3/clusters/local/topics/cow/records", json=v3)
    assert r.status_code == 500
    assert r.json() == {"error_code": 50002, "message": "Broker: Message size too large"}
    assert cow_ids(kafka.bootstrap) == ["a", "b", "c"]
    assert ingest.worker.status("partial")["tasks"][0]["state"] == "RUNNING"


def test_rest_proxy_v2_unknown_partition_is_a_per_record_error(kafka, ingest):
    url = ingest("proxy-partial", **{"http.proxy.topics.regex": "proxied"})
    body = {"records": [{"value": {"n": 1}}, {"value": {"n": 2}, "partition": 7},
                        {"value": {"n": 3}, "partition": 0}]}
    r = http_post(url + "/topics/proxied", data=json.dumps(body),
                  headers={"Content-Type": "application/vnd.kafka.json.v2+json"})
    assert r.status_code == 500, r.text
    assert r.json() == {"offsets": [
        {"partition": 0, "offset": 0, "error_code": None, "error": None},
        {"partition": None, "offset": None, "error_code": 50002,
         "error": "Local: Unknown partition"},
        {"partition": 0, "offset": 1, "error_code": None, "error": None}],
        "key_schema_id": None, "value_schema_id": None}
    assert [m.value() for m in read_topic(kafka.bootstrap, "proxied")] == [b'{"n":1}',
                                                                          b'{"n":3}']


def test_kafka_unreachable_is_503_in_bounded_time_and_no_200_is_false(kafka, ingest):
    """The broker goes down: a request gets 503 with Retry-After once the producer gives up on
    its records (producer.override.message.timeout.ms, 30 s by default for this connector),
    requests arriving meanwhile get 503 at once; after the broker is back requests succeed,
    and Kafka holds exactly the records answered with 200."""
    url = ingest("outage", **{"http.paths": "/cow=cow",
                              "producer.override.message.timeout.ms": "3000"})
    assert http_post(url + "/cow", json={"id": "before"}).status_code == 200
    acked = ["before"]
    assert kafka.command("broker-down 1").startswith("ok")
    try:
        start = time.time()
        r = http_post(url + "/cow", json=[{"id": "lost-1"}, {"id": "lost-2"}])
        assert r.status_code == 503, r.text
        assert time.time() - start < 8  # 3 s, plus at most ~1 s reconnect backoff, plus ASan
        assert r.headers["Retry-After"] == "1"
        lost = {"error_code": 50003, "error": "Local: Message timed out"}
        assert r.json() == {"offsets": [lost, lost]}

        probe = {}
        t = threading.Thread(target=lambda: probe.update(
            r=http_post(url + "/cow", json={"id": "probe"})))
        t.start()
        time.sleep(0.5)  # the probe's record now waits for Kafka
        start = time.time()
        r = http_post(url + "/cow", json={"id": "meanwhile"})
        assert r.status_code == 503
        assert time.time() - start < 1
        assert r.headers["Retry-After"] == "1"
        assert r.json() == {"error_code": 50301, "message":
                            "Kafka is unreachable (Local: Message timed out); retry later"}
        t.join()
        assert probe["r"].status_code == 503
        assert probe["r"].json() == {"offsets": [lost]}
    finally:
        kafka.command("broker-up 1")

    # librdkafka reconnects with backoff; until then the answer stays 503, never a false 200
    deadline, i = time.time() + 20, 0
    while True:
        r = http_post(url + "/cow", json={"id": f"after-{i}"})
        if r.status_code == 200:
            acked.append(f"after-{i}")
            break
        assert r.status_code == 503, r.text
        assert time.time() < deadline, "requests still fail after the broker came back"
        i += 1
        time.sleep(0.2)
    for k in range(3):
        assert http_post(url + "/cow", json={"id": f"more-{k}"}).status_code == 200
        acked.append(f"more-{k}")
    assert cow_ids(kafka.bootstrap) == acked
    assert ingest.worker.status("outage")["tasks"][0]["state"] == "RUNNING"


def test_requests_during_an_outage_get_503_before_the_message_timeout(kafka, ingest):
    """Once the producer has lost every broker, a request arriving while another one's records
    wait for Kafka gets 503 at once, long before message.timeout.ms (here 20 s) would say so;
    the waiting request gets its 200 when the broker is back."""
    url = ingest("outage2", **{"http.paths": "/cow=cow",
                               "producer.override.message.timeout.ms": "20000"})
    assert http_post(url + "/cow", json={"id": "before"}).status_code == 200
    assert kafka.command("broker-down 1").startswith("ok")
    try:
        waiting = {}
        t = threading.Thread(target=lambda: waiting.update(
            r=http_post(url + "/cow", json={"id": "waiting"})))
        t.start()
        time.sleep(0.5)  # its record now waits for Kafka
        # the connector's producer logs librdkafka's event "1/1 brokers are down"
        harness.wait_until(lambda: re.search(r"outage2 task 0\] producer: .*brokers are down",
                                             ingest.worker.logs()),
                           10, 0.1, "the producer noticing the outage")
        start = time.time()
        r = http_post(url + "/cow", json={"id": "refused"})
        assert time.time() - start < 1
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error_code"] == 50301
        assert "Kafka is unreachable" in r.json()["message"], r.text
    finally:
        kafka.command("broker-up 1")
    t.join()
    assert waiting["r"].status_code == 200, waiting["r"].text
    assert http_post(url + "/cow", json={"id": "after"}).status_code == 200
    assert cow_ids(kafka.bootstrap) == ["before", "waiting", "after"]


def test_mqtt_leaves_a_record_kafka_refuses_unacknowledged(kafka, worker_factory, mosquitto):
    """The runtime reports a refused record only to connectors that take charge of it (HTTP
    above). MQTT does not: its task fails without PUBACKing the message, so once the limit is
    raised the broker redelivers it to the persistent session and it reaches Kafka."""
    from test_mqtt_source import publish_all, source_config, wait_subscribed
    w = worker_factory(kafka.bootstrap)
    conf = source_config(mosquitto, "sensors", **{"mqtt.topics": "big/#",
                                                  "producer.override.message.max.bytes": "1000"})
    w.create("mq-big", conf)
    w.wait_state("mq-big", "RUNNING")
    wait_subscribed(w)
    big = b"B" * 3000
    publish_all(mosquitto, "big/a", [b"small", big])
    st = w.wait_task_state("mq-big", "FAILED")
    assert "Message size too large" in st["tasks"][0]["trace"]
    assert big not in [m.value() for m in read_topic(kafka.bootstrap, "sensors")]

    del conf["producer.override.message.max.bytes"]
    assert w.put("/connectors/mq-big/config", conf).status_code == 200
    got = harness.wait_until(
        lambda: (lambda v: big in v and v)([m.value() for m in
                                            read_topic(kafka.bootstrap, "sensors")]),
        30, 0.5, "the refused message redelivered")
    assert set(got) == {b"small", big}  # "small" may come twice (at least once)
