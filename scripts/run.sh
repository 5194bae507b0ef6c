#!/usr/bin/env bash
# `make run`: the demo. Starts a distributed worker on an embedded (in-memory) Kafka with REST
# on :8083, creates the FileStream demo pipeline from configs/, prints what to try, and stays in
# the foreground until Ctrl-C (or SIGTERM), which stops the worker. Exits with its exit code.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=${CONNECTD_BIN:-build/connectd}
WORKER_CONF=${CONNECTD_WORKER_CONF:-configs/worker-embedded.properties}
DEMO_DIR=/tmp/connectd-demo
PORT=8083
URL="http://localhost:$PORT"

[ -x "$BIN" ] || { echo "run: $BIN is missing; run 'make all' first" >&2; exit 1; }
mkdir -p "$DEMO_DIR"
touch "$DEMO_DIR/input.txt"

"$BIN" distributed "$WORKER_CONF" &
pid=$!

stop() {
    trap '' INT TERM
    kill -TERM "$pid" 2>/dev/null
}
trap stop INT TERM

# Wait for the worker to answer /health (or to die).
healthy=0
for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    if curl -sf -o /dev/null "$URL/health"; then
        healthy=1
        break
    fi
    sleep 0.05
done
if [ "$healthy" != 1 ]; then
    echo "run: the worker did not become healthy on $URL" >&2
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    exit 1
fi

for f in configs/demo-file-source.json configs/demo-file-sink.json \
         configs/demo-vitals-source.json configs/demo-vitals-sink.json; do
    name=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$f")
    code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/connectors/$name")
    if [ "$code" = 200 ]; then
        echo "run: connector $name already exists"
        continue
    fi
    code=$(curl -s -o /tmp/connectd-demo/.post.out -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary "@$f" "$URL/connectors")
    if [ "$code" != 201 ] && [ "$code" != 409 ]; then
        echo "run: creating $name answered $code: $(cat /tmp/connectd-demo/.post.out)" >&2
    fi
done
rm -f /tmp/connectd-demo/.post.out

cat <<EOF

connectd is running at $URL (embedded Kafka: everything is in memory; Ctrl-C stops it)

Demo pipelines: $DEMO_DIR/input.txt -> topic demo-lines -> $DEMO_DIR/output.txt
                vitals generator -> topic vitals -> $DEMO_DIR/vitals.jsonl

Try:
  echo "hello connectd" >> $DEMO_DIR/input.txt; sleep 2; cat $DEMO_DIR/output.txt
  curl -s $URL/
  curl -s $URL/health
  curl -s '$URL/connectors?expand=status&expand=info'
  curl -s $URL/connectors/demo-file-sink/status
  curl -s -X PUT $URL/connectors/demo-file-source/pause
  curl -s -X PUT $URL/connectors/demo-file-source/resume
  curl -s $URL/connectors/demo-file-source/offsets
  tail -3 $DEMO_DIR/vitals.jsonl
  curl -s $URL/connector-plugins
  curl -s -X DELETE $URL/connectors/demo-file-sink

EOF

# `wait` returns early (status > 128) when a trapped signal arrives: keep waiting until the
# worker itself has exited, and exit with its status.
while :; do
    wait "$pid"
    rc=$?
    if [ "$rc" -gt 128 ]; then
        if kill -0 "$pid" 2>/dev/null; then
            continue
        fi
        wait "$pid" 2>/dev/null
        r2=$?
        [ "$r2" != 127 ] && rc=$r2
    fi
    break
done
exit "$rc"
