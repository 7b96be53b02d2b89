#!/bin/bash
# Clients that stop reading their answer (limits.send_timeout_ms, as nginx's send_timeout):
# libh2o 2.2.5 has no write timeout, so without it such a client holds its connection and the
# request's upstream work for ever. A client with a 4 KiB receive buffer asks /proxy for a 32 MB
# upstream body and reads nothing: over HTTP/1.1 and h2c the server closes the connection about
# send_timeout_ms (1 s here, checked every second) after its send queue stopped moving, with a
# reset that discards the queued answer, and the upstream sees its transfer aborted. A client that reads slowly but steadily keeps its
# connection, and normal requests are answered throughout. Loopback only; bounded in time.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
require_python_h2
READER=$(dirname "${BASH_SOURCE[0]}")/peers/slow_reader.py

start_api_peer '[{"path": "/big", "big": {"bytes": 32000000, "chunk": 65536}},
  {"path": "/posts/1", "json": {"userId": 1, "id": 1, "title": "t", "body": "b"}}]' ||
    bail "api peer starts" "listening" "no"
PORT=$(free_port)
CONF_WORKERS=1 CONF_TIMEOUT_MS=30000 write_api_conf "$T/s.yaml" "$PORT" "http://127.0.0.1:$API_PEER_PORT"
sed -i 's/^limits: {/limits: {send_timeout_ms: 1000, /' "$T/s.yaml"
grep -q 'send_timeout_ms: 1000' "$T/s.yaml" || bail "config has send_timeout_ms" "1000" "$(cat "$T/s.yaml")"
start_server "$T/s.yaml" "$PORT" || bail "server becomes ready" "/readyz 200" "no"
B=http://127.0.0.1:$PORT

# stalled TAG NAME [h2]: a client that reads nothing until the server ends its connection (at
# most 10 s); probes meanwhile. The cut is due send_timeout_ms (1 s) after the queue stopped
# moving, seen by a sweep every second: about 3 s after the request here, 6 s allowed (ASan). It is a
# reset, so the kernel does not go on delivering the abandoned answer: the client gets about
# its 4 KiB receive buffer, never the megabytes of a full send queue.
stalled() {
    local tag=$1 name=$2 proto=${3:-} aborts_before out code t0 t1 worst=0 i
    aborts_before=$(grep -c '^BIG_ABORT' "$API_PEER_LOG")
    /usr/bin/python3 "$READER" "$PORT" /proxy/big stall 10 $proto >"$T/$tag.json" 2>"$T/$tag.err" &
    local pid=$!
    track_pid "$pid"
    for ((i = 0; i < 20; i++)); do
        sleep 0.5
        t0=$(now_ms)
        code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$B/v1/posts/1")
        t1=$(now_ms)
        [ "$code" = 200 ] || worst=99999
        [ $((t1 - t0)) -gt "$worst" ] && worst=$((t1 - t0))
        [ "$i" -ge 3 ] && ! kill -0 "$pid" 2>/dev/null && break
    done
    wait_exit "$pid" 15 || true
    out=$(cat "$T/$tag.json" "$T/$tag.err")
    echo "# $name: $out"
    check_match "$name: the server closed the connection before the answer was complete" '"closed_early": true' "$out"
    check_lt "$name: it did so within 6 s of the request (s)" 6 \
        "$(sed -n 's/.*"ended_after_s": \([0-9.]*\).*/\1/p' "$T/$tag.json")"
    check_lt "$name: the abandoned answer was discarded, not delivered (bytes received)" 262144 \
        "$(sed -n 's/.*"received": \([0-9]*\).*/\1/p' "$T/$tag.json")"
    check_eq "$name: the upstream transfer was aborted (its work cancelled)" 1 \
        "$(($(peer_log_wait "$API_PEER_LOG" '^BIG_ABORT' $((aborts_before + 1)) 5) - aborts_before))"
    check_lt "$name: normal requests meanwhile answered 200, the slowest under 1 s (ms)" 1000 "$worst"
}
stalled h1 "HTTP/1.1 client reading nothing"
stalled h2 "h2c client reading nothing" h2
check_contains "the server logged why" "limits.send_timeout_ms" "$(cat "$SERVER_ERR")"

# a slow reader that makes progress (4 KiB every 0.2 s, 3 s in all) is not cut off
out=$(/usr/bin/python3 "$READER" "$PORT" /proxy/big trickle 3 2>&1)
echo "# trickle: $out"
check_match "a slow but steady reader keeps its connection" '"closed_early": false' "$out"
out=$(/usr/bin/python3 "$READER" "$PORT" /proxy/big trickle 3 h2 2>&1)
check_match "the same over h2c" '"closed_early": false' "$out"
finish
