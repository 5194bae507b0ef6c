"""Test harness: real processes on free loopback ports in temp dirs, stopped after.

connectd's own processes (dev-kafka, workers) and the real servers later issues need
(Postgres, MariaDB, InfluxDB 1.x, mosquitto), as ../shared/reference/test-servers.md says."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CONNECTD_BIN", os.path.join(ROOT, "build", "connectd"))
ASAN_BIN = os.path.join(ROOT, "build", "asan", "connectd")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=30.0, interval=0.1, what="condition"):
    """Polls fn until it returns a truthy value; returns it or raises AssertionError."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (requests.RequestException, OSError, ValueError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def _stop_process(p, sig=signal.SIGTERM, timeout=15):
    if p is None or p.poll() is not None:
        return p.returncode if p else None
    p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait(5)


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_check(log, what):
    """Raises AssertionError with the first ASan/LSan/UBSan report in log (a process's output)."""
    for marker in SANITIZER_REPORTS:
        i = log.find(marker)
        if i >= 0:
            raise AssertionError(f"{what} reported {marker!r}:\n{log[max(0, i - 200):i + 6000]}")


class DevKafka:
    """`connectd dev-kafka` as its own process; fault commands go to its stdin."""

    def __init__(self, topics=(), brokers=1, binary=BIN):
        args = [binary, "dev-kafka", "--brokers", str(brokers)]
        for t in topics:
            args += ["--topic", t]
        self.dir = tempfile.mkdtemp(prefix="devkafka-")
        self.err = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1)
        self.bootstrap = self.proc.stdout.readline().strip()
        assert self.bootstrap.startswith("127.0.0.1:"), f"dev-kafka printed {self.bootstrap!r}"

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self):
        rc = _stop_process(self.proc)
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


class Worker:
    """A connectd worker process with a REST client."""

    def __init__(self, bootstrap, mode="distributed", extra=None, binary=BIN, workdir=None,
                 connector_files=()):
        self.dir = workdir or tempfile.mkdtemp(prefix="worker-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = mode
        self.binary = binary
        self.connector_files = list(connector_files)
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": "connectd-test",
            "config.storage.topic": "connect-configs",
            "offset.storage.topic": "connect-offsets",
            "status.storage.topic": "connect-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "offset.flush.interval.ms": "500",
            "offset.storage.file.filename": os.path.join(self.dir, "offsets.json"),
            "listeners": f"http://127.0.0.1:{self.port}",
            "task.shutdown.graceful.timeout.ms": "5000",
            # librdkafka's mock broker holds a rejoin for session.timeout.ms - 1 s after the
            # last member left (a real broker does not): keep it short so restarts are quick.
            "consumer.session.timeout.ms": "6000",
            "consumer.heartbeat.interval.ms": "1000",
        }
        conf.update(extra or {})
        self.conf = conf
        self.props = os.path.join(self.dir, "worker.properties")
        self.proc = None
        self.log_path = os.path.join(self.dir, "worker.log")
        self.write_props()

    def write_props(self):
        with open(self.props, "w") as f:
            for k, v in self.conf.items():
                f.write(f"{k}={v}\n")

    def start(self, wait=True):
        self.log = open(self.log_path, "a")
        # A sanitized binary (CONNECTD_BIN=build/asan/connectd) reports leaks when it exits
        # on SIGTERM; stop() fails the test on any report in the log.
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1")
        self.proc = subprocess.Popen([self.binary, self.mode, self.props] + self.connector_files,
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env)
        if wait:
            wait_until(self.healthy, 30, 0.05, "worker /health")
        return self

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.logs()}")
        return requests.get(self.url + "/health", timeout=2).status_code == 200

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def stop(self):
        rc = _stop_process(self.proc, timeout=30)
        self.log.close()
        sanitizer_check(self.logs(), "worker")
        return rc

    def logs(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # REST helpers
    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=30, **kw)

    def post(self, path, body=None, **kw):
        return requests.post(self.url + path, json=body, timeout=30, **kw)

    def put(self, path, body=None, **kw):
        return requests.put(self.url + path, json=body, timeout=30, **kw)

    def patch(self, path, body=None, **kw):
        return requests.patch(self.url + path, json=body, timeout=30, **kw)

    def delete(self, path, **kw):
        return requests.delete(self.url + path, timeout=30, **kw)

    def create(self, name, config):
        r = self.post("/connectors", {"name": name, "config": config})
        assert r.status_code == 201, r.text
        return r.json()

    def status(self, name):
        r = self.get(f"/connectors/{name}/status")
        return r.json() if r.status_code == 200 else None

    def wait_state(self, name, state, tasks=1, timeout=30):
        def ok():
            s = self.status(name)
            return (s and s["connector"]["state"] == state and len(s["tasks"]) == tasks
                    and all(t["state"] == state for t in s["tasks"]))
        return wait_until(ok, timeout, 0.1, f"{name} {state}")

    def wait_task_state(self, name, state, timeout=30):
        def ok():
            s = self.status(name)
            return s and s["tasks"] and s["tasks"][0]["state"] == state and s
        return wait_until(ok, timeout, 0.1, f"{name} task {state}")


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def consume_all(bootstrap, topic, expect, timeout=30, group=None):
    """Reads topic from the beginning until `expect` messages arrived; returns them."""
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group or f"t-{time.time()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    deadline = time.time() + timeout
    try:
        while len(out) < expect and time.time() < deadline:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            out.append(m)
    finally:
        c.close()
    return out


def produce(bootstrap, topic, values, keys=None, headers=None):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    for i, v in enumerate(values):
        k = keys[i] if keys else None
        if isinstance(v, (dict, list)):
            v = json.dumps(v)
        p.produce(topic, value=v, key=k, headers=headers[i] if headers else None)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(30) == 0


# ---------------------------------------------------------------- real servers

class Postgres:
    def __init__(self, durable=False):
        """durable: fsync on, as Postgres ships (tests run with it off, for speed)."""
        self.durable = durable
        self.dir = tempfile.mkdtemp(prefix="pg-")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.bin = "/usr/lib/postgresql/15/bin"
        data = os.path.join(self.dir, "data")
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/initdb", "-D", data,
                        "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
        self.data = data
        self.start()
        self.dsn = dict(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        self.url = f"jdbc:postgresql://127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin}/pg_ctl", "-D", self.data,
                        *args], check=True, capture_output=True)

    def start(self):
        self._ctl("-w", "-l", os.path.join(self.dir, "pg.log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync="
                  + ("on" if self.durable else "off"), "start")

    def stop(self):
        self._ctl("-m", "fast", "-w", "stop")

    def connect(self):
        import psycopg2
        c = psycopg2.connect(**self.dsn)
        c.autocommit = True
        return c

    def query(self, sql, args=None):
        with self.connect() as c, c.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class MariaDB:
    USER, PASSWORD = "connectd", "s3cret-pw"

    def __init__(self, durable=False):
        """durable: the redo log is flushed at each commit, as MariaDB ships (tests flush it
        once a second, for speed)."""
        self.durable = durable
        self.dir = tempfile.mkdtemp(prefix="mariadb-")
        self.port = free_port()
        self.sock = os.path.join(self.dir, "sock")
        data = os.path.join(self.dir, "data")
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                        "--auth-root-authentication-method=normal"], check=True, capture_output=True)
        self.data = data
        self.start()
        import pymysql
        c = pymysql.connect(unix_socket=self.sock, user="root", autocommit=True)
        with c.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS test")
            for host in ("%", "localhost", "127.0.0.1"):
                cur.execute(f"CREATE USER IF NOT EXISTS '{self.USER}'@'{host}' "
                            f"IDENTIFIED BY '{self.PASSWORD}'")
                cur.execute(f"GRANT ALL ON *.* TO '{self.USER}'@'{host}'")
        c.close()
        self.url = f"jdbc:mysql://127.0.0.1:{self.port}/test"

    def start(self):
        self.log = open(os.path.join(self.dir, "mariadb.log"), "a")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.data}", "--user=root",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.sock}",
             "--skip-log-bin", "--local-infile=1",
             "--innodb-flush-log-at-trx-commit=" + ("1" if self.durable else "2")],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: os.path.exists(self.sock) and self._ping(), 60, 0.1, "mariadb")

    def _ping(self):
        import pymysql
        try:
            pymysql.connect(unix_socket=self.sock, user="root").close()
            return True
        except pymysql.err.OperationalError:
            return False

    def stop(self):
        _stop_process(self.proc, timeout=30)
        self.log.close()

    def connect(self, db="test"):
        import pymysql
        return pymysql.connect(host="127.0.0.1", port=self.port, user=self.USER,
                               password=self.PASSWORD, database=db, autocommit=True)

    def query(self, sql, args=None):
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            c.close()

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class InfluxDB:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="influx-")
        self.port = free_port()
        rpc = free_port()
        conf = os.path.join(self.dir, "influxdb.conf")
        with open(conf, "w") as f:
            f.write(f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
                    f'[meta]\n  dir = "{self.dir}/meta"\n'
                    f'[data]\n  dir = "{self.dir}/data"\n  wal-dir = "{self.dir}/wal"\n'
                    f'  query-log-enabled = false\n'
                    f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n')
        self.log = open(os.path.join(self.dir, "influxd.log"), "w")
        self.proc = subprocess.Popen(["influxd", "-config", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: requests.get(self.url + "/ping", timeout=1).status_code == 204, 30,
                   0.1, "influxd")

    def query(self, q, db=None):
        params = {"q": q}
        if db:
            params["db"] = db
        r = requests.post(self.url + "/query", params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    def close(self):
        _stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Mosquitto:
    USER, PASSWORD = "user1", "password"

    def __init__(self, extra_conf=""):
        self.dir = tempfile.mkdtemp(prefix="mosquitto-")
        self.port = free_port()
        self.pwfile = os.path.join(self.dir, "passwd")
        subprocess.run(["mosquitto_passwd", "-b", "-c", self.pwfile, self.USER, self.PASSWORD],
                       check=True, capture_output=True)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"user root\nlistener {self.port} 127.0.0.1\nallow_anonymous false\n"
                    f"password_file {self.pwfile}\npersistence true\n"
                    f"persistence_location {self.dir}/\nmax_queued_messages 1000000\n"
                    f"{extra_conf}")
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def listening():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        wait_until(listening, 15, 0.05, "mosquitto")

    def stop(self):
        _stop_process(self.proc)
        self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
