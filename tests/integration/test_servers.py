"""The real-server fixtures work: each answers, stores and returns data."""
import time
import uuid

import paho.mqtt.client as mqtt
import requests


def test_postgres_round_trip(postgres):
    postgres.query("CREATE TABLE smoke (id int primary key, v text)")
    postgres.query("INSERT INTO smoke VALUES (1, 'héllo')")
    assert postgres.query("SELECT id, v FROM smoke") == [(1, "héllo")]


def test_mariadb_round_trip_over_tcp_with_password(mariadb):
    mariadb.query("CREATE TABLE smoke (id int primary key, v text)")
    mariadb.query("INSERT INTO smoke VALUES (1, 'héllo')")
    assert mariadb.query("SELECT id, v FROM smoke") == ((1, "héllo"),)


def test_influxdb_write_and_query(influxdb):
    influxdb.query("CREATE DATABASE smoke")
    r = requests.post(influxdb.url + "/write", params={"db": "smoke", "precision": "ms"},
                      data="hr,patient=p1 bpm=72i 1767225600000")
    assert r.status_code == 204, r.text
    res = influxdb.query("SELECT * FROM hr", db="smoke")
    series = res["results"][0]["series"][0]
    assert series["columns"] == ["time", "bpm", "patient"]
    assert series["values"] == [["2026-01-01T00:00:00Z", 72, "p1"]]


def _client(m, user, password):
    c = mqtt.Client(client_id=f"smoke-{uuid.uuid4().hex[:8]}")
    if user:
        c.username_pw_set(user, password)
    return c


def test_mosquitto_needs_the_password(mosquitto):
    got = []
    sub = _client(mosquitto, mosquitto.USER, mosquitto.PASSWORD)
    sub.on_message = lambda c, u, msg: got.append(msg.payload)
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("smoke/#", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    pub = _client(mosquitto, mosquitto.USER, mosquitto.PASSWORD)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    pub.publish("smoke/a", b"hello", qos=1).wait_for_publish()
    deadline = time.time() + 5
    while not got and time.time() < deadline:
        time.sleep(0.05)
    sub.loop_stop()
    pub.loop_stop()
    assert got == [b"hello"]

    codes = []
    anon = _client(mosquitto, None, None)
    anon.on_connect = lambda c, u, f, rc: codes.append(rc)
    anon.connect("127.0.0.1", mosquitto.port)
    anon.loop_start()
    deadline = time.time() + 5
    while not codes and time.time() < deadline:
        time.sleep(0.05)
    anon.loop_stop()
    assert codes and codes[0] != 0  # refused: not authorised
