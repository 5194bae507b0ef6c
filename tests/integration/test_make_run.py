"""`make run`'s script (scripts/run.sh): the embedded Kafka worker on :8083 with the demo
pipelines, as a user on a fresh machine starts it. A line appended to the input file reaches
the output file, generated vitals reach their file, and Ctrl-C (SIGTERM) stops it cleanly."""
import json
import os
import signal
import socket
import subprocess

import pytest
import requests

import harness

DEMO = "/tmp/connectd-demo"
URL = "http://localhost:8083"


def port_busy(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_make_run_starts_the_demo_pipelines_and_stops_on_sigterm():
    if port_busy(8083):
        pytest.skip("port 8083, which make run uses, is taken")
    subprocess.run(["rm", "-rf", DEMO], check=True)
    env = dict(os.environ, CONNECTD_BIN=harness.BIN)
    p = subprocess.Popen(["bash", "scripts/run.sh"], cwd=harness.ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        harness.wait_until(lambda: requests.get(URL + "/health", timeout=2).ok, 30, 0.1,
                           "the worker's /health")
        names = {"demo-file-source", "demo-file-sink", "demo-vitals", "demo-vitals-file"}
        harness.wait_until(lambda: set(requests.get(URL + "/connectors", timeout=2).json())
                           == names, 30, 0.2, "the demo connectors")
        with open(os.path.join(DEMO, "input.txt"), "a") as f:
            f.write("hello connectd\n")
        harness.wait_until(lambda: "hello connectd" in lines(os.path.join(DEMO, "output.txt")),
                           30, 0.2, "the line in output.txt")
        vitals = os.path.join(DEMO, "vitals.jsonl")
        harness.wait_until(lambda: len(lines(vitals)) >= 3, 30, 0.2, "generated vitals")
        rec = json.loads(lines(vitals)[0])
        assert {"patient_id", "timestamp", "heart_rate", "respiratory_rate"} <= set(rec), rec
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)  # Ctrl-C's signal, to the script and the worker
        out, _ = p.communicate(timeout=30)
    assert p.returncode == 0, out[-3000:]
    assert not port_busy(8083)
