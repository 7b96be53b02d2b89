#!/bin/bash
# What libh2o 2.2.5 leaves open, closed in h2api's layer, each probed with a raw client on
# 127.0.0.1: request smuggling framings (RFC 9112 §6.3) refused with 400 JSON and the connection
# closed (the request hidden behind them is never answered), limits on the request target and
# head (414 / 431 JSON), a slow request head cut off, and after each attack a normal request
# answered within one second.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

PORT=$(free_port)
cat >"$T/h.yaml" <<EOF
listen: [127.0.0.1:$PORT]
workers: 2
limits: {max_body_bytes: 1024, max_header_bytes: 2048, max_url_bytes: 512, request_header_timeout_ms: 1000,
  max_header_field_bytes: 1024, max_header_count: 20}
log: {level: info, access_log: true}
EOF
start_server "$T/h.yaml" "$PORT" || bail "server becomes ready" "/readyz 200" "no"
B=http://127.0.0.1:$PORT

# raw BYTES: sends BYTES (printf escapes) on one connection, half-closes nothing, reads until the
# server closes or 3 s pass; prints what came back, then "[open]" if the server kept it open.
raw() {
    /usr/bin/python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin1"))
s.settimeout(3)
out, closed, t0 = b"", False, time.time()
while time.time() - t0 < 3:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        closed = True
        break
    out += d
sys.stdout.write(out.decode("latin1"))
if not closed:
    sys.stdout.write("\n[open]")
PY
}

# probe LABEL: a normal request is answered 200 within one second
probe() {
    http --max-time 1 "$B/healthz"
    check_code "$1: a normal request is still answered within 1 s" 200
}

# count ERE TEXT: how many times ERE occurs in TEXT (a response may follow a body on the same line)
count() { grep -o -E "$1" <<<"$2" | wc -l; }

# ---- smuggling: Content-Length and Transfer-Encoding together (CL.TE / TE.CL) ----
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
check_match "CL + TE: 400" '^HTTP/1\.1 400' "$resp"
check_contains "CL + TE: JSON detail" '{"detail":' "$resp"
check_eq "CL + TE: the hidden request is not answered" 1 "$(count 'HTTP/1\.1 [0-9]{3}' "$resp")"
check_eq "CL + TE: the connection is closed" 0 "$(count '\[open\]' "$resp")"
probe "CL + TE"

resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
check_match "TE + CL (other order): 400" '^HTTP/1\.1 400' "$resp"
check_eq "TE + CL: the hidden request is not answered" 1 "$(count 'HTTP/1\.1 [0-9]{3}' "$resp")"

# ---- two different Content-Length values; a non-numeric one ----
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcdGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
check_match "two Content-Length values: 400" '^HTTP/1\.1 400' "$resp"
check_contains "two Content-Length values: JSON detail" '{"detail":' "$resp"
check_eq "two Content-Length values: the hidden request is not answered" 1 "$(count 'HTTP/1\.1 [0-9]{3}' "$resp")"
check_eq "two Content-Length values: the connection is closed" 0 "$(count '\[open\]' "$resp")"
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd')
check_match "Content-Length '4, 4' (not all digits): 400" '^HTTP/1\.1 400' "$resp"
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd')
check_match "Content-Length '+4': 400" '^HTTP/1\.1 400' "$resp"

# ---- Transfer-Encoding other than exactly chunked, or twice ----
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n')
check_match "two Transfer-Encoding headers: 400" '^HTTP/1\.1 400' "$resp"
resp=$(raw 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')
check_match "Transfer-Encoding 'gzip, chunked': 400" '^HTTP/1\.1 400' "$resp"
probe "framing attacks"

# ---- honest framing still works, pipelining included ----
resp=$(raw 'POST /v1/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check_eq "an honest Content-Length request and a pipelined one are both answered" 2 "$(count 'HTTP/1\.1 [0-9]{3}' "$resp")"
resp=$(raw 'POST /v1/posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check_eq "an honest chunked request and a pipelined one are both answered" 2 "$(count 'HTTP/1\.1 [0-9]{3}' "$resp")"

# ---- limits: request target (414) and head (431), JSON ----
long=$(printf 'a%.0s' $(seq 1 600))
http "$B/v1/posts/$long"
check_detail "a 600-byte request target (max_url_bytes 512)" 414
http -H "X-Big: $(printf 'b%.0s' $(seq 1 3000))" "$B/healthz"
check_detail "a 3000-byte header (max_header_bytes 2048)" 431
many=()
for i in $(seq 1 25); do many+=(-H "X-H$i: v"); done
for proto in --http1.1 --http2-prior-knowledge; do
    http "$proto" -H "X-One: $(printf 'c%.0s' $(seq 1 1500))" "$B/healthz"
    check_detail "$proto: one 1500-byte header, the head under 2048 (max_header_field_bytes 1024)" 431
    http "$proto" "${many[@]}" "$B/healthz"
    check_detail "$proto: 25 small headers (max_header_count 20)" 431
    http "$proto" "${many[@]:0:30}" -H "X-One: $(printf 'c%.0s' $(seq 1 900))" "$B/healthz"
    check_code "$proto: 15 headers and one of 900 bytes: within every limit" 200
done
probe "limits"

# ---- a request head that never ends is cut off (request_header_timeout_ms 1000) ----
t0=$(now_ms)
resp=$(raw 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n')
t1=$(now_ms)
check_eq "an unfinished request head: the connection is closed" 0 "$(count '\[open\]' "$resp")"
check_lt "... within request_header_timeout_ms (+ 1.5 s)" 2500 "$((t1 - t0))"
probe "slow head"

# ---- connection exhaustion: 1200 idle connections against max_connections_per_worker 1000 ----
# the oldest idle ones are closed to make room; a new client is still served at once
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -ge 3000 ]; then
    IPORT=$(free_port)
    printf 'listen: [127.0.0.1:%s]\nworkers: 1\nlog: {access_log: false}\nlimits: {max_connections_per_worker: 1000}\n' "$IPORT" >"$T/i.yaml"
    MAIN_PID=$SERVER_PID
    MAIN_ERR=$SERVER_ERR
    start_server "$T/i.yaml" "$IPORT" idle || bail "second server becomes ready" "/readyz 200" "no"
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/peers/idle_conns.py" "$IPORT" 1200 4 >"$T/idle.out" 2>&1 &
    IDLE=$!
    track_pid "$IDLE"
    sleep 2
    worst=0
    for i in 1 2 3 4 5; do
        t0=$(now_ms)
        code=$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IPORT/healthz")
        t1=$(now_ms)
        check_eq "1200 idle connections held: new client $i answered" 200 "$code"
        [ $((t1 - t0)) -gt "$worst" ] && worst=$((t1 - t0))
    done
    check_lt "1200 idle connections held: slowest new client (ms)" 1000 "$worst"
    wait_exit "$IDLE" 10 || true
    closed=$(awk '/^closed/ {print $2}' "$T/idle.out")
    echo "# idle connections: $(cat "$T/idle.out")"
    [ "${closed:-0}" -ge 200 ] && ok "at least 200 idle connections were closed to make room" ||
        notok "at least 200 idle connections were closed to make room" ">= 200" "${closed:-0}"
    SERVER_PID=$MAIN_PID
    SERVER_ERR=$MAIN_ERR
else
    echo "# skipped the idle-connection case: nofile limit $(ulimit -n)"
fi

check_match "the server logged nothing fatal" '^$' "$(grep -i -E 'assert|fatal|segv' "$SERVER_ERR" || true)"
finish
