"""The JDBC sink reads plain schemaless JSON values straight from their bytes (jdbc_fast.c) and
leaves every other record to the usual path (converter, jansson tree, fields). Two connectors
read the same topic: one configured as users do, and one with a transform that changes
nothing the sink writes (InsertHeader), which makes the runtime convert every value first, as
it always did. Their tables must hold the same rows and their dead letter queues the same
records, for a stream built to hit each case where the fast path must hand over; a few rows
are checked against their expected values as well."""
import json

import pytest

import harness
from test_jdbc_sink import CLASS, DB, one_partition  # noqa: F401 (DB: the db fixture's type)
from test_jdbc_sink import db  # noqa: F401 (fixture)

BIG = "x" * 100_000

# (raw value bytes, what the case is about)
STREAM = [
    (b'{"id":1,"s":"plain","n":72,"x":1.5,"b":true,"z":null}', "creates the table"),
    (b'{"id":2,"s":"q\\"b\\\\s\\/t\\tn\\nr\\ru\\u00e9\\u20ac","n":-0,"x":-0.0,"b":false}',
     "escapes, -0"),
    ("{\"id\":3,\"s\":\"\u00fcn\u00ef \U0001F404 \u4e2d\u6587\",\"n\":123456789012345678,"
     "\"x\":1e5,\"b\":true}".encode(), "raw UTF-8, 18 digits, an exponent"),
    (b'{"id":4,"n":1234567890123456789}', "19 digits"),
    (b' { "b" : false , "id" : 5 , "s" : "" } \n', "whitespace, another order, empty string"),
    (b'{"id":6,"s":"first","s":"second"}', "a duplicate key: the last wins"),
    (b'{"id":7,"\\u0073":"escaped key"}', "an escaped key"),
    (b'{"id":8,"extra":"new column"}', "a new field: auto.evolve"),
    (b'{"id":9,"n":72.5}', "a real in a BIGINT column: widening"),
    (b'{"id":10,"n":73}', "an integer in the widened column"),
    (b'{"id":11,"obj":{"a":[1,2]},"arr":[true,null]}', "nested values"),
    (b'{"id":12,"never":null}', "a null for a field without a column"),
    (b'{"id":13,"k":5}', "a new BIGINT column"),
    (b'{"id":14,"k":6.0}', "an integral real in a BIGINT column"),
    (b'{"id":15,"s":true}', "a boolean for a text column: refused"),
    (b'{"id":16,', "not JSON: the converter refuses it"),
    (b'5', "not an object"),
    (b'null', "a JSON null: a tombstone, skipped"),
    (b'{"id":18,"s":"\xff"}', "invalid UTF-8"),
    (b'{"id":19,"s":"a\\u0000b"}', "\\u0000"),
    (b'{"id":20,"s":"a\x01b"}', "a raw control character"),
    (b'{"id":21,"s":"\\ud83d\\udc04"}', "a surrogate pair"),
    (b'{"id":22} x', "text after the object"),
    (('{"id":23,"s":"%s"}' % BIG).encode(), "a big string"),
    (b'{"id":24,"k":-9223372036854775808}', "the smallest BIGINT"),
    (b'{"z":null,"x":2.25,"b":true,"n":74,"s":"perm","id":25}', "fields in reverse"),
    (b'{"id":26,"ID":26}', "a key that differs in case only"),
    (b'{"id":27,"x":0.1000000000000000055511151231257827}', "a real longer than 17 digits"),
    (b'{"id":28,"s":"tab\\there","b":null}', "a null in an existing column"),
]

MODES = {
    "insert": {"insert.mode": "insert"},
    "upsert_by_value": {"insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id"},
    "kafka_coordinates": {"insert.mode": "insert", "pk.mode": "kafka"},
}


def connector(db, name, topic, table, extra):
    return {"connector.class": CLASS, "topics": topic, "table.name.format": table,
            "auto.create": "true", "auto.evolve": "true", "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": f"{name}_dead",
            "errors.deadletterqueue.context.headers.enable": "true",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false", **db.conf, **extra}


def table_rows(db, table):
    cols = sorted(db.columns(table))
    rows = db.rows(f"SELECT {', '.join(db.q(c) for c in cols)} FROM {db.q(table)}")
    return cols, sorted(rows, key=repr)


def dead_letters(bootstrap, topic):
    """(offset, value, stage) of every record in the dead letter queue topic."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fp-size"})
    _, n = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    got = harness.consume_all(bootstrap, topic, n)
    assert len(got) == n
    return sorted((dict(m.headers())["__connect.errors.offset"], m.value(),
                   dict(m.headers())["__connect.errors.stage"]) for m in got)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_fast_path_writes_what_the_usual_path_writes(db, dev_kafka, worker_factory, mode):
    w = worker_factory(dev_kafka.bootstrap)
    topic = f"fp_{mode}"
    one_partition(dev_kafka, topic, f"{topic}_fast_dead", f"{topic}_slow_dead")
    slow = {"transforms": "hdr",
            "transforms.hdr.type": "org.apache.kafka.connect.transforms.InsertHeader",
            "transforms.hdr.header": "via", "transforms.hdr.value.literal": "usual path"}
    w.create(f"{topic}_fast", connector(db, f"{topic}_fast", topic, f"{topic}_fast", MODES[mode]))
    w.create(f"{topic}_slow", connector(db, f"{topic}_slow", topic, f"{topic}_slow",
                                        {**MODES[mode], **slow}))
    w.wait_state(f"{topic}_fast", "RUNNING")
    w.wait_state(f"{topic}_slow", "RUNNING")
    harness.produce(dev_kafka.bootstrap, topic, [v for v, _ in STREAM])
    if mode == "upsert_by_value":  # the same keys again, new values: one row per id
        harness.produce(dev_kafka.bootstrap, topic,
                        [b'{"id":1,"s":"again","n":1,"x":0.5,"b":false}',
                         b'{"n":2,"id":2,"s":"again \\"2\\""}'])
    last = len(STREAM) + (2 if mode == "upsert_by_value" else 0) - 1

    def done(name):
        offs = w.get(f"/connectors/{name}/offsets").json()["offsets"]
        return offs and offs[0]["offset"]["kafka_offset"] == last + 1
    try:
        harness.wait_until(lambda: done(f"{topic}_fast") and done(f"{topic}_slow"), 60, 0.2,
                           "both connectors at the end of the topic")
    except AssertionError:
        print(w.status(f"{topic}_fast"), w.status(f"{topic}_slow"), w.logs()[-6000:])
        raise

    cols, fast = table_rows(db, f"{topic}_fast")
    assert (cols, fast) == table_rows(db, f"{topic}_slow")
    # the usual path's own tests check its rows exactly; a few here keep this test honest
    by_id = {r[cols.index("id")]: dict(zip(cols, r)) for r in fast}
    if mode != "upsert_by_value":
        assert by_id[2]["s"] == 'q"b\\s/t\tn\nr\ru\u00e9\u20ac' and by_id[2]["n"] == 0
    assert by_id[5]["s"] == "" and by_id[5]["b"] in (False, 0)
    assert by_id[6]["s"] == "second" and by_id[10]["n"] == 73.0 and by_id[14]["k"] == 6
    assert by_id[23]["s"] == BIG and by_id[24]["k"] == -9223372036854775808
    assert by_id[27]["x"] == 0.1 and by_id[28]["b"] is None and by_id[28]["s"] == "tab\there"
    if mode == "upsert_by_value":
        assert by_id[1]["s"] == "again" and by_id[2]["s"] == 'again "2"'
        assert len(fast) == len(by_id)

    fast_dead = dead_letters(dev_kafka.bootstrap, f"{topic}_fast_dead")
    assert fast_dead == dead_letters(dev_kafka.bootstrap, f"{topic}_slow_dead")
    stages = {int(o): stage.decode() for o, _, stage in fast_dead}
    raws = [v for v, _ in STREAM]
    for raw in (b'{"id":16,', b'{"id":18,"s":"\xff"}', b'{"id":20,"s":"a\x01b"}',
                b'{"id":22} x'):
        assert stages[raws.index(raw)] == "VALUE_CONVERTER", raw
    for raw in (b'5', b'{"id":15,"s":true}'):
        assert stages[raws.index(raw)] == "TASK_PUT", raw
    logs = w.logs()
    assert f"{topic}_fast task 0] the connector reads schemaless JSON values" in logs
    assert f"{topic}_slow task 0] the connector reads schemaless JSON values" not in logs
