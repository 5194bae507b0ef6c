"""Fixtures: connectd's own processes and the real servers, each on a free loopback port."""
import os
import shutil

import pytest

import harness


def _need(binary):
    if not shutil.which(binary) and not os.path.exists(binary):
        pytest.skip(f"{binary} is not installed (scripts/install-deps.sh installs it)")


@pytest.fixture
def dev_kafka():
    k = harness.DevKafka(topics=("lines:1", "lines2:1"))
    yield k
    k.stop()


@pytest.fixture
def worker_factory(tmp_path, dev_kafka):
    """worker_factory(bootstrap, **kw) -> started Worker; every worker is stopped after (and
    before dev_kafka, so that no consumer waits on a broker that is gone)."""
    made = []

    def make(bootstrap, start=True, **kw):
        kw.setdefault("workdir", str(tmp_path / f"w{len(made)}"))
        os.makedirs(kw["workdir"], exist_ok=True)
        w = harness.Worker(bootstrap, **kw)
        made.append(w)
        return w.start() if start else w

    yield make
    for w in made:
        if w.proc and w.proc.poll() is None:
            w.stop()


@pytest.fixture
def worker(dev_kafka, worker_factory):
    return worker_factory(dev_kafka.bootstrap)


@pytest.fixture(scope="module")
def postgres():
    _need("/usr/lib/postgresql/15/bin/initdb")
    pg = harness.Postgres()
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def mariadb():
    _need("mariadbd")
    db = harness.MariaDB()
    yield db
    db.close()


@pytest.fixture(scope="module")
def influxdb():
    _need("influxd")
    db = harness.InfluxDB()
    yield db
    db.close()


@pytest.fixture(scope="module")
def mosquitto():
    _need("mosquitto")
    m = harness.Mosquitto()
    yield m
    m.close()


class SnowflakeEmu:
    """The Snowflake emulator on free ports, with one RSA key pair registered for `user`.
    private_pem is the unencrypted PKCS#8 PEM a connector config takes."""

    def __init__(self, account="MYORG-MYACCT", user="KAFKA_USER", **kw):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        import snowflake_emu
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.account, self.user = account, user
        self.emu = snowflake_emu.Emulator(account, **kw).start()
        self.emu.add_user(user, self.key.public_key())
        self.url = self.emu.url

    def rows(self, table):
        return self.emu.rows(table)

    def stop(self):
        self.emu.stop()


@pytest.fixture
def snowflake_emu(request):
    """SnowflakeEmu; indirect parametrization passes Emulator keyword arguments."""
    e = SnowflakeEmu(**getattr(request, "param", {}))
    yield e
    e.stop()
