"""A local Snowflake emulator: key-pair JWT auth, Snowpipe Streaming REST (named channels),
and enough of the SQL API v2 to create tables. It follows §5 of
../shared/reference/snowflake-streaming.md; tests drive faults through /_emu/ endpoints.

Two listeners: the control plane (JWT, /oauth/token, hostname, SQL API) and the ingest plane
(scoped tokens, channels). Run standalone: snowflake_emu.py ACCOUNT [--port N]."""
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization

MAX_BODY = 4 * 1024 * 1024
JWT_MAX_LIFETIME = 3600
SCOPED_TOKEN_LIFETIME = 3300
ISS_RE = re.compile(r"^([A-Z0-9_-]+)\.([A-Z0-9_$-]+)\.SHA256:([A-Za-z0-9+/]+=*)$")
REOPEN_CODE = "ERR_CHANNEL_MUST_BE_REOPENED"


def fingerprint(pub):
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def load_public_key(text):
    """PEM, or the bare base64 SPKI that ALTER USER ... SET RSA_PUBLIC_KEY takes."""
    if "BEGIN" not in text:
        text = "-----BEGIN PUBLIC KEY-----\n" + text.strip() + "\n-----END PUBLIC KEY-----\n"
    return serialization.load_pem_public_key(text.encode())


class EmuError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Channel:
    def __init__(self, cid, pipe, name):
        self.id, self.pipe, self.name = cid, pipe, name
        self.client_seq = 0
        self.row_seq = 0
        self.created_on_ms = int(time.time() * 1000)
        self.status_code = "SUCCESS"
        self.committed_token = None
        self.pending = []  # (received_at, start, end, rows)
        self.rows_inserted = self.rows_parsed = self.rows_error_count = 0
        self.last_error_offset_upper_bound = None
        self.last_error_message = None
        self.last_error_timestamp = None

    def status(self):
        return {"database_name": self.pipe[0], "schema_name": self.pipe[1],
                "pipe_name": self.pipe[2], "channel_name": self.name,
                "channel_status_code": self.status_code,
                "last_committed_offset_token": self.committed_token,
                "created_on_ms": self.created_on_ms, "rows_inserted": self.rows_inserted,
                "rows_parsed": self.rows_parsed, "rows_error_count": self.rows_error_count,
                "last_error_offset_upper_bound": self.last_error_offset_upper_bound,
                "last_error_message": self.last_error_message,
                "last_error_timestamp": self.last_error_timestamp,
                "snowflake_avg_processing_latency_ms": 0}


class Emulator:
    def __init__(self, account, databases=(("INGEST", "INGEST"),), commit_delay_ms=200,
                 hostname_format="text", token_format="text", clock_skew=60,
                 scoped_lifetime=SCOPED_TOKEN_LIFETIME):
        self.account = account.upper()
        self.lock = threading.RLock()
        self.users = {}  # USER -> {fingerprint: public key}
        self.schemas = {(d.upper(), s.upper()) for d, s in databases}
        self.tables = {}  # (DB, SC, T) -> {"columns": {NAME: TYPE}, "rows": []}
        self.channels = {}  # (DB, SC, PIPE, CHANNEL) -> Channel
        self.scoped = {}  # token -> (user, host, exp)
        self.faults = []  # dicts: endpoint, status, body, count, mode
        self.events = []
        self.commit_delay_ms = commit_delay_ms
        self.hold_commits = False
        self.reject_rows = 0  # the next N committed rows fail as a bad cast would
        self.hostname_format = hostname_format
        self.token_format = token_format
        self.clock_skew = clock_skew
        self.scoped_lifetime = scoped_lifetime  # seconds; short in token renewal tests
        self.jwts_seen = set()
        self.secret = secrets.token_bytes(32)
        self.next_channel_id = 1
        self.stopping = threading.Event()
        self.control = self.ingest = None

    # ------------------------------------------------------------ lifecycle
    def start(self, port=0, ingest_port=0):
        self.control = ThreadingHTTPServer(("127.0.0.1", port), _handler(self, "control"))
        self.ingest = ThreadingHTTPServer(("127.0.0.1", ingest_port), _handler(self, "ingest"))
        for srv in (self.control, self.ingest):
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        threading.Thread(target=self._committer, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.control.server_address[1]}"

    @property
    def ingest_host(self):
        return f"127.0.0.1:{self.ingest.server_address[1]}"

    def stop(self):
        self.stopping.set()
        for srv in (self.control, self.ingest):
            if srv:
                srv.shutdown()
                srv.server_close()

    def log(self, kind, **kw):
        with self.lock:
            self.events.append(dict(kw, kind=kind, t=time.time()))

    # ------------------------------------------------------------ users and auth
    def add_user(self, user, public_key):
        pub = load_public_key(public_key) if isinstance(public_key, str) else public_key
        with self.lock:
            self.users.setdefault(user.upper(), {})[fingerprint(pub)] = pub

    def check_jwt(self, token):
        """Returns the user a key-pair JWT authenticates, or raises EmuError 401."""
        def deny(msg):
            raise EmuError(401, "390144", f"JWT token is invalid. [{msg}]")
        if token.count(".") != 2:
            deny("not a JWT")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            deny(f"unparsable: {e}")
        if header.get("alg") != "RS256":
            deny("alg must be RS256")
        m = ISS_RE.match(str(claims.get("iss", "")))
        if not m:
            deny("iss must be ACCOUNT.USER.SHA256:<fingerprint>, upper case")
        account, user, fp = m.group(1), m.group(2), "SHA256:" + m.group(3)
        if claims.get("sub") != f"{account}.{user}":
            deny("sub must be ACCOUNT.USER")
        if account != self.account:
            deny(f"account {account} is not this account")
        with self.lock:
            key = self.users.get(user, {}).get(fp)
        if key is None:
            deny("unknown user or public key fingerprint")
        try:
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_exp": False,
                                                                  "verify_iat": False})
        except jwt.PyJWTError as e:
            deny(f"signature: {e}")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            deny("iat and exp are required numbers")
        iat, exp = (v / 1000 if v > 1e12 else v for v in (iat, exp))
        if now > min(exp, iat + JWT_MAX_LIFETIME):
            deny("expired")
        if iat > now + self.clock_skew:
            deny("issued in the future")
        with self.lock:
            new = token not in self.jwts_seen
            self.jwts_seen.add(token)
        if new:  # each JWT's first use, for tests of renewal
            self.log("jwt", user=user, iat=iat, exp=exp)
        return user

    def check_scoped(self, token):
        with self.lock:
            entry = self.scoped.get(token)
        if not entry or entry[2] < time.time():
            raise EmuError(401, "390303", "Invalid OAuth access token.")
        if entry[1] != self.ingest_host:
            raise EmuError(401, "390303", "Token scope does not match this host.")
        return entry[0]

    def expire_tokens(self):
        with self.lock:
            self.scoped.clear()
            self.log("tokens_expired")

    # ------------------------------------------------------------ faults
    def add_fault(self, endpoint, status=None, count=1, body=None, mode="status"):
        with self.lock:
            self.faults.append({"endpoint": endpoint, "status": status, "count": count,
                                "body": body, "mode": mode})

    def take_fault(self, endpoint):
        with self.lock:
            for f in self.faults:
                if f["endpoint"] in (endpoint, "*") and f["count"] > 0:
                    f["count"] -= 1
                    self.log("fault", endpoint=endpoint, mode=f["mode"], status=f["status"])
                    return dict(f)
            self.faults = [f for f in self.faults if f["count"] > 0]
        return None

    # ------------------------------------------------------------ tables (SQL API)
    def sql(self, user, stmt, database, schema):
        s = stmt.strip().rstrip(";")
        m = re.match(r"(?is)^create\s+table\s+(if\s+not\s+exists\s+)?([\w.\"$]+)\s*\((.*)\)$", s)
        if m:
            key = self._table_key(m.group(2), database, schema)
            cols = {}
            for part in _split_columns(m.group(3)):
                name, typ = part.strip().split(None, 1)
                cols[_ident(name)] = typ.strip().upper()
            with self.lock:
                if key in self.tables:
                    if not m.group(1):
                        raise EmuError(422, "002002",
                                       f"SQL compilation error: Object '{key[2]}' already exists.")
                else:
                    self.tables[key] = {"columns": cols, "rows": []}
                self.log("create_table", table=".".join(key), columns=cols)
            return "Table successfully created." if m.group(1) is None else "statement succeeded."
        m = re.match(r"(?is)^alter\s+table\s+([\w.\"$]+)\s+add\s+column\s+(if\s+not\s+exists\s+)?"
                     r"(.*)$", s)
        if m:
            key = self._table_key(m.group(1), database, schema)
            with self.lock:
                t = self._table(key)
                for part in _split_columns(m.group(3)):
                    name, typ = part.strip().split(None, 1)
                    if _ident(name) in t["columns"] and not m.group(2):
                        raise EmuError(422, "001430", f"column '{_ident(name)}' already exists")
                    t["columns"].setdefault(_ident(name), typ.strip().upper())
            return "Statement executed successfully."
        raise EmuError(422, "001003", f"SQL compilation error: unsupported statement: {s[:60]}")

    def _table_key(self, name, database, schema):
        parts = [_ident(p) for p in name.split(".")]
        if len(parts) == 1:
            parts = [(database or "").upper(), (schema or "").upper()] + parts
        elif len(parts) == 2:
            parts = [(database or "").upper()] + parts
        db, sc, t = parts
        if (db, sc) not in self.schemas:
            if db not in {d for d, _ in self.schemas}:
                raise EmuError(422, "002003",
                               f"SQL compilation error: Database '{db}' does not exist or not "
                               "authorized.")
            raise EmuError(422, "002003",
                           f"SQL compilation error: Schema '{db}.{sc}' does not exist or not "
                           "authorized.")
        return (db, sc, t)

    def _table(self, key):
        t = self.tables.get(key)
        if t is None:
            raise EmuError(422, "002003", f"Table '{'.'.join(key)}' does not exist")
        return t

    def pipe_table(self, db, sc, pipe):
        """The default pipe of table T is T-STREAMING; names are case-insensitive."""
        db, sc, pipe = db.upper(), sc.upper(), pipe.upper()
        if pipe.endswith("-STREAMING"):
            key = (db, sc, pipe[: -len("-STREAMING")])
            if key in self.tables:
                return key
        raise EmuError(404, "ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED",
                       f"Pipe {db}.{sc}.{pipe} does not exist or not authorized")

    def rows(self, table):
        key = tuple(p.upper() for p in table.split("."))
        with self.lock:
            return [dict(r) for r in self.tables.get(key, {"rows": []})["rows"]]

    # ------------------------------------------------------------ channels
    def ct_make(self, ch):
        raw = f"{ch.id}:{ch.client_seq}:{ch.row_seq}"
        mac = hmac.new(self.secret, raw.encode(), hashlib.sha256).hexdigest()[:24]
        return base64.urlsafe_b64encode(f"{raw}:{mac}".encode()).decode()

    def ct_check(self, ch, token):
        try:
            raw = base64.urlsafe_b64decode(token.encode()).decode()
            cid, cseq, rseq, mac = raw.split(":")
        except (ValueError, UnicodeDecodeError):
            cid = None
        stale = EmuError(400, "STALE_CONTINUATION_TOKEN_SEQUENCER",
                         "Channel sequencer in the continuation token is stale. Please reopen "
                         "the channel")
        if cid is None:
            raise stale
        good = hmac.new(self.secret, f"{cid}:{cseq}:{rseq}".encode(),
                        hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(good, mac) or int(cid) != ch.id:
            raise stale
        # An older client sequencer (another open happened) or a reused row sequencer (a
        # retry after a lost response) are both stale: the client must reopen.
        if int(cseq) != ch.client_seq or int(rseq) != ch.row_seq:
            raise stale

    def open_channel(self, db, sc, pipe, name, body):
        with self.lock:
            table = self.pipe_table(db, sc, pipe)
            key = table + (name.upper(),)
            ch = self.channels.get(key)
            if ch is None:
                ch = self.channels[key] = Channel(self.next_channel_id, table[:2] + (pipe.upper(),),
                                                  name.upper())
                self.next_channel_id += 1
            if ch.pending and body.get("fail_on_uncommitted_rows"):
                raise EmuError(409, "ERR_CHANNEL_HAS_UNCOMMITTED_DATA",
                               "Channel has uncommitted data")
            dropped = sum(len(p[3]) for p in ch.pending)
            ch.pending = []
            ch.client_seq += 1
            ch.row_seq = 0
            ch.status_code = "SUCCESS"
            if body.get("offset_token") is not None:
                ch.committed_token = str(body["offset_token"])
            self.log("open", channel=ch.name, committed=ch.committed_token, discarded=dropped)
            return {"next_continuation_token": self.ct_make(ch), "channel_status": ch.status()}

    def channel(self, db, sc, pipe, name):
        table = self.pipe_table(db, sc, pipe)
        ch = self.channels.get(table + (name.upper(),))
        if ch is None:
            raise EmuError(404, "ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED",
                           f"Channel {name} does not exist")
        return ch

    def append(self, db, sc, pipe, name, query, body, wire_bytes=None, encoding=None):
        with self.lock:
            ch = self.channel(db, sc, pipe, name)
            if ch.status_code != "SUCCESS":
                raise EmuError(409, ch.status_code, "Channel is invalid and must be reopened")
            ct = query.get("continuationToken")
            if not ct:
                raise EmuError(400, "MISSING_CONTINUATION_TOKEN", "continuationToken is required")
            self.ct_check(ch, ct)
            start, end = query.get("startOffsetToken"), query.get("endOffsetToken")
            rows = _parse_ndjson(body)
            ch.row_seq += 1
            ch.pending.append((time.time(), start, end, rows))
            self.log("append", channel=ch.name, start=start, end=end, rows=len(rows),
                     bytes=len(body), wire_bytes=wire_bytes, encoding=encoding)
            return {"next_continuation_token": self.ct_make(ch)}

    def drop_channel(self, db, sc, pipe, name, body):
        with self.lock:
            table = self.pipe_table(db, sc, pipe)
            key = table + (name.upper(),)
            ch = self.channels.get(key)
            if ch is None:
                raise EmuError(404, "ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED",
                               f"Channel {name} does not exist")
            if ch.pending and body.get("fail_on_uncommitted_rows"):
                raise EmuError(409, "ERR_CHANNEL_HAS_UNCOMMITTED_DATA",
                               "Channel has uncommitted data")
            del self.channels[key]
            self.log("drop", channel=ch.name)

    def bulk_status(self, db, sc, pipe, names):
        with self.lock:
            table = self.pipe_table(db, sc, pipe)
            out = {}
            for n in names:
                ch = self.channels.get(table + (n,))  # case-sensitive: as stored (upper)
                if ch:
                    out[n] = ch.status()
            return {"channel_statuses": out}

    def invalidate(self, channel=None):
        with self.lock:
            for ch in self.channels.values():
                if channel is None or ch.name == channel.upper():
                    ch.status_code = REOPEN_CODE
            self.log("invalidate", channel=channel)

    def _committer(self):
        while not self.stopping.wait(0.02):
            self.commit_due()

    def commit_due(self, force=False):
        now = time.time()
        with self.lock:
            if self.hold_commits and not force:
                return
            for key, ch in self.channels.items():
                while ch.pending and (force or now - ch.pending[0][0] >=
                                      self.commit_delay_ms / 1000):
                    _, start, end, rows = ch.pending.pop(0)
                    self._commit_rows(key[:3], ch, rows, end)

    def _commit_rows(self, table_key, ch, rows, end):
        table = self.tables[table_key]
        cols = table["columns"]
        for row in rows:
            ch.rows_parsed += 1
            bad = [k for k in row if _ident(k) not in cols]
            if bad or self.reject_rows > 0:
                ch.rows_error_count += 1
                ch.last_error_offset_upper_bound = end
                ch.last_error_message = (f"unknown columns {bad}" if bad else
                                         "Numeric value 'abc' is not recognized")
                self.reject_rows = max(0, self.reject_rows - (0 if bad else 1))
                ch.last_error_timestamp = int(time.time() * 1000)
                continue
            table["rows"].append({_ident(k): v for k, v in row.items()})
            ch.rows_inserted += 1
        if end is not None:
            ch.committed_token = end
        self.log("commit", channel=ch.name, end=end, rows=len(rows))


def _ident(name):
    name = name.strip()
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name.upper()


def _split_columns(text):
    out, depth, cur = [], 0, ""
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur)
    return out


def _parse_ndjson(body):
    if not body.endswith(b"\n"):
        raise EmuError(400, "ERR_INVALID_NDJSON", "each row must end with a newline")
    rows = []
    for i, line in enumerate(body.split(b"\n")[:-1]):
        line = line[:-1] if line.endswith(b"\r") else line
        try:
            row = json.loads(line)
        except ValueError as e:
            raise EmuError(400, "ERR_INVALID_NDJSON", f"line {i + 1}: {e}")
        if not isinstance(row, dict):
            raise EmuError(400, "ERR_INVALID_NDJSON", f"line {i + 1}: not a JSON object")
        rows.append(row)
    return rows


CHANNEL_RE = re.compile(r"^/v2/streaming/databases/([^/]+)/schemas/([^/]+)/pipes/([^/]+)"
                        r"/channels/([^/]+)$")
APPEND_RE = re.compile(r"^/v2/streaming/data/databases/([^/]+)/schemas/([^/]+)/pipes/([^/]+)"
                       r"/channels/([^/]+)/rows$")
BULK_RE = re.compile(r"^/v2/streaming/databases/([^/]+)/schemas/([^/]+)/pipes/([^/]+)"
                     r":bulk-channel-status$")


def _handler(emu, plane):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are written separately: with Nagle's algorithm the body then waited
        # for the client's delayed ACK, about 45 ms a reply, which the real service does not add.
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def reply(self, status, obj, ctype="application/json"):
            body = obj if isinstance(obj, bytes) else (
                obj.encode() if isinstance(obj, str) and ctype == "text/plain"
                else json.dumps(obj).encode())
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def body(self):
            self.body_read = True
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                self.rfile.read(n)
                raise EmuError(413, "ERR_PAYLOAD_TOO_LARGE", "request body exceeds 4 MB")
            data = self.rfile.read(n)
            enc = (self.headers.get("Content-Encoding") or "").lower()
            if enc == "gzip":
                try:
                    data = gzip.decompress(data)
                except OSError:
                    raise EmuError(400, "ERR_BAD_ENCODING", "body is not valid gzip")
            elif enc not in ("", "identity"):
                raise EmuError(415, "ERR_UNSUPPORTED_ENCODING", f"Content-Encoding {enc}")
            if len(data) > MAX_BODY * 4:
                raise EmuError(413, "ERR_PAYLOAD_TOO_LARGE", "decoded body too large")
            return data

        def bearer(self):
            a = self.headers.get("Authorization") or ""
            if not a.startswith("Bearer "):
                raise EmuError(401, "390101", "Authorization header is missing or not Bearer")
            return a[7:].strip()

        def jwt_user(self):
            tt = self.headers.get("X-Snowflake-Authorization-Token-Type")
            if tt and tt != "KEYPAIR_JWT":
                raise EmuError(401, "390101", f"token type {tt} not accepted here")
            return emu.check_jwt(self.bearer())

        def scoped_user(self):
            tt = self.headers.get("X-Snowflake-Authorization-Token-Type")
            if tt and tt != "OAUTH":
                raise EmuError(401, "390101", f"token type {tt} not accepted here")
            return emu.check_scoped(self.bearer())

        def handle_any(self, method):
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if path.startswith("/_emu/"):
                return self.admin(method, path, query)
            endpoint = self.endpoint_name(method, path)
            fault = emu.take_fault(endpoint)
            if fault and fault["mode"] == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault and fault["mode"] == "status":
                body = fault["body"] if fault["body"] is not None else {
                    "code": f"EMU_{fault['status']}", "message": "injected fault"}
                self.body()
                return self.reply(fault["status"], body)
            if self.headers.get("Accept") is None:
                return self.reply(400, {"code": "391902",
                                        "message": "Unsupported Accept header null is specified"})
            result = self.route(method, path, query)
            if fault and fault["mode"] == "drop_after":  # applied, but the reply is lost
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.reply(*result)

        def endpoint_name(self, method, path):
            if path == "/oauth/token":
                return "token"
            if path == "/v2/streaming/hostname":
                return "hostname"
            if path.startswith("/api/v2/statements"):
                return "sql"
            if APPEND_RE.match(path):
                return "append"
            if BULK_RE.match(path):
                return "status"
            if CHANNEL_RE.match(path):
                return "open" if method == "PUT" else "drop"
            return "other"

        def route(self, method, path, query):
            if plane == "control" and method == "GET" and path == "/v2/streaming/hostname":
                self.jwt_user()
                if emu.hostname_format == "json":
                    return 200, {"hostname": emu.ingest_host}
                return 200, emu.ingest_host, "text/plain"
            if plane == "control" and method == "POST" and path == "/oauth/token":
                return self.token()
            if plane == "control" and method == "POST" and path == "/api/v2/statements":
                user = self.jwt_user()
                req = json.loads(self.body() or b"{}")
                msg = emu.sql(user, req.get("statement", ""), req.get("database"),
                              req.get("schema"))
                return 200, {"code": "090001", "statementHandle": secrets.token_hex(8),
                             "message": "Statement executed successfully.",
                             "resultSetMetaData": {"numRows": 1, "rowType": [
                                 {"name": "status", "type": "text"}]},
                             "data": [[msg]]}
            m = BULK_RE.match(path)
            if m and method == "POST":
                if plane == "control":
                    self.jwt_user()
                else:
                    self.scoped_user()
                req = json.loads(self.body() or b"{}")
                return 200, emu.bulk_status(*m.groups(), req.get("channel_names") or [])
            if plane != "ingest":
                raise EmuError(404, "NOT_FOUND", f"{method} {path} is not served here")
            self.scoped_user()
            m = APPEND_RE.match(path)
            if m and method == "POST":
                if (self.headers.get("Content-Type") or "").split(";")[0] != "application/x-ndjson":
                    raise EmuError(415, "ERR_CONTENT_TYPE", "appends must be application/x-ndjson")
                wire = int(self.headers.get("Content-Length") or 0)
                return 200, emu.append(*m.groups(), query, self.body(), wire,
                                       self.headers.get("Content-Encoding"))
            m = CHANNEL_RE.match(path)
            if m and method == "PUT":
                body = self.body()
                return 200, emu.open_channel(*m.groups(), json.loads(body) if body else {})
            if m and method == "DELETE":
                body = self.body()
                emu.drop_channel(*m.groups(), json.loads(body) if body else {})
                return 200, {}
            raise EmuError(404, "NOT_FOUND", f"{method} {path}")

        def token(self):
            form = dict(urllib.parse.parse_qsl(self.body().decode()))
            assertion = form.get("assertion")
            if assertion is None:
                user = self.jwt_user()
            else:
                user = emu.check_jwt(assertion)
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                raise EmuError(400, "invalid_grant", "grant_type must be the jwt-bearer URN")
            scope = (form.get("scope") or "").split()
            if not scope:
                raise EmuError(400, "invalid_scope", "scope (the ingest host) is required")
            tok = secrets.token_urlsafe(32)
            exp = time.time() + emu.scoped_lifetime
            with emu.lock:
                emu.scoped[tok] = (user, scope[0], exp)
            emu.log("token", user=user, scope=scope[0], exp=exp)
            if emu.token_format == "json":
                return 200, {"token": tok}
            return 200, tok, "text/plain"

        def admin(self, method, path, query):
            body = self.body()
            req = json.loads(body) if body else {}
            name = path[len("/_emu/"):]
            if name == "users" and method == "POST":
                emu.add_user(req["user"], req["public_key"])
            elif name == "fault" and method == "POST":
                emu.add_fault(req["endpoint"], req.get("status"), req.get("count", 1),
                              req.get("body"), req.get("mode", "status"))
            elif name == "expire_tokens" and method == "POST":
                emu.expire_tokens()
            elif name == "tokens" and method == "POST":
                emu.scoped_lifetime = float(req.get("scoped_lifetime_s", emu.scoped_lifetime))
            elif name == "invalidate" and method == "POST":
                emu.invalidate(req.get("channel"))
            elif name == "commits" and method == "POST":
                if "delay_ms" in req:
                    emu.commit_delay_ms = req["delay_ms"]
                if "hold" in req:
                    emu.hold_commits = bool(req["hold"])
            elif name == "reject" and method == "POST":
                emu.reject_rows = int(req.get("rows", 1))
            elif name == "commit_now" and method == "POST":
                emu.commit_due(force=True)
            elif name.startswith("tables/") and method == "GET":
                return self.reply(200, emu.rows(name[len("tables/"):]))
            elif name == "tables" and method == "GET":
                with emu.lock:
                    return self.reply(200, {".".join(k): v["columns"]
                                            for k, v in emu.tables.items()})
            elif name == "channels" and method == "GET":
                with emu.lock:
                    return self.reply(200, [c.status() for c in emu.channels.values()])
            elif name == "events" and method == "GET":
                with emu.lock:
                    return self.reply(200, list(emu.events))
            else:
                return self.reply(404, {"code": "NOT_FOUND", "message": path})
            return self.reply(200, {"ok": True})

        def drain(self):
            """Reads a body the request was refused before reading: left in the socket, it
            would be parsed as the next request on this keep-alive connection."""
            if not self.body_read:
                self.body_read = True
                self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def dispatch(self, method):
            self.body_read = False  # one handler serves every request of a connection
            try:
                self.handle_any(method)
                if not self.close_connection:
                    self.drain()  # e.g. refused for a missing Accept header
            except EmuError as e:
                emu.log("error", status=e.status, code=e.code, path=self.path.split("?")[0])
                self.drain()
                self.reply(e.status, {"code": e.code, "message": e.message})
            except (ValueError, KeyError) as e:
                self.drain()
                self.reply(400, {"code": "BAD_REQUEST", "message": str(e)})
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

        def do_PUT(self):
            self.dispatch("PUT")

        def do_DELETE(self):
            self.dispatch("DELETE")

    return Handler


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("account")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ingest-port", type=int, default=0)
    ap.add_argument("--user", action="append", default=[],
                    help="USER=path/to/public_key.pem")
    a = ap.parse_args()
    emu = Emulator(a.account).start(a.port, a.ingest_port)
    for u in a.user:
        name, path = u.split("=", 1)
        emu.add_user(name, open(path).read())
    print(emu.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emu.stop()
