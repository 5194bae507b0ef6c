#!/usr/bin/python3
"""MQTT QoS 1 from mosquitto into Kafka: connectd draining N messages the broker queued for
its persistent session, against the limit of `mosquitto_sub -q 1` (persistent session too)
draining the same number from the same broker (the publisher's speed is left out: it is
slower than both). Run with the broker's default max_inflight_messages (20) and raised values:

    BENCH_MQTT_N=50000 /usr/bin/python3 tests/bench/bench_mqtt_source.py [messages] [max_inflight ...]

BENCH_EXTRA (JSON) adds connector config keys, e.g. '{"producer.override.linger.ms": "0.2"}'.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import paho.mqtt.client as mqtt  # noqa: E402

import harness  # noqa: E402


def publish(broker, topic, n, payload=b"x" * 200):
    c = mqtt.Client(client_id=f"bench-pub-{time.time()}", clean_session=True)
    c.username_pw_set(broker.USER, broker.PASSWORD)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    for start in range(0, n, 5000):  # in chunks: paho's queue is bounded
        infos = [c.publish(topic, payload, qos=1) for _ in range(min(5000, n - start))]
        for i in infos:
            i.wait_for_publish()
    c.loop_stop()
    c.disconnect()


def high_watermark(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def sub_args(broker, *extra):
    """mosquitto_sub on the bench's persistent QoS 1 session (seed 002's user and password)."""
    return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", broker.USER,
            "-P", broker.PASSWORD, "-c", "-i", "bench-sub", "-q", "1", "-t", "limit/#", *extra]


def limit(broker, n):
    """Messages/s `mosquitto_sub -q 1` drains from its persistent session: the limit."""
    subprocess.run(sub_args(broker, "-E"), check=True, timeout=30)  # subscribe, then leave
    publish(broker, "limit/a", n)  # queued by the broker for the offline session
    t0 = time.time()
    subprocess.run(sub_args(broker, "-C", str(n)), check=True, stdout=subprocess.DEVNULL,
                   timeout=600)
    return n / (time.time() - t0)


def connectd(broker, n, workdir):
    """Messages/s connectd drains from its persistent session into Kafka (acks=all)."""
    k = harness.DevKafka(topics=("bench:1",))
    w = harness.Worker(k.bootstrap, workdir=workdir).start()
    try:
        w.create("bench", {"connector.class": "MqttSourceConnector",
                           "mqtt.server.uri": broker.url, "mqtt.topics": "bench/#",
                           "kafka.topic": "bench", "mqtt.username": broker.USER,
                           "mqtt.password": broker.PASSWORD,
                           "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                           "value.converter":
                               "org.apache.kafka.connect.converters.ByteArrayConverter",
                           **json.loads(os.environ.get("BENCH_EXTRA", "{}"))})
        w.wait_state("bench", "RUNNING")
        harness.wait_until(lambda: "subscribed to" in w.logs(), 30)
        w.stop()
        publish(broker, "bench/a", n)
        w.start()
        # from the first record in Kafka on, so the worker's own start is left out
        m0 = harness.wait_until(lambda: high_watermark(k.bootstrap, "bench"), 60, 0.01)
        t0 = time.time()
        harness.wait_until(lambda: high_watermark(k.bootstrap, "bench") >= n, 600, 0.05)
        return (n - m0) / (time.time() - t0)
    finally:
        w.stop()
        k.stop()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_MQTT_N", "50000"))
    inflights = [int(a) for a in sys.argv[2:]] or [20, 1000]
    import tempfile
    for inflight in inflights:
        broker = harness.Mosquitto(extra_conf=f"max_inflight_messages {inflight}\n")
        try:
            lim = limit(broker, n)
            ours = connectd(broker, n, tempfile.mkdtemp(prefix="bench-w-"))
            print(f"max_inflight_messages={inflight}: mosquitto_sub -q 1 limit "
                  f"{lim:,.0f} msg/s, connectd -> Kafka {ours:,.0f} msg/s "
                  f"({ours / lim:.2f}x)", flush=True)
        finally:
            broker.close()


if __name__ == "__main__":
    main()
