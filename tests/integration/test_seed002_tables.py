"""Seed 002's split without Lenses: one topic of device records, four JDBC sinks whose
predicates drop tombstones and test traffic and whose ReplaceField keeps deviceId, timestamp
and one measure each, routed by RegexRouter to four tables (blood_pressure, heart_rate,
oxygen_saturation, temperature) in Postgres, with exact rows."""
import json

import pytest

import harness
from harness import produce, wait_until
from test_transforms import HEALTH_SCHEMA, MEASURES, device_record

T = "org.apache.kafka.connect.transforms."
JSON = "org.apache.kafka.connect.json.JsonConverter"


@pytest.fixture
def dev_kafka():
    k = harness.DevKafka(topics=("device_data:1",))
    yield k
    k.stop()


def split_sink(pg, table, measure):
    return {
        "connector.class": "JdbcSinkConnector", "topics": "device_data",
        "connection.url": pg.url, "connection.user": "postgres",
        "auto.create": "true", "insert.mode": "insert", "pk.mode": "none",
        "table.name.format": "${topic}",
        "value.converter": JSON, "value.converter.schemas.enable": "true",
        "transforms": "dropTombstones,dropTests,keep,route",
        "transforms.dropTombstones.type": T + "Filter",
        "transforms.dropTombstones.predicate": "isTombstone",
        "transforms.dropTests.type": T + "Filter",
        "transforms.dropTests.predicate": "isTest",
        "transforms.keep.type": T + "ReplaceField$Value",
        "transforms.keep.include": "deviceId,timestamp," + measure,
        "transforms.route.type": T + "RegexRouter",
        "transforms.route.regex": "device_data",
        "transforms.route.replacement": table,
        "predicates": "isTombstone,isTest",
        "predicates.isTombstone.type": T + "predicates.RecordIsTombstone",
        "predicates.isTest.type": T + "predicates.HasHeaderKey",
        "predicates.isTest.name": "test",
    }


def rows(pg, table, cols):
    try:
        return pg.query(f'SELECT {cols} FROM "{table}" ORDER BY "timestamp"')
    except Exception:  # the table does not exist yet
        return None


def test_seed_002_split_into_four_tables(dev_kafka, worker, postgres):
    records = [device_record(i) for i in range(6)]
    values = [json.dumps({"schema": HEALTH_SCHEMA, "payload": r}) for r in records]
    values += [None, json.dumps({"schema": HEALTH_SCHEMA, "payload": device_record(99)})]
    headers = [None] * 6 + [None, [("test", b"1")]]
    produce(dev_kafka.bootstrap, "device_data", values, headers=headers)

    for table, measure in MEASURES.items():
        worker.create(f"split-{table}", split_sink(postgres, table, measure))
    for table, measure in MEASURES.items():
        fields = ["deviceId", "timestamp"] + measure.split(",")
        cols = ", ".join(f'"{f}"' for f in fields)
        want = [tuple(r[f] for f in fields) for r in records]
        got = wait_until(lambda: (lambda x: x if x and len(x) >= len(want) else None)(
            rows(postgres, table, cols)), 60, what=f"rows in {table}")
        assert [tuple(r) for r in got] == want
        got_cols = [r[0] for r in postgres.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position", (table,))]
        assert got_cols == fields
    for table in MEASURES:
        assert worker.get(f"/connectors/split-{table}/status").json()["tasks"][0]["state"] \
            == "RUNNING"
