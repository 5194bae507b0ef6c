"""The Snowflake emulator itself is strict where Snowflake is: JWT claims, signature, expiry,
scoped tokens bound to the ingest host, continuation-token sequencing, commit delay, 4 MB
limit. A sink that passes against a lax emulator proves nothing."""
import gzip
import time

import jwt
import requests

import snowflake_emu as sfe

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def make_jwt(e, account=None, user=None, fp=None, iat=None, exp=None, key=None, sub=None):
    now = int(time.time())
    account = account or "MYORG-MYACCT"
    user = user or "KAFKA_USER"
    fp = fp or sfe.fingerprint(e.key.public_key())
    claims = {"iss": f"{account}.{user}.{fp}", "sub": sub or f"{account}.{user}",
              "iat": now if iat is None else iat, "exp": now + 3540 if exp is None else exp}
    return jwt.encode(claims, key or e.private_pem, algorithm="RS256")


def hostname(e, tok):
    return requests.get(e.url + "/v2/streaming/hostname",
                        headers={"Authorization": "Bearer " + tok, "Accept": "application/json"})


def test_jwt_checks(snowflake_emu):
    e = snowflake_emu
    assert hostname(e, make_jwt(e)).status_code == 200
    now = int(time.time())
    bad = {
        "lower-case account": make_jwt(e, account="myorg-myacct"),
        "other account": make_jwt(e, account="OTHER"),
        "unknown user": make_jwt(e, user="NOBODY"),
        "sub mismatch": make_jwt(e, sub="MYORG-MYACCT.OTHER"),
        "wrong fingerprint": make_jwt(e, fp="SHA256:" + "A" * 43 + "="),
        "expired": make_jwt(e, iat=now - 4000, exp=now - 10),
        "older than one hour despite a later exp": make_jwt(e, iat=now - 3700, exp=now + 3600),
        "issued in the future": make_jwt(e, iat=now + 600, exp=now + 1200),
    }
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    bad["signed by another key"] = make_jwt(e, key=other)
    bad["HS256"] = jwt.encode({"iss": "x", "sub": "y"}, "secret", algorithm="HS256")
    for why, tok in bad.items():
        assert hostname(e, tok).status_code == 401, why
    r = requests.get(e.url + "/v2/streaming/hostname",
                     headers={"Authorization": "Bearer " + make_jwt(e), "Accept": None})
    assert r.status_code == 400 and "Accept" in r.json()["message"]


def session(e):
    """Creates table T and returns (ingest base URL, headers with a scoped token)."""
    tok = make_jwt(e)
    host = hostname(e, tok).text
    H = {"Authorization": "Bearer " + tok, "Accept": "application/json"}
    r = requests.post(e.url + "/oauth/token", headers=H, data={"grant_type": GRANT,
                                                               "scope": host})
    assert r.status_code == 200
    scoped = r.text
    r = requests.post(e.url + "/api/v2/statements", headers=H, json={
        "statement": "CREATE TABLE IF NOT EXISTS T (RECORD_METADATA VARIANT, "
                     "RECORD_CONTENT VARIANT)", "database": "INGEST", "schema": "INGEST"})
    assert r.status_code == 200, r.text
    return f"http://{host}/v2/streaming", {"Authorization": "Bearer " + scoped,
                                           "Accept": "application/json"}


CH = "/databases/ingest/schemas/ingest/pipes/t-streaming/channels/c0"


def append(base, h, ct, body, start, end, **extra):
    hdr = dict(h, **dict({"Content-Type": "application/x-ndjson"}, **extra))
    return requests.post(base + "/data" + CH + "/rows",
                         params={"continuationToken": ct, "startOffsetToken": start,
                                 "endOffsetToken": end}, headers=hdr, data=body)


def test_channel_sequencing_and_commits(snowflake_emu):
    e = snowflake_emu
    e.emu.commit_delay_ms = 300
    base, h = session(e)
    # The JWT is not accepted on the ingest plane: only scoped tokens are.
    jwt_h = dict(h, Authorization="Bearer " + make_jwt(e))
    assert requests.put(base + CH, headers=jwt_h, json={}).status_code == 401
    r = requests.put(base + CH, headers=h, json={})
    assert r.status_code == 200
    assert r.json()["channel_status"]["last_committed_offset_token"] is None
    ct = r.json()["next_continuation_token"]
    row = b'{"RECORD_METADATA":{"offset":0},"RECORD_CONTENT":{"a":1}}\n'
    r = append(base, h, ct, gzip.compress(row), 0, 0, **{"Content-Encoding": "gzip"})
    assert r.status_code == 200
    ct2 = r.json()["next_continuation_token"]
    # a token used once is stale
    assert append(base, h, ct, row, 0, 0).json()["code"] == "STALE_CONTINUATION_TOKEN_SEQUENCER"
    assert e.rows("INGEST.INGEST.T") == []  # not committed yet
    time.sleep(0.5)
    assert len(e.rows("INGEST.INGEST.T")) == 1
    # reopen bumps the client sequencer: the old chain is stale, the committed token returned
    r = requests.put(base + CH, headers=h, json={})
    assert r.json()["channel_status"]["last_committed_offset_token"] == "0"
    assert append(base, h, ct2, row, 1, 1).status_code == 400
    # uncommitted rows are discarded by a reopen
    e.emu.hold_commits = True
    ct3 = r.json()["next_continuation_token"]
    assert append(base, h, ct3, row, 1, 1).status_code == 200
    r = requests.put(base + CH, headers=h, json={})
    e.emu.hold_commits = False
    time.sleep(0.5)
    assert len(e.rows("INGEST.INGEST.T")) == 1
    assert r.json()["channel_status"]["last_committed_offset_token"] == "0"
    # bodies: NDJSON lines ending in \n, at most 4 MB
    ct4 = r.json()["next_continuation_token"]
    assert append(base, h, ct4, b'{"a":1}', 1, 1).status_code == 400
    assert append(base, h, ct4, b"[1]\n", 1, 1).status_code == 400
    big = row * (5 * 1024 * 1024 // len(row))
    assert append(base, h, ct4, big, 1, 1).status_code == 413
    assert append(base, h, ct4, row, 1, 1, **{"Content-Type": "application/json"}).status_code \
        == 415
    # expired scoped tokens are refused
    e.emu.expire_tokens()
    assert requests.put(base + CH, headers=h, json={}).status_code == 401


def test_bulk_status_and_drop(snowflake_emu):
    e = snowflake_emu
    base, h = session(e)
    assert requests.put(base + CH, headers=h, json={}).status_code == 200
    status_url = base + "/databases/INGEST/schemas/INGEST/pipes/T-STREAMING:bulk-channel-status"
    r = requests.post(status_url, headers=h, json={"channel_names": ["C0", "c0", "NOPE"]})
    # names in the body are case-sensitive; unknown ones are left out
    assert list(r.json()["channel_statuses"]) == ["C0"]
    assert r.json()["channel_statuses"]["C0"]["channel_status_code"] == "SUCCESS"
    assert requests.delete(base + CH, headers=h).status_code == 200
    r = requests.post(status_url, headers=h, json={"channel_names": ["C0"]})
    assert r.json()["channel_statuses"] == {}
    assert requests.delete(base + CH, headers=h).status_code == 404
    # the bulk status is served on the control plane too, with the JWT
    r = requests.post(e.url + "/v2/streaming/databases/INGEST/schemas/INGEST/pipes/"
                      "T-STREAMING:bulk-channel-status",
                      headers={"Authorization": "Bearer " + make_jwt(e),
                               "Accept": "application/json"}, json={"channel_names": []})
    assert r.status_code == 200


def test_scoped_token_lifetime_is_settable_and_enforced(snowflake_emu):
    e = snowflake_emu
    assert requests.post(e.url + "/_emu/tokens", json={"scoped_lifetime_s": 1.5}).status_code == 200
    base, h = session(e)
    assert requests.put(base + CH, headers=h, json={}).status_code == 200
    time.sleep(2)
    conn = requests.Session()  # one keep-alive connection to the ingest plane
    r = conn.put(base + CH, headers=h, json={"offset_token": "refused before its body is read"})
    assert r.status_code == 401
    # the refused request's body does not spill into the next request on the connection
    assert requests.post(e.url + "/_emu/tokens", json={"scoped_lifetime_s": 60}).status_code == 200
    _, h2 = session(e)
    assert conn.put(base + CH, headers=h2, json={}).status_code == 200
    events = requests.get(e.url + "/_emu/events").json()
    tok = [x for x in events if x["kind"] == "token"]
    assert len(tok) == 2 and abs(tok[0]["exp"] - tok[0]["t"] - 1.5) < 0.1
    assert abs(tok[1]["exp"] - tok[1]["t"] - 60) < 0.1
    jwts = [x for x in events if x["kind"] == "jwt"]
    assert len(jwts) == 2 and jwts[0]["exp"] - jwts[0]["iat"] == 3540  # logged at first use
    assert [x["status"] for x in events if x["kind"] == "error"] == [401]
