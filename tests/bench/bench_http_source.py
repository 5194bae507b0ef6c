#!/usr/bin/python3
"""HTTP ingest with keep-alive (wrk) into Kafka: HttpSourceConnector against a seed-style
Flask endpoint producing with confluent-kafka. Both reply only after Kafka acknowledged
(Flask: produce + flush per request), one record per request and 100 per request.

    /usr/bin/python3 tests/bench/bench_http_source.py [seconds]

BENCH_EXTRA (JSON) adds connector config keys, e.g. '{"producer.override.linger.ms": "0"}'.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

FLASK_APP = textwrap.dedent("""
    import sys
    from confluent_kafka import Producer
    from flask import Flask, request
    app = Flask(__name__)
    p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all"})

    @app.route("/ingest", methods=["POST"])
    def ingest():
        body = request.get_json()
        for rec in body if isinstance(body, list) else [body]:
            p.produce("flask", request.data if not isinstance(body, list) else
                      __import__("json").dumps(rec))
        p.flush()
        return {"status": "ok"}

    app.run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
""")


def wrk(url, body, seconds):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                 f"wrk.body = {json.dumps(body)}\n")
    script.close()
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", script.name, url],
                         capture_output=True, text=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, int(non2xx.group(1)) if non2xx else 0


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rec = {"deviceId": "device001", "timestamp": 1640995200, "heartRate": 75,
           "bodyTemperature": 98.6}
    bodies = {1: json.dumps(rec), 100: json.dumps([rec] * 100)}
    k = harness.DevKafka(topics=("bench:1", "flask:1"))
    w = harness.Worker(k.bootstrap, workdir=tempfile.mkdtemp(prefix="bench-w-")).start()
    port, fport = harness.free_port(), harness.free_port()
    flask = subprocess.Popen([sys.executable, "-c", FLASK_APP, k.bootstrap, str(fport)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        w.create("bench", {"connector.class": "HttpSourceConnector",
                           "http.listeners": f"http://127.0.0.1:{port}",
                           "http.paths": "/ingest=bench",
                           **json.loads(os.environ.get("BENCH_EXTRA", "{}"))})
        w.wait_state("bench", "RUNNING")
        time.sleep(1)
        for per_req, body in bodies.items():
            ours, bad = wrk(f"http://127.0.0.1:{port}/ingest", body, seconds)
            theirs, fbad = wrk(f"http://127.0.0.1:{fport}/ingest", body, seconds)
            print(f"{per_req} record(s)/request: connectd {ours * per_req:,.0f} records/s "
                  f"({bad} non-2xx), Flask {theirs * per_req:,.0f} records/s ({fbad} non-2xx), "
                  f"{ours / theirs:.1f}x", flush=True)
    finally:
        flask.terminate()
        flask.wait(10)
        w.stop()
        k.stop()


if __name__ == "__main__":
    main()
