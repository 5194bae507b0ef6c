"""A small InfluxDB 2.x write API emulator for tests (no InfluxDB 2.x package exists here).

POST /api/v2/write?org=&bucket=&precision= with `Authorization: Token <token>`, plain or gzip
bodies. Line protocol is parsed strictly (InfluxDB's escaping rules, independent of the sink's
own code); good points are stored in .points, bad lines make a partial write like InfluxDB's:
400 for unparsable lines (named in the message), 422 for field type conflicts. Faults can be
queued: .fault(status, times, retry_after) answers the next requests with that status, and
.max_lines makes bodies with more lines answer 413."""
import gzip
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PRECISION_NS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 1000000000}


class ParseError(Exception):
    pass


def _split_lines(body):
    """Splits a body into lines; a newline inside a quoted string field does not end one."""
    lines, cur, quoted, fields, i = [], [], False, False, 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            cur.append(body[i:i + 2])
            i += 2
            continue
        if c == " " and not quoted:
            fields = True
        if c == '"' and fields:
            quoted = not quoted
        if c == "\n" and not quoted:
            lines.append("".join(cur))
            cur, fields = [], False
        else:
            cur.append(c)
        i += 1
    lines.append("".join(cur))
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _scan(s, i, stops, escapable):
    """Reads up to an unescaped char in stops; returns (unescaped text, index of the stop)."""
    out = []
    while i < len(s) and s[i] not in stops:
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in escapable:
            out.append(s[i + 1])
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out), i


def _field_value(s, i):
    if i < len(s) and s[i] == '"':
        out, i = [], i + 1
        while i < len(s) and s[i] != '"':
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in '"\\':
                i += 1
            out.append(s[i])
            i += 1
        if i >= len(s):
            raise ParseError("unterminated string")
        return "".join(out), "string", i + 1
    m = re.compile(r"[^, ]*").match(s, i)
    raw = m.group(0)
    if not raw:
        raise ParseError("missing field value")
    if re.fullmatch(r"-?\d+i", raw):
        return int(raw[:-1]), "integer", m.end()
    if re.fullmatch(r"\d+u", raw):
        return int(raw[:-1]), "unsigned", m.end()
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True, "boolean", m.end()
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False, "boolean", m.end()
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", raw):
        raise ParseError(f"invalid number {raw!r}")
    return float(raw), "float", m.end()


def parse_line(line, precision):
    """One line → point dict; raises ParseError like InfluxDB would refuse it."""
    name, i = _scan(line, 0, ", ", ", ")
    if not name:
        raise ParseError("missing measurement")
    tags = {}
    while i < len(line) and line[i] == ",":
        k, i = _scan(line, i + 1, "=, ", ",= ")
        if i >= len(line) or line[i] != "=" or not k:
            raise ParseError("missing tag key")
        v, i = _scan(line, i + 1, ", ", ",= ")
        if not v:
            raise ParseError("missing tag value")
        tags[k] = v
    if i >= len(line) or line[i] != " ":
        raise ParseError("missing fields")
    i += 1
    fields, types = {}, {}
    while True:
        k, i = _scan(line, i, "=, ", ",= ")
        if not k or i >= len(line) or line[i] != "=":
            raise ParseError("missing field key or value")
        v, t, i = _field_value(line, i + 1)
        fields[k], types[k] = v, t
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    ts = None
    if i < len(line):
        if line[i] != " " or not re.fullmatch(r"-?\d+", line[i + 1:]):
            raise ParseError(f"bad timestamp {line[i:]!r}")
        ts = int(line[i + 1:]) * PRECISION_NS[precision]
    return {"measurement": name, "tags": tags, "fields": fields, "types": types,
            "time": ts if ts is not None else time.time_ns()}


class Influx2Emu:
    def __init__(self, token="test-token", org="my-org", bucket="vitals"):
        self.token, self.org, self.bucket = token, org, bucket
        self.lock = threading.Lock()
        self.points = {}  # (measurement, sorted tags, time) -> point: rewrites replace, as in InfluxDB
        self.field_types = {}  # (measurement, field) -> type
        self.requests = []  # dicts: time, status, lines, gzip
        self.lines = []  # every line received, as sent
        self.faults = []  # [status, times left, retry_after]
        self.max_lines = None
        self.delay = 0.0  # seconds each write waits before its answer
        self.inflight = self.max_inflight = 0  # requests being answered at once
        self.unparsable = None  # predicate on a line: treat it as bad line protocol
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fault(self, status, times=1, retry_after=None):
        with self.lock:
            self.faults.append([status, times, retry_after])

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def stored(self):
        with self.lock:
            return sorted(self.points.values(), key=lambda p: (p["measurement"], p["time"],
                                                               sorted(p["tags"].items())))

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ request handling

    def _write(self, body, precision):
        """Stores the good points; returns (status, message) for a partial write, or None."""
        bad, conflicts, written = [], [], 0
        for line in _split_lines(body):
            self.lines.append(line)
            try:
                if self.unparsable and self.unparsable(line):
                    raise ParseError("refused by the test")
                p = parse_line(line, precision)
            except ParseError as e:
                bad.append(f"unable to parse '{line}': {e}")
                continue
            conflict = next(((f, t, self.field_types[(p["measurement"], f)])
                             for f, t in p["types"].items()
                             if self.field_types.get((p["measurement"], f), t) != t), None)
            if conflict:
                conflicts.append((p["measurement"],) + conflict)
                continue
            for f, t in p["types"].items():
                self.field_types[(p["measurement"], f)] = t
            key = (p["measurement"], tuple(sorted(p["tags"].items())), p["time"])
            old = self.points.get(key, {"fields": {}})
            p["fields"] = {**old["fields"], **p["fields"]}
            del p["types"]
            self.points[key] = p
            written += 1
        if bad:
            return 400, {"code": "invalid", "message":
                         f"partial write error ({written} written): " + "\n".join(bad)}
        if conflicts:
            m, f, t, e = conflicts[0]
            return 422, {"code": "unprocessable entity", "message":
                         "failure writing points to database: partial write: field type "
                         f"conflict: input field \"{f}\" on measurement \"{m}\" is type {t}, "
                         f"already exists as type {e} dropped={len(conflicts)}"}
        return None

    def _handler(self):
        emu = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body=None, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with emu.lock:
                    emu.inflight += 1
                    emu.max_inflight = max(emu.max_inflight, emu.inflight)
                time.sleep(emu.delay)
                status, msg, headers = emu._handle(self, body)
                with emu.lock:
                    emu.inflight -= 1
                self.reply(status, msg, headers)

        return Handler

    def _handle(self, h, body):
        u = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        gz = h.headers.get("Content-Encoding") == "gzip"
        with self.lock:
            rec = {"time": time.time(), "gzip": gz, "status": None, "lines": None, "query": q}
            self.requests.append(rec)
            rec["status"], msg, headers = self._answer(h, u, q, body, gz, rec)
            return rec["status"], msg, headers

    def _answer(self, h, u, q, body, gz, rec):
        if u.path != "/api/v2/write":
            return 404, {"code": "not found", "message": "path not found"}, ()
        if h.headers.get("Authorization") != f"Token {self.token}":
            return 401, {"code": "unauthorized", "message": "unauthorized access"}, ()
        if self.faults:
            f = self.faults[0]
            f[1] -= 1
            if f[1] <= 0:
                self.faults.pop(0)
            headers = (("Retry-After", str(f[2])),) if f[2] is not None else ()
            return f[0], {"code": "injected", "message": f"injected HTTP {f[0]}"}, headers
        if q.get("org") != self.org:
            return 404, {"code": "not found", "message": f"organization name \"{q.get('org')}\" not found"}, ()
        if q.get("bucket") != self.bucket:
            return 404, {"code": "not found", "message": f"bucket \"{q.get('bucket')}\" not found"}, ()
        precision = q.get("precision", "ns")
        if precision not in PRECISION_NS:
            return 400, {"code": "invalid", "message": f"invalid precision \"{precision}\""}, ()
        try:
            text = (gzip.decompress(body) if gz else body).decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return 400, {"code": "invalid", "message": f"bad body: {e}"}, ()
        rec["lines"] = len(_split_lines(text))
        if self.max_lines and rec["lines"] > self.max_lines:
            return 413, {"code": "request too large", "message": "unable to read data: points batch is too large"}, ()
        res = self._write(text, precision)
        if res:
            return res[0], res[1], ()
        return 204, None, ()
