"""MqttSourceConnector against a real mosquitto (password file, user1/password as seed 002):
exact Kafka messages, and QoS 1 that survives a kill -9 of the worker and a broker restart."""
import json
import os
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

import harness
from harness import consume_all, wait_until

STRING = "org.apache.kafka.connect.storage.StringConverter"
BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
TOPIC = "health/device_data"


@pytest.fixture
def kafka():
    k = harness.DevKafka(topics=("device_data:1", "stream:1", "restart:1", "qos0:1", "held:1"))
    yield k
    k.stop()


def publisher(broker, client_id="pub"):
    c = mqtt.Client(client_id=client_id, clean_session=True)
    c.username_pw_set(broker.USER, broker.PASSWORD)
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def publish_all(broker, topic, payloads, qos=1, pause_every=0):
    c = publisher(broker)
    infos = []
    for i, p in enumerate(payloads):
        infos.append(c.publish(topic, p, qos=qos))
        if pause_every and i % pause_every == 0:
            time.sleep(0.01)
    for info in infos:
        info.wait_for_publish()
    c.loop_stop()
    c.disconnect()


def source_config(broker, kafka_topic, **extra):
    conf = {"connector.class": "MqttSourceConnector", "mqtt.server.uri": broker.url,
            "mqtt.topics": "health/#", "kafka.topic": kafka_topic, "mqtt.qos": "1",
            "mqtt.username": broker.USER, "mqtt.password": broker.PASSWORD,
            "key.converter": STRING, "value.converter": BYTES}
    conf.update(extra)
    return conf


def read_topic(bootstrap, topic, timeout=10):
    """Every message now in partition 0 of topic (assign, no group: no rebalance wait)."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "read-topic",
                  "enable.auto.commit": False})
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=timeout)
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out, deadline = [], time.time() + timeout
        while len(out) < high and time.time() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                out.append(m)
        return out
    finally:
        c.close()


def wait_subscribed(w, times=1):
    wait_until(lambda: w.logs().count("subscribed to") >= times, 30, 0.1, "MQTT subscription")


def device(i):
    return json.dumps({"deviceId": f"device{i:03d}", "timestamp": 1640995200 + i,
                       "heartRate": 70 + i % 20, "systolic": 120, "diastolic": 80,
                       "oxygenSaturation": 98, "bodyTemperature": 98.6,
                       "latitude": 40.7128, "longitude": -74.006}).encode()


def test_seed_002_device_data_arrive_exactly(kafka, worker_factory, mosquitto):
    w = worker_factory(kafka.bootstrap)
    w.create("mqtt", source_config(mosquitto, "device_data"))
    w.wait_state("mqtt", "RUNNING")
    wait_subscribed(w)
    payloads = [device(i) for i in range(50)]
    publish_all(mosquitto, TOPIC, payloads)

    msgs = consume_all(kafka.bootstrap, "device_data", 50)
    assert [m.value() for m in msgs] == payloads
    assert {m.key() for m in msgs} == {TOPIC.encode()}
    h = dict(msgs[0].headers())
    assert h["mqtt.topic"] == TOPIC.encode()
    assert h["mqtt.qos"] == b"1"
    assert h["mqtt.retained"] == b"false"
    assert int(h["mqtt.message.id"]) > 0
    assert mosquitto.PASSWORD not in w.logs().replace("mqtt.password", "")
    assert w.status("mqtt")["tasks"][0]["state"] == "RUNNING"


def test_an_idle_connection_is_kept_alive_with_pings(kafka, worker_factory, mosquitto):
    """With a 1 s keepalive the broker drops a client that sends nothing for 1.5 s: the task
    sends PINGREQ when idle, so the connection lasts through 7 s without messages (mosquitto
    2.0.11 closed a silent raw client with keepalive 1 after about 5 s)."""
    w = worker_factory(kafka.bootstrap)
    w.create("mq-idle", source_config(mosquitto, "device_data",
                                      **{"mqtt.keepalive.interval.seconds": "1"}))
    w.wait_state("mq-idle", "RUNNING")
    wait_subscribed(w)
    time.sleep(7)
    publish_all(mosquitto, TOPIC, [device(5)])
    assert [m.value() for m in consume_all(kafka.bootstrap, "device_data", 1)] == [device(5)]
    assert "connection lost" not in w.logs()


def test_large_and_small_messages_arrive_byte_exact(kafka, worker_factory, mosquitto):
    """Packets of every size in one stream: the read buffer grows for a 700 KB message (over
    several socket reads) and the messages around it are framed right."""
    w = worker_factory(kafka.bootstrap)
    w.create("mq-big", source_config(mosquitto, "device_data"))
    w.wait_state("mq-big", "RUNNING")
    wait_subscribed(w)
    big = bytes(range(256)) * 2800
    payloads = [b"a", big, b"", b"\x00\xff" * 70, big[:-1], device(7)]
    publish_all(mosquitto, TOPIC, payloads)
    msgs = consume_all(kafka.bootstrap, "device_data", len(payloads))
    assert [m.value() or b"" for m in msgs] == payloads


def test_kill9_mid_stream_loses_no_qos1_message(kafka, worker_factory, mosquitto):
    w = worker_factory(kafka.bootstrap)
    w.create("mq-kill", source_config(mosquitto, "stream", **{"mqtt.topics": "kill/#"}))
    w.wait_state("mq-kill", "RUNNING")
    wait_subscribed(w)
    total = 10000
    payloads = [f"msg-{i:05d}".encode() for i in range(total)]
    t = threading.Thread(target=publish_all, args=(mosquitto, "kill/a", payloads),
                         kwargs={"pause_every": 50})
    t.start()
    wait_until(lambda: len(read_topic(kafka.bootstrap, "stream")) >= 300, 60, 0.2,
               "messages flowing")
    w.kill9()
    at_kill = len(read_topic(kafka.bootstrap, "stream"))
    t.join()  # the rest is published while the worker is down: the broker queues it
    assert at_kill < total

    w2 = worker_factory(kafka.bootstrap, workdir=w.dir)
    w2.wait_state("mq-kill", "RUNNING")

    def all_there():
        got = {m.value() for m in read_topic(kafka.bootstrap, "stream")}
        return got >= set(payloads) and got
    got = wait_until(all_there, 90, 1, "every QoS 1 message in Kafka")
    assert got == set(payloads)


@pytest.mark.parametrize("qos", [1, 2])
def test_messages_kafka_did_not_acknowledge_are_redelivered_after_a_crash(kafka, worker_factory,
                                                                         mosquitto, qos):
    """Kafka is down, so the messages the task reads cannot be acknowledged to the broker
    (PUBACK, or PUBREC for QoS 2). kill -9 the worker then: the broker still holds them for the
    persistent session, and they reach Kafka after the restart. A client that acknowledged on
    read would lose every one."""
    w = worker_factory(kafka.bootstrap)
    w.create("mq-held", source_config(mosquitto, "held", **{"mqtt.topics": "held/#",
                                                            "mqtt.qos": str(qos)}))
    w.wait_state("mq-held", "RUNNING")
    wait_subscribed(w)
    publish_all(mosquitto, "held/a", [b"first"], qos=qos)
    wait_until(lambda: len(read_topic(kafka.bootstrap, "held")) == 1, 30, 0.2, "first")
    assert kafka.command("broker-down 1").startswith("ok")
    payloads = [f"held-{i}".encode() for i in range(20)]
    publish_all(mosquitto, "held/a", payloads, qos=qos)
    time.sleep(1)  # the task reads them and hands them to a producer that cannot send
    w.kill9()
    assert kafka.command("broker-up 1").startswith("ok")
    w2 = worker_factory(kafka.bootstrap, workdir=w.dir)
    w2.wait_state("mq-held", "RUNNING")
    got = wait_until(lambda: len(read_topic(kafka.bootstrap, "held")) >= 21 and
                     read_topic(kafka.bootstrap, "held"), 30, 0.5, "the held messages")
    assert sorted(m.value() for m in got) == sorted([b"first"] + payloads)
    assert {dict(m.headers())["mqtt.qos"] for m in got} == {str(qos).encode()}


def test_broker_restart_reconnects_and_loses_nothing(kafka, worker_factory):
    broker = harness.Mosquitto()
    try:
        w = worker_factory(kafka.bootstrap)
        w.create("mq-restart", source_config(broker, "restart"))
        w.wait_state("mq-restart", "RUNNING")
        wait_subscribed(w)
        first = [f"a-{i}".encode() for i in range(100)]
        publish_all(broker, TOPIC, first)
        assert len(consume_all(kafka.bootstrap, "restart", 100)) == 100

        broker.stop()
        broker.start()
        wait_subscribed(w, 2)  # reconnected and subscribed again
        second = [f"b-{i}".encode() for i in range(100)]
        publish_all(broker, TOPIC, second)
        msgs = consume_all(kafka.bootstrap, "restart", 200)
        assert {m.value() for m in msgs} == set(first + second)
        assert w.status("mq-restart")["tasks"][0]["state"] == "RUNNING"
        assert "connection lost" in w.logs()
    finally:
        broker.close()


def test_a_broker_that_never_answers_the_tcp_connect_does_not_block_the_task(kafka,
                                                                            worker_factory):
    """A listener whose accept queue is full drops SYNs, so a TCP connect to it hangs for the
    kernel's timeout (about two minutes). The connect does not block: the task notices there
    was no CONNACK within mqtt.connect.timeout.seconds, and deleting it is prompt."""
    import socket
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(0)
    port = stuck.getsockname()[1]
    fill = socket.create_connection(("127.0.0.1", port))  # takes the only backlog place
    try:
        w = worker_factory(kafka.bootstrap)
        w.create("mq-stuck", {"connector.class": "MqttSourceConnector",
                              "mqtt.server.uri": f"tcp://127.0.0.1:{port}",
                              "mqtt.topics": "health/#", "kafka.topic": "stuck",
                              "mqtt.connect.timeout.seconds": "2"})
        w.wait_state("mq-stuck", "RUNNING")
        harness.wait_until(lambda: "no CONNACK within mqtt.connect.timeout.seconds" in w.logs(),
                           10, 0.2, "the connect timeout")
        start = time.time()
        assert w.delete("/connectors/mq-stuck").status_code == 204
        harness.wait_until(lambda: w.get("/connectors").json() == [], 10, 0.1, "deletion")
        assert time.time() - start < 5
    finally:
        fill.close()
        stuck.close()


def test_wrong_password_fails_the_task_with_the_broker_reason(kafka, worker_factory, mosquitto):
    w = worker_factory(kafka.bootstrap)
    w.create("mq-bad", source_config(mosquitto, "device_data",
                                     **{"mqtt.password": "not-the-password"}))
    st = w.wait_task_state("mq-bad", "FAILED")
    assert "not authorised" in st["tasks"][0]["trace"]
    assert "not-the-password" not in w.logs()


def test_qos0_loses_what_is_published_while_the_worker_is_down(kafka, worker_factory,
                                                               mosquitto):
    """QoS 0 is documented as lossy: the broker queues nothing for an offline QoS 0
    subscription, so messages published while connectd is down never arrive."""
    w = worker_factory(kafka.bootstrap)
    w.create("mq-q0", source_config(mosquitto, "qos0", **{"mqtt.topics": "q0/#",
                                                          "mqtt.qos": "0"}))
    w.wait_state("mq-q0", "RUNNING")
    wait_subscribed(w)
    publish_all(mosquitto, "q0/x", [b"before-1", b"before-2"], qos=0)
    wait_until(lambda: len(read_topic(kafka.bootstrap, "qos0")) == 2, 30, 0.2, "before")
    w.kill9()
    publish_all(mosquitto, "q0/x", [b"while-down"], qos=0)
    w2 = worker_factory(kafka.bootstrap, workdir=w.dir)
    w2.wait_state("mq-q0", "RUNNING")
    wait_subscribed(w2)
    publish_all(mosquitto, "q0/x", [b"after"], qos=0)
    wait_until(lambda: len(read_topic(kafka.bootstrap, "qos0")) == 3, 30, 0.2, "after")
    assert [m.value() for m in read_topic(kafka.bootstrap, "qos0")] == [
        b"before-1", b"before-2", b"after"]
    assert dict(read_topic(kafka.bootstrap, "qos0")[0].headers())["mqtt.qos"] == b"0"


def make_ca(d):
    """A CA and a server certificate for 127.0.0.1 made with the openssl CLI."""
    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
         "-keyout", "ca.key", "-out", "ca.crt")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.crt")
    return {n: os.path.join(d, n) for n in ("ca.crt", "server.crt", "server.key")}


def test_tls_listener_with_a_test_ca(kafka, worker_factory, tmp_path):
    files = make_ca(str(tmp_path))
    port = harness.free_port()
    broker = harness.Mosquitto(extra_conf=(
        f"listener {port} 127.0.0.1\ncafile {files['ca.crt']}\n"
        f"certfile {files['server.crt']}\nkeyfile {files['server.key']}\n"))
    try:
        w = worker_factory(kafka.bootstrap)
        w.create("mq-tls", source_config(broker, "device_data", **{
            "mqtt.server.uri": f"ssl://127.0.0.1:{port}",
            "mqtt.ssl.ca.location": files["ca.crt"]}))
        w.wait_state("mq-tls", "RUNNING")
        wait_subscribed(w)
        publish_all(broker, TOPIC, [device(1), device(2)])
        msgs = wait_until(lambda: len(read_topic(kafka.bootstrap, "device_data")) == 2 and
                          read_topic(kafka.bootstrap, "device_data"), 30, 0.2, "TLS messages")
        assert [m.value() for m in msgs] == [device(1), device(2)]
    finally:
        broker.close()


def test_tls_client_certificate_and_host_name_check(kafka, worker_factory, tmp_path):
    """A listener that requires a client certificate: the connector with its certificate and
    key gets the messages. Connecting by a name the broker's certificate does not carry
    (localhost; it names IP 127.0.0.1) is refused until mqtt.ssl.verify.hostname=false."""
    d = str(tmp_path)
    files = make_ca(d)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=connectd",
                    "-keyout", "client.key", "-out", "client.csr"], check=True,
                   capture_output=True, cwd=d)
    subprocess.run(["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey",
                    "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.crt"],
                   check=True, capture_output=True, cwd=d)
    port = harness.free_port()
    broker = harness.Mosquitto(extra_conf=(
        f"listener {port} 127.0.0.1\ncafile {files['ca.crt']}\n"
        f"certfile {files['server.crt']}\nkeyfile {files['server.key']}\n"
        "require_certificate true\n"))
    tls = {"mqtt.ssl.ca.location": files["ca.crt"],
           "mqtt.ssl.certificate.location": os.path.join(d, "client.crt"),
           "mqtt.ssl.key.location": os.path.join(d, "client.key")}
    try:
        w = worker_factory(kafka.bootstrap)
        w.create("mq-name", source_config(broker, "stream", **tls, **{
            "mqtt.server.uri": f"ssl://localhost:{port}"}))
        wait_until(lambda: "certificate verify failed" in w.logs(), 20, 0.2, "refusal")
        assert w.status("mq-name")["tasks"][0]["state"] == "RUNNING"  # it keeps retrying
        w.delete("/connectors/mq-name")
        w.create("mq-cert", source_config(broker, "device_data", **tls, **{
            "mqtt.server.uri": f"ssl://localhost:{port}",
            "mqtt.ssl.verify.hostname": "false"}))
        w.wait_state("mq-cert", "RUNNING")
        wait_subscribed(w)
        publish_all(broker, TOPIC, [device(3), device(4)])
        msgs = wait_until(lambda: len(read_topic(kafka.bootstrap, "device_data")) == 2 and
                          read_topic(kafka.bootstrap, "device_data"), 30, 0.2, "TLS messages")
        assert [m.value() for m in msgs] == [device(3), device(4)]
    finally:
        broker.close()


def test_two_tasks_share_the_subscription(kafka, worker_factory, mosquitto):
    w = worker_factory(kafka.bootstrap)
    w.create("mq-shared", source_config(mosquitto, "stream", **{"mqtt.topics": "shared/#",
                                                               "tasks.max": "2"}))
    w.wait_state("mq-shared", "RUNNING", tasks=2)
    wait_subscribed(w, 2)
    payloads = [f"s-{i}".encode() for i in range(400)]
    publish_all(mosquitto, "shared/x", payloads)
    wait_until(lambda: len(read_topic(kafka.bootstrap, "stream")) >= 400, 30, 0.2, "all")
    time.sleep(0.5)
    values = [m.value() for m in read_topic(kafka.bootstrap, "stream")]
    assert sorted(values) == sorted(payloads)  # each message once: the broker split them
    assert "connectd-mq-shared-0" in w.logs() and "connectd-mq-shared-1" in w.logs()
