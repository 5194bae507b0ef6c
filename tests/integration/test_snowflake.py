"""SnowflakeSinkConnector against the Snowflake emulator (snowflake_emu.py): seed 002's
connector config with only the converters changed to JSON, exactly-once across kill -9 and
injected faults, and clear failures for bad credentials."""
import json
import os
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import harness
from harness import produce, wait_until

SEED_TOPICS = ("temperature_device_topic", "heart_rate_device_topic",
               "blood_pressure_device_topic", "oxygen_saturation_device_topic")
JSON = "org.apache.kafka.connect.json.JsonConverter"
STRING = "org.apache.kafka.connect.storage.StringConverter"


@pytest.fixture
def dev_kafka():
    k = harness.DevKafka(topics=tuple(f"{t}:1" for t in SEED_TOPICS) + ("vitals:2",))
    yield k
    k.stop()


def seed_config(emu, **over):
    """Seed 002's Snowflake connector, pointed at the emulator, converters changed to JSON."""
    c = {
        "connector.class": "com.snowflake.kafka.connector.SnowflakeSinkConnector",
        "topics": ",".join(SEED_TOPICS),
        "buffer.count.records": "1000000",
        "buffer.flush.time": "10",
        "buffer.size.bytes": "250000000",
        "tasks.max": "1",
        "snowflake.url.name": emu.url,
        "snowflake.account.name": emu.account.lower(),
        "snowflake.user.name": "kafka_user",
        "snowflake.private.key": emu.private_pem,
        "snowflake.database.name": "INGEST",
        "snowflake.schema.name": "INGEST",
        "snowflake.role.name": "INGEST",
        "key.converter": STRING,
        "value.converter": JSON,
        "value.converter.schemas.enable": "false",
    }
    c.update(over)
    return c


def device(i):
    return {"deviceId": f"device{i % 3}", "value": 60 + i, "latitude": 40.7128,
            "longitude": -74.006, "createdTime": 1640995200 + i}


def rows_by_offset(emu, table):
    return {(r["RECORD_METADATA"]["partition"], r["RECORD_METADATA"]["offset"]): r
            for r in emu.rows(table)}


def assert_no_secrets(w, emu):
    logs = w.logs()
    body = "".join(emu.private_pem.splitlines()[1:-1])
    assert body[:40] not in logs and body[-40:] not in logs
    for tok in list(emu.emu.scoped):
        assert tok not in logs


def test_seed002_rows_land_with_content_and_metadata(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("snowflake", seed_config(emu))
    w.wait_state("snowflake", "RUNNING")
    tables = wait_until(lambda: len(emu.emu.tables) == 4 and emu.emu.tables, 20,
                        what="the four tables")
    assert tables[("INGEST", "INGEST", "HEART_RATE_DEVICE_TOPIC")]["columns"] == {
        "RECORD_METADATA": "VARIANT", "RECORD_CONTENT": "VARIANT"}

    values = [device(i) for i in range(5)]
    t0 = time.time()
    produce(dev_kafka.bootstrap, "heart_rate_device_topic", values,
            keys=[v["deviceId"] for v in values],
            headers=[[("source", b"mqtt")] for _ in values])
    table = "INGEST.INGEST.HEART_RATE_DEVICE_TOPIC"
    rows = wait_until(lambda: len(emu.rows(table)) == 5 and emu.rows(table), 30,
                      what="5 rows after buffer.flush.time (10 s)")
    for i, r in enumerate(sorted(rows, key=lambda r: r["RECORD_METADATA"]["offset"])):
        assert r["RECORD_CONTENT"] == values[i]
        meta = r["RECORD_METADATA"]
        assert abs(meta.pop("CreateTime") / 1000 - t0) < 60
        assert meta == {"offset": i, "partition": 0, "topic": "heart_rate_device_topic",
                        "key": values[i]["deviceId"], "headers": {"source": "mqtt"}}
    for t in SEED_TOPICS:
        if t != "heart_rate_device_topic":
            assert emu.rows(f"INGEST.INGEST.{t.upper()}") == []
    # The channel's committed offset token is the last Kafka offset.
    chans = {c["channel_name"]: c for c in requests.get(emu.url + "/_emu/channels").json()}
    assert chans["SNOWFLAKE_HEART_RATE_DEVICE_TOPIC_0"]["last_committed_offset_token"] == "4"
    # Offsets the emulator committed reach Kafka (the runtime's flush contract).
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": dev_kafka.bootstrap, "group.id": "connect-snowflake"})
    try:
        wait_until(lambda: c.committed([TopicPartition("heart_rate_device_topic", 0)],
                                       timeout=5)[0].offset == 5, 20, what="Kafka commit")
    finally:
        c.close()
    assert_no_secrets(w, emu)


def test_schematization_gives_one_column_per_field(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", seed_config(emu, **{"topics": "temperature_device_topic",
                                       "snowflake.enable.schematization": "true",
                                       "snowflake.topic2table.map":
                                           "temperature_device_topic:TEMPS",
                                       "buffer.flush.time": "1"}))
    w.wait_state("sf", "RUNNING")
    produce(dev_kafka.bootstrap, "temperature_device_topic",
            [{"deviceId": "d1", "value": 98.6, "ok": True}, {"deviceId": "d2", "value": 99.1}],
            keys=["d1", "d2"])
    rows = wait_until(lambda: len(emu.rows("INGEST.INGEST.TEMPS")) == 2 and
                      emu.rows("INGEST.INGEST.TEMPS"), 20, what="2 rows")
    rows.sort(key=lambda r: r["RECORD_METADATA"]["offset"])
    assert [{k: v for k, v in r.items() if k != "RECORD_METADATA"} for r in rows] == [
        {"DEVICEID": "d1", "VALUE": 98.6, "OK": True}, {"DEVICEID": "d2", "VALUE": 99.1}]
    cols = emu.emu.tables[("INGEST", "INGEST", "TEMPS")]["columns"]
    assert cols == {"RECORD_METADATA": "VARIANT", "DEVICEID": "VARCHAR", "VALUE": "FLOAT",
                    "OK": "BOOLEAN"}


def fast_config(emu, **over):
    return seed_config(emu, **dict({"topics": "vitals", "buffer.count.records": "40",
                                    "buffer.flush.time": "1"}, **over))


def fault(emu, endpoint, status=None, count=1, mode="status", body=None):
    r = requests.post(emu.url + "/_emu/fault", json={"endpoint": endpoint, "status": status,
                                                     "count": count, "mode": mode,
                                                     "body": body})
    assert r.status_code == 200


def admin(emu, name, body=None):
    assert requests.post(emu.url + "/_emu/" + name, json=body or {}).status_code == 200


def assert_exactly_once(emu, table, total, per_partition_values):
    rows = emu.rows(table)
    keys = [(r["RECORD_METADATA"]["partition"], r["RECORD_METADATA"]["offset"]) for r in rows]
    dupes = len(keys) - len(set(keys))
    assert dupes == 0, f"{dupes} duplicate rows"
    want = {(p, o) for p, n in per_partition_values.items() for o in range(n)}
    assert set(keys) == want, f"missing {sorted(want - set(keys))[:10]}"
    assert len(rows) == total


def partition_counts(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                for p in (0, 1)}
    finally:
        c.close()


def test_each_fault_is_recovered_without_loss_or_duplicates(snowflake_emu, dev_kafka,
                                                            worker_factory):
    emu = snowflake_emu
    admin(emu, "commits", {"delay_ms": 300})
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu))
    w.wait_state("sf", "RUNNING")
    table = "INGEST.INGEST.VITALS"
    faults = [
        ("429 on append", lambda: fault(emu, "append", 429, 2)),
        ("503 with a bare-string body", lambda: fault(
            emu, "append", 503, 2, body="ERR_GENERAL_EXCEPTION_RETRY_REQUEST")),
        ("500 on channel status", lambda: fault(emu, "status", 500, 2)),
        ("401: scoped tokens expired", lambda: admin(emu, "expire_tokens")),
        ("401 injected on append", lambda: fault(emu, "append", 401, 1)),
        ("409: channels invalidated", lambda: admin(emu, "invalidate")),
        ("connection dropped before the append", lambda: fault(emu, "append", mode="drop")),
        ("reply lost after the append was applied",
         lambda: fault(emu, "append", mode="drop_after")),
        ("commits withheld for 3 s", lambda: admin(emu, "commits", {"hold": True})),
    ]
    sent = 0
    for name, inject in faults:
        inject()
        produce(dev_kafka.bootstrap, "vitals", [device(sent + i) for i in range(30)])
        sent += 30
        if name.startswith("commits withheld"):
            time.sleep(3)
            assert len(emu.rows(table)) == sent - 30, "rows visible before their commit"
            admin(emu, "commits", {"hold": False})
        wait_until(lambda: len(emu.rows(table)) >= sent, 30, what=f"rows after {name}")
        assert_exactly_once(emu, table, sent, partition_counts(dev_kafka.bootstrap, "vitals"))
    events = requests.get(emu.url + "/_emu/events").json()
    taken = {(e["endpoint"], e["mode"], e["status"]) for e in events if e["kind"] == "fault"}
    assert taken >= {("append", "status", 429), ("append", "status", 503),
                     ("status", "status", 500), ("append", "status", 401),
                     ("append", "drop", None), ("append", "drop_after", None)}, taken
    assert any(e["kind"] == "error" and e["code"] == "STALE_CONTINUATION_TOKEN_SEQUENCER"
               for e in events), "the lost reply must lead to a stale token and a reopen"
    assert w.status("sf")["tasks"][0]["state"] == "RUNNING"
    assert_no_secrets(w, emu)


def test_kill9_mid_stream_keeps_every_record_exactly_once(snowflake_emu, dev_kafka,
                                                          worker_factory):
    emu = snowflake_emu
    admin(emu, "commits", {"delay_ms": 400})
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu))
    w.wait_state("sf", "RUNNING")
    table = "INGEST.INGEST.VITALS"
    total = 1600

    def producer():
        for i in range(0, total, 40):
            produce(dev_kafka.bootstrap, "vitals", [device(i + k) for k in range(40)])
            time.sleep(0.08)
    t = threading.Thread(target=producer)
    t.start()
    for kill_at, inject in ((200, lambda: fault(emu, "append", 429, 2)),
                            (700, lambda: (fault(emu, "append", 503, 1),
                                           admin(emu, "expire_tokens")))):
        inject()
        wait_until(lambda: len(emu.rows(table)) > kill_at, 30, what=f"{kill_at} rows")
        w.kill9()  # with appended-but-uncommitted batches in flight
        w = worker_factory(dev_kafka.bootstrap, workdir=w.dir)
        w.wait_state("sf", "RUNNING")
    t.join()
    wait_until(lambda: len(emu.rows(table)) >= total, 40, what="every record")
    time.sleep(1.5)  # a duplicate would show up now
    assert_exactly_once(emu, table, total, partition_counts(dev_kafka.bootstrap, "vitals"))
    got = sorted((r["RECORD_CONTENT"]["createdTime"] for r in emu.rows(table)))
    assert got == [1640995200 + i for i in range(total)]
    opens = [e for e in requests.get(emu.url + "/_emu/events").json() if e["kind"] == "open"]
    assert any(e["committed"] is not None for e in opens), "restarts resume from the token"


def test_wrong_key_fails_the_task_with_a_clear_message(snowflake_emu, dev_kafka,
                                                       worker_factory):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", seed_config(snowflake_emu, **{"snowflake.private.key": pem}))
    s = w.wait_task_state("sf", "FAILED")
    trace = s["tasks"][0]["trace"]
    assert "refused the key-pair login of user kafka_user" in trace
    assert "RSA_PUBLIC_KEY" in trace
    assert pem.splitlines()[1][:30] not in w.logs()


def test_unknown_database_fails_at_start(snowflake_emu, dev_kafka, worker_factory):
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", seed_config(snowflake_emu, **{"snowflake.database.name": "NOPE"}))
    trace = w.wait_task_state("sf", "FAILED")["tasks"][0]["trace"]
    assert "Database 'NOPE' does not exist" in trace
    assert "snowflake.database.name" in trace


def validate(w, config):
    r = w.put("/connector-plugins/SnowflakeSinkConnector/config/validate",
              dict(config, name="sf"))
    assert r.status_code == 200, r.text
    return {c["value"]["name"]: c["value"]["errors"] for c in r.json()["configs"]
            if c["value"]["errors"]}


def test_validate_names_bad_key_and_passphrase(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    assert validate(w, seed_config(emu)) == {}
    bare = "".join(emu.private_pem.splitlines()[1:-1])
    assert validate(w, seed_config(emu, **{"snowflake.private.key": bare})) == {}
    errs = validate(w, seed_config(emu, **{"snowflake.private.key": "bm90IGEga2V5"}))
    assert list(errs) == ["snowflake.private.key"]
    enc = emu.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"s3cret")).decode()
    assert validate(w, seed_config(emu, **{"snowflake.private.key": enc,
                                           "snowflake.private.key.passphrase": "s3cret"})) == {}
    errs = validate(w, seed_config(emu, **{"snowflake.private.key": enc,
                                           "snowflake.private.key.passphrase": "wrong"}))
    assert list(errs) == ["snowflake.private.key.passphrase"]
    assert "wrong passphrase" in errs["snowflake.private.key.passphrase"][0]
    errs = validate(w, seed_config(emu, **{"snowflake.ingestion.method": "SNOWPIPE"}))
    assert list(errs) == ["snowflake.ingestion.method"]
    errs = validate(w, seed_config(emu, **{"snowflake.account.name": ""}))
    assert list(errs) == ["snowflake.account.name"]


def test_example_config_is_seed002s_connector(snowflake_emu, dev_kafka, worker_factory):
    """configs/seed-002-snowflake-sink.json, with the emulator's URL and key put in, validates
    and delivers."""
    import os
    path = os.path.join(harness.ROOT, "configs", "seed-002-snowflake-sink.json")
    with open(path) as f:
        example = json.load(f)["config"]
    assert example["connector.class"] == "com.snowflake.kafka.connector.SnowflakeSinkConnector"
    assert example["topics"] == ",".join(SEED_TOPICS)
    emu = snowflake_emu
    conf = dict(example, **{"snowflake.url.name": emu.url,
                            "snowflake.account.name": emu.account,
                            "snowflake.private.key": emu.private_pem,
                            "buffer.flush.time": "1"})
    w = worker_factory(dev_kafka.bootstrap)
    assert validate(w, conf) == {}
    w.create("health", conf)
    w.wait_state("health", "RUNNING")
    produce(dev_kafka.bootstrap, "oxygen_saturation_device_topic", [device(1)], keys=["device1"])
    rows = wait_until(lambda: emu.rows("INGEST.INGEST.OXYGEN_SATURATION_DEVICE_TOPIC"), 20,
                      what="the row")
    assert [r["RECORD_CONTENT"] for r in rows] == [device(1)]


@pytest.mark.parametrize("snowflake_emu", [{"hostname_format": "json", "token_format": "json"}],
                         indirect=True)
def test_json_hostname_and_token_replies_work_too(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu))
    w.wait_state("sf", "RUNNING")
    produce(dev_kafka.bootstrap, "vitals", [device(i) for i in range(10)])
    wait_until(lambda: len(emu.rows("INGEST.INGEST.VITALS")) == 10, 20, what="10 rows")
    assert_exactly_once(emu, "INGEST.INGEST.VITALS", 10,
                        partition_counts(dev_kafka.bootstrap, "vitals"))


def test_rows_the_service_rejects_fail_the_task(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu))
    w.wait_state("sf", "RUNNING")
    admin(emu, "reject", {"rows": 1})
    # One key, so one partition and one append: with the rows on two channels, the status
    # read that finds the rejection could fail the task before the other channel's buffer
    # went out, and fewer than 3 rows would arrive.
    produce(dev_kafka.bootstrap, "vitals", [device(i) for i in range(4)], keys=["d"] * 4)
    wait_until(lambda: len(emu.rows("INGEST.INGEST.VITALS")) == 3, 20, what="3 good rows")
    # The service reports the rejection through the channel status, read at flush.
    trace = w.wait_task_state("sf", "FAILED")["tasks"][0]["trace"]
    assert "Snowflake rejected 1 row(s)" in trace
    assert "Numeric value 'abc' is not recognized" in trace


def test_rejected_rows_are_skipped_with_errors_tolerance_all(snowflake_emu, dev_kafka,
                                                             worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu, **{"errors.tolerance": "all", "errors.log.enable": "true"}))
    w.wait_state("sf", "RUNNING")
    admin(emu, "reject", {"rows": 2})
    produce(dev_kafka.bootstrap, "vitals", [device(i) for i in range(6)])
    wait_until(lambda: len(emu.rows("INGEST.INGEST.VITALS")) == 4, 20, what="4 good rows")
    produce(dev_kafka.bootstrap, "vitals", [device(i) for i in range(6, 10)])
    wait_until(lambda: len(emu.rows("INGEST.INGEST.VITALS")) == 8, 20, what="8 good rows")
    assert w.status("sf")["tasks"][0]["state"] == "RUNNING"
    assert "Snowflake rejected" in w.logs()


def test_403_fails_the_task_without_reopening(snowflake_emu, dev_kafka, worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu))
    w.wait_state("sf", "RUNNING")
    fault(emu, "append", 403, 5, body={"code": "390102", "message": "not authorized"})
    produce(dev_kafka.bootstrap, "vitals", [device(i) for i in range(3)])
    trace = w.wait_task_state("sf", "FAILED")["tasks"][0]["trace"]
    assert "Snowflake refused an append (HTTP 403 390102 not authorized)" in trace
    assert "snowflake.role.name" in trace
    events = requests.get(emu.url + "/_emu/events").json()
    assert [e for e in events if e["kind"] == "open"][-1]["t"] < \
        [e for e in events if e["kind"] == "fault"][0]["t"], "403 must not lead to a reopen"


def test_big_backlog_is_split_into_gzip_requests_under_4mb(snowflake_emu, dev_kafka,
                                                          worker_factory):
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", seed_config(emu, topics="vitals"))  # seed 002's 250 MB buffer.size.bytes
    w.wait_state("sf", "RUNNING")
    wait_until(lambda: len(requests.get(emu.url + "/_emu/channels").json()) == 2, 20,
               what="both channels open (partitions assigned)")
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": dev_kafka.bootstrap})
    total = 300
    # ~4.3 MB of hard-to-compress JSON on one partition (dev-kafka keeps only ~5 MB of a
    # partition, so not more).
    for i in range(total):
        v = dict(device(i), blob=os.urandom(7000).hex()[:14000])
        p.produce("vitals", value=json.dumps(v), partition=0)
        if i % 20 == 19:
            assert p.flush(30) == 0
    assert p.flush(30) == 0
    wait_until(lambda: len(emu.rows("INGEST.INGEST.VITALS")) == total, 40, what="all rows")
    appends = [e for e in requests.get(emu.url + "/_emu/events").json()
               if e["kind"] == "append"]
    assert len(appends) >= 2
    assert all(a["encoding"] == "gzip" for a in appends)
    assert all(a["wire_bytes"] <= 4 * 1024 * 1024 for a in appends)
    assert max(a["bytes"] for a in appends) > 3 * 1024 * 1024  # batches are filled up
    assert_exactly_once(emu, "INGEST.INGEST.VITALS", total, {0: total, 1: 0})


@pytest.mark.parametrize("snowflake_emu", [{"scoped_lifetime": 8}], indirect=True)
def test_tokens_are_renewed_before_they_expire_and_nothing_is_refused(snowflake_emu, dev_kafka,
                                                                      worker_factory):
    """8-second JWTs and scoped tokens: over 20 s of streaming the sink renews both ahead of
    expiry (the emulator refuses an expired token with 401, and none is refused)."""
    emu = snowflake_emu
    w = worker_factory(dev_kafka.bootstrap)
    w.create("sf", fast_config(emu, **{"snowflake.jwt.lifetime.seconds": "8"}))
    w.wait_state("sf", "RUNNING")
    table = "INGEST.INGEST.VITALS"
    sent, end = 0, time.time() + 20
    while time.time() < end:
        produce(dev_kafka.bootstrap, "vitals", [device(sent + i) for i in range(20)])
        sent += 20
        time.sleep(1)
    wait_until(lambda: len(emu.rows(table)) >= sent, 30, what="every row")
    assert_exactly_once(emu, table, sent, partition_counts(dev_kafka.bootstrap, "vitals"))
    events = requests.get(emu.url + "/_emu/events").json()
    refused = [e for e in events if e["kind"] == "error" and e["status"] == 401]
    assert refused == [], refused
    tokens = [e for e in events if e["kind"] == "token"]
    assert len(tokens) >= 3, "the scoped token was not renewed"
    for old, new in zip(tokens, tokens[1:]):
        assert new["t"] < old["exp"], "a scoped token was renewed only after it expired"
    jwts = [e for e in events if e["kind"] == "jwt"]
    assert len(jwts) >= 2, "the JWT was not renewed"
    assert {j["exp"] - j["iat"] for j in jwts} == {8}
    assert w.status("sf")["tasks"][0]["state"] == "RUNNING"
    assert_no_secrets(w, emu)
