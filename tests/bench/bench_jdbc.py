#!/usr/bin/python3
"""JDBC sink benchmark (issue 4): BENCH_N seed-style vitals records (~200 B schemaless JSON)
→ a table, produced by kcat while the sink consumes (one dev-kafka per run).

1. Postgres insert mode vs `psql \\copy` of the same rows from a CSV file (the limit).
2. Postgres upsert mode (pk.mode record_value on timestamp).
3. MySQL (MariaDB) insert mode vs LOAD DATA LOCAL INFILE of the same rows.
4. the seeds' way: a Python consumer inserting one row per message (psycopg2), on a sample.
The clock for connectd runs from the first produce until the rows are committed: a count(*)
in a snapshot taken once a cheap figure of the database says the rows should be in (the
table's size on Postgres against the warm-up's table of the same rows, the server's
Handler_write counter on MariaDB). The clock stops when the snapshot is taken, not when the
count is done, and nothing scans the table before then, so the database's rows/s does not
pay for the measurement (\\copy's does not either). Prints
rows/s, the ratios, the CPU seconds of each process, the worker's peak RSS and each goal."""
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

# 1M rows x 3 connectd runs does not fit the ~3 minutes this bench may take on 2 cores.
N = int(os.environ.get("BENCH_N", "1000000"))
SEED_SAMPLE = int(os.environ.get("BENCH_SEED_SAMPLE", "3000"))
# BENCH_ONLY=pg,up,my runs only those parts (pg: insert + \copy + the seeds' way, up: upsert,
# my: MariaDB insert + LOAD DATA), for quicker runs while tuning; the default is all of them.
# BENCH_EXTRA (JSON) adds connector config keys to every connectd run, e.g. '{"batch.size": "10000"}'.
ONLY = set(os.environ.get("BENCH_ONLY", "pg,up,my").split(","))
# The databases run as they ship: Postgres with fsync on, MariaDB flushing its redo log at each
# commit, as the seeds' databases do. BENCH_DB_DURABLE=off runs them as the tests do (no
# fsync; a flush a second), which mostly speeds up the seeds' way (a commit per row).
DURABLE = os.environ.get("BENCH_DB_DURABLE", "on") != "off"
# A fresh server's first rows touch its buffer pool's memory for the first time: each page
# faults in, and the kernel zeroes it (about 35000 faults and 0.5 CPU-s of MariaDB's, seen
# with perf). The first measured run, the connector's, would pay that alone; one unmeasured
# load of the same rows (then dropped) puts every measured run on a warm server.
# BENCH_WARM=off skips it.
WARM = os.environ.get("BENCH_WARM", "on") != "off"
# BENCH_BACKLOG=off skips the extra insert runs from a backlog (backlog_run).
BACKLOG = os.environ.get("BENCH_BACKLOG", "on") != "off"
T0 = 1767225600000
# librdkafka's mock broker keeps about 5 MB per partition and trims older records.
PARTITIONS = max(1, N // 20000)
TICK = os.sysconf("SC_CLK_TCK")
COLS = ("patient_id", "device_id", "timestamp", "heart_rate", "respiratory_rate", "spo2",
        "temperature", "systolic", "diastolic", "anomaly")
CLASS = "io.confluent.connect.jdbc.JdbcSinkConnector"


def values(i):
    return (f"patient-{i % 100:04d}", f"dev-{i % 1000:05d}", T0 + i, 60 + i % 40, 12 + i % 8,
            90 + (i % 100) / 10, 36 + (i % 30) / 10, 100 + i % 40, 60 + i % 30, i % 100 == 0)


def record(i):
    return json.dumps(dict(zip(COLS, values(i))), separators=(",", ":"))


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu(pid):
    """CPU seconds of pid, its reaped children and its live children (Postgres backends)."""
    fields = _stat(pid)
    total = sum(int(x) for x in fields[11:15])
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = _stat(int(d))
            except OSError:
                continue
            if int(f[1]) == pid:
                total += int(f[11]) + int(f[12])
    return total / TICK


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024
    return 0.0


def produce(bootstrap, topic, path):
    """kcat produces the records of the file (key TAB value per line)."""
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t",
                    "-X", "linger.ms=20", "-X", "batch.num.messages=10000",
                    "-X", "sticky.partitioning.linger.ms=0", "-l", path], check=True)


LAST_RUN = {}  # CPU seconds of kcat + dev-kafka in the last run_connectd


def ceiling(db_cpu, base_rate, what):
    """What the CPU the database, kcat and dev-kafka used leaves possible on this machine's
    cores even if connectd took none: it bounds the ratio against the database's own loader,
    which runs alone."""
    need = (db_cpu + LAST_RUN["feeders"]) / os.cpu_count()
    return (f"  (bound: {what}, kcat and dev-kafka alone used {db_cpu + LAST_RUN['feeders']:.1f} "
            f"CPU-s, at least {need:.1f} s on {os.cpu_count()} cores, so at most "
            f"{N / need:.0f} rows/s = {N / need / base_rate:.2f}x even with connectd free)")


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_connectd(db, db_pid, table, extra, tmp, backlog=False):
    """Runs one sink on a fresh dev-kafka + worker; returns (secs, cpu worker, cpu db, rss).
    Prints the CPU seconds of kcat and dev-kafka too: all four share the machine's cores.
    backlog: kcat produces every record while the connector is paused (over twice the
    partitions, each within the broker's 5 MB), and the clock starts when it resumes."""
    kafka = harness.DevKafka(topics=(f"{table}:{PARTITIONS * (2 if backlog else 1)}",))
    w = None
    try:
        os.makedirs(os.path.join(tmp, "w-" + table))
        w = harness.Worker(kafka.bootstrap, workdir=os.path.join(tmp, "w-" + table)).start()
        w.create(table, {"connector.class": CLASS, "topics": table, "auto.create": "true",
                         "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                         "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                         "value.converter.schemas.enable": "false", **db.conf, **extra,
                         **json.loads(os.environ.get("BENCH_EXTRA", "{}"))})
        w.wait_state(table, "RUNNING")
        # a first record creates the table, so the clock starts with the sink in its group
        produce(kafka.bootstrap, table, os.path.join(tmp, "warm.jsonl"))
        harness.wait_until(lambda: db.count(table) >= 1, 60, 0.1, "the warm-up row")
        if backlog:
            w.put(f"/connectors/{table}/pause")
            w.wait_state(table, "PAUSED")
            produce(kafka.bootstrap, table, os.path.join(tmp, "data"))
        if hasattr(db, "quiesce"):
            db.quiesce()
        db.mark((w.proc.pid, db_pid, kafka.proc.pid))
        c0, d0, t0 = cpu(w.proc.pid), cpu(db_pid), time.time()
        k0, p0 = cpu(kafka.proc.pid), children_cpu()
        produced = []

        def producer_run():
            if backlog:
                w.put(f"/connectors/{table}/resume")
            else:
                produce(kafka.bootstrap, table, os.path.join(tmp, "data"))
            produced.append(time.time() - t0)
        producer = threading.Thread(target=producer_run)
        producer.start()
        harness.wait_until(lambda: db.arrived(table), 600, db.TICK, f"{N} rows in {table}")
        secs = db.arrival - t0
        c1, d1, k1 = db.arrival_cpu  # not the count's
        producer.join()
        p1 = children_cpu()
        rss = peak_rss_mib(w.proc.pid)
        stored = db.count(table) - 1
        assert stored == N, f"{table} holds {stored} rows, expected {N}\n{w.logs()[-3000:]}"
        if backlog:
            print(f"  (from a backlog: kcat produced before the clock; CPU dev-kafka "
                  f"{k1 - k0:.1f} s)", flush=True)
        else:
            print(f"  (kcat finished producing after {produced[0]:.1f} s; CPU kcat {p1 - p0:.1f} "
                  f"s, dev-kafka {k1 - k0:.1f} s)", flush=True)
            LAST_RUN["feeders"] = (p1 - p0) + (k1 - k0)
        return secs, c1 - c0, d1 - d0, rss
    finally:
        if w:
            w.stop()
        kafka.stop()


class DB:
    """Watches for the rows' arrival. A count(*) every tick would scan the growing table each
    time (about a core-second of the database's CPU over a run, and on Postgres it sets every
    new row's hint bits, dirtying each page once more), which the sink's rows/s would pay and
    \\copy's would not. So a cheap figure of the database (progress) says when to look, and
    only then a count decides."""
    TICK = 0.1  # seconds between looks

    def mark(self, watched=()):
        """Starts the watch of a run: what arrived() last saw, and when it last moved.
        watched: processes whose CPU seconds to take when the snapshot is (seen_cpu)."""
        self.marked = self.moved = time.time()
        self.last_est, self.arrival = None, None
        self.watched, self.first_est, self.began = watched, None, None  # began: see arrived

    def arrived(self, table):
        """True once the N rows and the warm-up row are committed; self.arrival is then when.
        When progress stands still for a second, a count decides anyway: a figure that falls
        short must not hang the run."""
        est, now = self.progress(table), time.time()
        if self.first_est is None:
            self.first_est = est
        elif self.began is None and est > self.first_est:
            self.began = now  # the first rows are on their way into the table
        if est != self.last_est:
            self.last_est, self.moved = est, now
        stuck = now - self.moved >= 1
        if stuck:
            self.moved = now
        if not stuck and (est < N + 1 or not self.settled()):
            return False
        seen, n = self.snapshot_count(table)
        if n < N + 1:
            return False
        self.arrival, self.arrival_cpu = seen, self.seen_cpu
        return True

    def snapshot_count(self, table):
        """(t, rows): the table's rows in a snapshot taken before t. The count itself (a scan
        of the whole table) runs after t: the rows it sees were committed by then."""
        with self.cursor() as cur:
            cur.execute(self.SNAPSHOT)
            cur.execute("SELECT 1")  # Postgres takes the snapshot at the first query
            cur.fetchall()
            seen = time.time()
            self.seen_cpu = [cpu(pid) for pid in self.watched]
            try:
                cur.execute(f"SELECT count(*) FROM {self.q(table)}")
                return seen, cur.fetchone()[0]
            except Exception:  # the table does not exist yet
                return seen, 0
            finally:
                cur.execute("ROLLBACK")

    def one(self, sql):
        """The last column of the first row (SHOW STATUS answers name, value)."""
        with self.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[-1]

    def cursor(self):
        """A cursor on the watch's own connection, opened on first use."""
        if self.conn is None:
            self.conn = self.srv.connect()
        return self.conn.cursor()

    def warm(self, csv):
        """Loads the rows into a table shaped like the connector's, then drops it (see WARM)."""
        cols = ", ".join(f"{self.q(c)} {self.TYPES[type(v)]}"
                         for c, v in zip(COLS, values(0)))
        self.srv.query(f"CREATE TABLE vitals_warm ({cols})")
        self.fill("vitals_warm", csv)
        self.warmed("vitals_warm")
        self.srv.query("DROP TABLE vitals_warm")

    def warmed(self, table):
        """Learns what it can from the warm-up's table of the N rows."""

    def settled(self):
        """No transaction open in the database but ours. Once the rows' pages are there, the
        last transaction may still be open (a count then scans the table for nothing, and
        delays the one that sees the commit by as long)."""
        return self.one(self.OPEN_TRANSACTIONS) == 0

    def count(self, table):
        try:
            return self.one(f"SELECT count(*) FROM {self.q(table)}")
        except Exception:  # the table does not exist yet
            return 0


class PG(DB):
    TYPES = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION", bool: "BOOLEAN"}
    TICK = 0.02
    SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    OPEN_TRANSACTIONS = ("SELECT count(*) FROM pg_stat_activity WHERE xact_start IS NOT NULL "
                         "AND backend_type = 'client backend' "
                         "AND pid <> pg_backend_pid()")

    def __init__(self):
        self.srv = harness.Postgres(durable=DURABLE)
        self.conf = {"connection.url": self.srv.url, "connection.user": "postgres"}
        with open(os.path.join(self.srv.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.conn = None
        self.full_pages = 0

    def q(self, table):
        return f'"{table}"'

    def pages(self, table):
        try:
            return self.one(f"SELECT pg_relation_size('{self.q(table)}')") // 8192
        except Exception:  # the table does not exist yet
            return 0

    def warmed(self, table):
        """\\copy fills its table through a 16 MB ring of buffers, so the warm-up alone left
        most of shared_buffers never touched: the connector's run, measured first, then paid
        the kernel's zeroing of those pages (its COPY statements each take a new ring; perf
        showed clear_page at about 0.3 CPU-s of Postgres's) and \\copy's, after it, did not.
        pg_prewarm reads the table's pages without a ring, into most of the pool."""
        self.full_pages = self.pages(table)
        self.srv.query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        self.srv.query(f"SELECT pg_prewarm('{self.q(table)}')")

    def progress(self, table):
        """Rows estimated from the table's size: the warm-up's table held the N rows in
        full_pages (the rows are alike, so the connector's table fills its pages as \\copy
        does). Cheap: it asks for the size of a file. Without a warm-up, every second that
        the size stands still (arrived's fallback) counts."""
        if not self.full_pages:
            return self.pages(table)
        return self.pages(table) * N // self.full_pages + 1  # + the warm-up row

    def quiesce(self):
        """Waits for the aftermath of the previous run (autovacuum of a freshly filled table,
        dirty buffers) to pass, so that each measurement starts from a quiet server."""
        self.srv.query("CHECKPOINT")
        harness.wait_until(lambda: self.one("SELECT count(*) FROM pg_stat_activity WHERE "
                                            "backend_type = 'autovacuum worker'") == 0,
                           60, 0.2, "autovacuum to finish")

    def load(self, like, csv):
        """`psql \\copy` of the CSV into a table shaped like the connector's."""
        self.srv.query(f'CREATE TABLE vitals_copy (LIKE "{like}")')
        return self.fill("vitals_copy", csv)

    def fill(self, table, csv):
        self.quiesce()
        cols = ",".join(f'"{c}"' for c in COLS)
        d0, t0 = cpu(self.pid), time.time()
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-p", str(self.srv.port), "-U",
                        "postgres", "-d", "postgres", "-c",
                        f"\\copy {table} ({cols}) FROM '{csv}' WITH (FORMAT csv)"],
                       check=True)
        secs = time.time() - t0
        assert self.count(table) == N
        return secs, cpu(self.pid) - d0



class My(DB):
    TYPES = {str: "LONGTEXT", int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}
    SNAPSHOT = "START TRANSACTION WITH CONSISTENT SNAPSHOT"
    OPEN_TRANSACTIONS = "SELECT count(*) FROM information_schema.innodb_trx"

    def __init__(self):
        self.srv = harness.MariaDB(durable=DURABLE)
        self.conf = {"connection.url": self.srv.url, "connection.user": self.srv.USER,
                     "connection.password": self.srv.PASSWORD}
        self.pid = self.srv.proc.pid
        self.conn = None

    def q(self, table):
        return f"`{table}`"

    def inserted(self):
        return int(self.one("SHOW GLOBAL STATUS LIKE 'Handler_write'"))

    def mark(self, watched=()):
        super().mark(watched)
        self.base = self.inserted() - 1  # the warm-up row is in the table already

    def progress(self, table):
        """Rows written (Handler_write counts each, committed or not)."""
        return self.inserted() - self.base

    def load(self, like, csv):
        self.srv.query(f"CREATE TABLE vitals_load LIKE `{like}`")
        return self.fill("vitals_load", csv)

    def fill(self, table, csv):
        import pymysql
        c = pymysql.connect(host="127.0.0.1", port=self.srv.port, user=self.srv.USER,
                            password=self.srv.PASSWORD, database="test", local_infile=True,
                            autocommit=True)
        cols = ",".join(f"`{x}`" for x in COLS)
        d0, t0 = cpu(self.pid), time.time()
        with c.cursor() as cur:
            cur.execute(f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE {table} "
                        f"FIELDS TERMINATED BY ',' ({cols})")
        secs = time.time() - t0
        c.close()
        assert self.count(table) == N
        return secs, cpu(self.pid) - d0


def write_csv(path, boolean):
    with open(path, "w") as f:
        for i in range(N):
            f.write(",".join(boolean(v) if isinstance(v, bool) else str(v)
                             for v in values(i)) + "\n")


def run_seed_way(pg, tmp):
    """The seeds' consumer: confluent-kafka + psycopg2, one INSERT (autocommit) per message."""
    from confluent_kafka import Consumer
    kafka = harness.DevKafka(topics=("seed:1",))
    pg.srv.query('CREATE TABLE vitals_seed (LIKE "vitals_pg")')
    try:
        sample = os.path.join(tmp, "sample")
        with open(sample, "w") as f:
            f.writelines(f"{i}\t{record(i)}\n" for i in range(SEED_SAMPLE))
        produce(kafka.bootstrap, "seed", sample)
        c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "seed-way",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["seed"])
        conn = pg.srv.connect()
        cur = conn.cursor()
        sql = (f"INSERT INTO vitals_seed ({','.join(COLS)}) VALUES "
               f"({','.join(['%s'] * len(COLS))})")
        done, t0 = 0, None
        try:
            while done < SEED_SAMPLE:
                m = c.poll(1.0)
                if m is None or m.error():
                    continue
                t0 = t0 or time.time()
                v = json.loads(m.value())
                cur.execute(sql, [v[k] for k in COLS])
                done += 1
        finally:
            c.close()
            conn.close()
        return time.time() - t0
    finally:
        kafka.stop()


def backlog_run(db, table, base_rate, base, tmp):
    """Insert mode again, from a backlog: what connectd does without kcat on the cores. Not a
    goal (the issue's runs produce while the sink consumes); it shows how much of the gap to
    the database's own loader is the shared machine's."""
    s, cw, cd, r = run_connectd(db, db.pid, table, {"insert.mode": "insert"}, tmp, backlog=True)
    line = (f"  from a backlog: {N / s:9.0f} rows/s = {N / s / base_rate:.2f}x {base} "
            f"({s:.1f} s, the first rows {(db.began or db.arrival) - db.marked:.2f} s after the resume; CPU "
            f"connectd {cw:.1f} s, database {cd:.1f} s; peak RSS {r:.0f} MiB)")
    print(line, flush=True)
    return line


def goal(ok):
    return "met" if ok else "NOT met"


def main():
    tmp = tempfile.mkdtemp(prefix="bench-jdbc-")
    try:
        run(tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])


def run(tmp):
    with open(os.path.join(tmp, "warm.jsonl"), "w") as f:
        f.write(f"-1\t{record(-1)}\n")
    with open(os.path.join(tmp, "data"), "w") as f:
        f.writelines(f"{i}\t{record(i)}\n" for i in range(N))  # distinct keys
    pg_csv, my_csv = os.path.join(tmp, "pg.csv"), os.path.join(tmp, "my.csv")
    write_csv(pg_csv, lambda b: "true" if b else "false")
    write_csv(my_csv, lambda b: "1" if b else "0")
    print(f"JDBC sink benchmark: {N} vitals records (~{len(record(N // 2))} B JSON), "
          f"{PARTITIONS} partitions, {os.cpu_count()} CPUs, databases "
          + ("durable as shipped" if DURABLE else "not durable (BENCH_DB_DURABLE=off)"), flush=True)
    out, rss, res = [], [], {}
    pg = PG() if ONLY & {"pg", "up"} else None
    if pg and WARM:
        pg.warm(pg_csv)
    try:
        if "pg" in ONLY:
            s, cw, cd, r = run_connectd(pg, pg.pid, "vitals_pg", {"insert.mode": "insert"}, tmp)
            rss.append(r)
            res["pg_ins"], res["pg_ins_db_cpu"] = N / s, cd
            out.append(f"postgres insert:  {N / s:9.0f} rows/s ({s:.1f} s; CPU connectd {cw:.1f} s, "
                       f"postgres {cd:.1f} s; peak RSS {r:.0f} MiB)")
            print(out[-1], flush=True)
            s, cd = pg.load("vitals_pg", pg_csv)
            res["pg_copy"] = N / s
            out.append(f"psql \\copy:       {N / s:9.0f} rows/s ({s:.1f} s; CPU postgres {cd:.1f} s)")
            print(out[-1], flush=True)
            print(ceiling(res["pg_ins_db_cpu"], res["pg_copy"], "postgres"), flush=True)
            if BACKLOG:
                out.append(backlog_run(pg, "vitals_pg_backlog", res["pg_copy"], "\\copy", tmp))
        if "up" in ONLY:
            s, cw, cd, r = run_connectd(pg, pg.pid, "vitals_up",
                                        {"insert.mode": "upsert", "pk.mode": "record_value",
                                         "pk.fields": "timestamp"}, tmp)
            rss.append(r)
            res["pg_up"] = N / s
            out.append(f"postgres upsert:  {N / s:9.0f} rows/s ({s:.1f} s; CPU connectd {cw:.1f} s, "
                       f"postgres {cd:.1f} s; peak RSS {r:.0f} MiB)")
            print(out[-1], flush=True)
        if "pg" in ONLY:
            s = run_seed_way(pg, tmp)
            res["seed"] = SEED_SAMPLE / s
            out.append(f"seeds' way:       {SEED_SAMPLE / s:9.0f} rows/s (one INSERT per message, "
                       f"{SEED_SAMPLE} sampled)")
            print(out[-1], flush=True)
    finally:
        if pg:
            pg.srv.close()
    if "my" in ONLY:
        my = My()
        if WARM:
            my.warm(my_csv)
        try:
            s, cw, cd, r = run_connectd(my, my.pid, "vitals_my", {"insert.mode": "insert"}, tmp)
            rss.append(r)
            res["my_ins"], res["my_ins_db_cpu"] = N / s, cd
            out.append(f"mysql insert:     {N / s:9.0f} rows/s ({s:.1f} s; CPU connectd {cw:.1f} s, "
                       f"mariadbd {cd:.1f} s; peak RSS {r:.0f} MiB)")
            print(out[-1], flush=True)
            s, cd = my.load("vitals_my", my_csv)
            res["my_load"] = N / s
            out.append(f"LOAD DATA LOCAL:  {N / s:9.0f} rows/s ({s:.1f} s; CPU mariadbd {cd:.1f} s)")
            print(out[-1], flush=True)
            print(ceiling(res["my_ins_db_cpu"], res["my_load"], "mariadbd"), flush=True)
            if BACKLOG:
                out.append(backlog_run(my, "vitals_my_backlog", res["my_load"], "LOAD DATA", tmp))
        finally:
            my.srv.close()
    goals = []
    if "pg_ins" in res:
        pg_ins, pg_copy, seed = res["pg_ins"], res["pg_copy"], res["seed"]
        goals += [("postgres insert / \\copy >= 0.6x", f"{pg_ins / pg_copy:.2f}x",
                   pg_ins / pg_copy >= 0.6),
                  ("postgres insert >= 200k rows/s", f"{pg_ins / 1000:.0f}k", pg_ins >= 200000)]
    if "pg_up" in res:
        goals.append(("postgres upsert >= 100k rows/s", f"{res['pg_up'] / 1000:.0f}k",
                      res["pg_up"] >= 100000))
    if "my_ins" in res:
        my_ins, my_load = res["my_ins"], res["my_load"]
        goals += [("mysql insert / LOAD DATA >= 0.5x", f"{my_ins / my_load:.2f}x",
                   my_ins / my_load >= 0.5),
                  ("mysql insert >= 100k rows/s", f"{my_ins / 1000:.0f}k", my_ins >= 100000)]
    if "pg_ins" in res:
        goals.append(("postgres insert / seeds' way >= 20x", f"{pg_ins / seed:.0f}x",
                      pg_ins / seed >= 20))
    goals.append(("worker peak RSS < 256 MiB", f"{max(rss):.0f} MiB", max(rss) < 256))
    print("\n".join(["", "goal                                   measured    result"] + [
        f"{g:38} {m:>9}    {goal(ok)}" for g, m, ok in goals]))

if __name__ == "__main__":
    main()
