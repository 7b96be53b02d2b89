#!/bin/bash
# HTTP/2 abuse that libh2o 2.2.5 does not bound, bounded in h2api's layer: Rapid Reset
# (CVE-2023-44487: open and reset streams without end), a stream flood, SETTINGS and PING floods
# (CVE-2019-9515, CVE-2019-9512) and CONTINUATION floods. The abusive connection is closed after
# limits.http2_max_cancelled_streams / http2_max_streams_per_second / http2_max_control_frames /
# http2_max_continuation_frames, a reset request starts no upstream call, a normal request is
# answered within one second during and after each attack, and honest HTTP/2 use (an h2load run,
# PINGs, a large header block) never trips the bounds. Loopback only; every loop bounded in count
# and time.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
require_python_h2
ABUSE=$(dirname "${BASH_SOURCE[0]}")/peers/h2_abuse.py

PORT=$(free_port)
DEMO=$(free_port)
TLSPORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 \
    -keyout "$T/ec.key" -out "$T/ec.pem" >"$T/openssl.log" 2>&1 ||
    bail "test certificate generated" "openssl req exit 0" "$(shorten "$(cat "$T/openssl.log")")"
cat >"$T/a.yaml" <<YAML
listen:
  - 127.0.0.1:$PORT
  - {address: "127.0.0.1:$TLSPORT", tls: {cert: "$T/ec.pem", key: "$T/ec.key"}}
workers: 1
log: {level: info, access_log: false}
limits: {http2_max_cancelled_streams: 1000}
upstreams: {jp: {base_url: "http://127.0.0.1:$DEMO"}}
demo_upstream: {enabled: true, listen: 127.0.0.1:$DEMO}
YAML
start_server "$T/a.yaml" "$PORT" || bail "server becomes ready" "/readyz 200" "no"
B=http://127.0.0.1:$PORT

# probes N: N h2c requests one after another during an attack; prints the slowest in ms and the failures
probes() {
    local n=$1 i worst=0 fails=0 t0 t1 code
    for ((i = 0; i < n; i++)); do
        t0=$(now_ms)
        code=$(curl -s --http2-prior-knowledge --max-time 1 -o /dev/null -w '%{http_code}' "$B/v1/posts/1")
        t1=$(now_ms)
        [ "$code" = 200 ] || { fails=$((fails + 1)); echo "# probe $i: $code after $((t1 - t0)) ms" >&2; }
        [ $((t1 - t0)) -gt "$worst" ] && worst=$((t1 - t0))
        sleep 0.1
    done
    echo "$worst $fails"
}


# ---- Rapid Reset: up to 300k streams or 10 s ----
/usr/bin/python3 "$ABUSE" "$PORT" rapid-reset 300000 10 /v1/posts/1 >"$T/rr.json" 2>"$T/rr.err" &
RR=$!
track_pid "$RR"
read -r worst fails <<<"$(probes 10)"
wait_exit "$RR" 15 || true
echo "# rapid reset: $(cat "$T/rr.json")"
check_json_file "rapid reset: the server closed the abusive connection" "$T/rr.json" 'd["closed"]'
check_json_file "rapid reset: closed after a few thousand streams, not 300000" "$T/rr.json" 'd["sent"] < 20000'
check_eq "rapid reset: every probe during the attack answered 200" 0 "$fails"
check_lt "rapid reset: the slowest probe took under 1 s (ms)" 1000 "$worst"
check_contains "rapid reset: the server logged why" "Rapid Reset" "$(cat "$SERVER_ERR")"
read -r worst fails <<<"$(probes 3)"
check_eq "after rapid reset: probes answered" 0 "$fails"

# ---- an honest HTTP/2 load stays under the default bounds ----
if command -v h2load >/dev/null; then
    out=$(h2load -n 3000 -c 4 -m 10 "http://127.0.0.1:$PORT/v1/posts/1" 2>&1)
    check_match "honest h2load under the default limits: 3000 succeeded" 'requests: 3000 total, 3000 started, 3000 done, 3000 succeeded' "$out"
fi

# ---- SETTINGS, PING and CONTINUATION floods (defaults: 1000 control frames per 10 s, 8
# CONTINUATION frames after a HEADERS). Each attack: 20 connections one after another, each
# sending up to 200000 frames (or for 5 s) without reading; probes run meanwhile. ----
# flood_check NAME MODE TLS PORT MAX_ACKS
flood_check() {
    local name=$1 mode=$2 tls=$3 port=$4 max_acks=$5 pid i
    (for ((i = 0; i < 20; i++)); do H2_ABUSE_TLS=$tls /usr/bin/python3 "$ABUSE" "$port" "$mode" 200000 5 /v1/posts/1; done) \
        >"$T/$name.json" 2>"$T/$name.err" &
    pid=$!
    track_pid "$pid"
    read -r worst fails <<<"$(probes 5)"
    wait_exit "$pid" 150 || true
    echo "# $name: $(sort "$T/$name.json" | uniq -c | sort -rn | head -3 | tr '\n' ' ')"
    local verdict
    verdict=$(/usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("%d %d %d" % (len(rows), sum(r["closed"] for r in rows), max([r["acks"] for r in rows] or [0])))' "$T/$name.json" 2>>"$T/$name.err")
    read -r runs closed acks <<<"$verdict"
    check_eq "$name: 20 attacking connections ran" 20 "${runs:-0}"
    check_eq "$name: the server closed every one" 20 "${closed:-0}"
    check_lt "$name: at most $max_acks ACKs before the close" "$((max_acks + 1))" "${acks:-999999}"
    check_eq "$name: every probe during the attacks answered 200" 0 "$fails"
    check_lt "$name: the slowest probe took under 1 s (ms)" 1000 "$worst"
}
flood_check "PING flood" ping-flood 0 "$PORT" 1000
flood_check "SETTINGS flood" settings-flood 0 "$PORT" 1000
flood_check "SETTINGS flood over TLS" settings-flood 1 "$TLSPORT" 1000
# (a CONTINUATION flood is answered only by the ACKs of the client's own two SETTINGS)
flood_check "empty CONTINUATION flood" continuation-flood 0 "$PORT" 2
flood_check "CONTINUATION flood of 16 KiB frames" continuation-big 0 "$PORT" 2
# empty DATA frames (CVE-2019-9518) are not bounded by h2api: libh2o parses them without
# answering, so they cost what the connection can carry; the server must stay responsive
(for ((i = 0; i < 3; i++)); do /usr/bin/python3 "$ABUSE" "$PORT" empty-data-flood 2000000 5 /v1/posts; done) >"$T/ed.json" 2>"$T/ed.err" &
ED=$!
track_pid "$ED"
read -r worst fails <<<"$(probes 5)"
wait_exit "$ED" 30 || true
echo "# empty DATA flood: $(sort "$T/ed.json" | uniq -c | tr '\n' ' ')"
check_eq "empty DATA flood: 3 connections sent 2000000 frames each" 3 "$(grep -c '"sent": 2000000' "$T/ed.json")"
check_eq "empty DATA flood: every probe answered 200" 0 "$fails"
check_lt "empty DATA flood: the slowest probe took under 1 s (ms)" 1000 "$worst"
check_contains "control-frame floods: the server logged why" "limits.http2_max_control_frames" "$(cat "$SERVER_ERR")"
check_contains "CONTINUATION floods: the server logged why" "limits.http2_max_continuation_frames" "$(cat "$SERVER_ERR")"
# connections made after the floods start from zero (libh2o reuses a closed connection's memory)
read -r worst fails <<<"$(probes 3)"
check_eq "after the floods: new connections answered" 0 "$fails"
out=$(/usr/bin/python3 "$ABUSE" "$PORT" honest-pings 50 10 /v1/posts/1 2>&1)
check_match "50 PINGs 10 ms apart: all acknowledged, then a request answered" '"acks": 50, "status": 200, "closed": false' "$out"
out=$(H2_ABUSE_TLS=1 /usr/bin/python3 "$ABUSE" "$TLSPORT" honest-pings 50 10 /v1/posts/1 2>&1)
check_match "the same over TLS (ALPN h2)" '"acks": 50, "status": 200, "closed": false' "$out"
# a 40 KiB header: HEADERS and CONTINUATION frames within the bound, refused by max_header_bytes
big=$(head -c 30000 /dev/urandom | base64 -w0)
out=$(curl -s --http2-prior-knowledge --max-time 5 -H "X-Big: $big" -w ' %{http_code} %{http_version}' "$B/v1/posts/1")
check_match "a 40 KiB header block over h2c: 431 JSON, not a closed connection" '"Request Header Fields Too Large"\} 431 2$' "$out"

# ---- a stream reset in the same read as its HEADERS starts no upstream call. A third server
# whose upstream (peers/upstream.py, logging each request it receives) answers after 0.3 s; 20
# requests first leave 20 idle keep-alive upstream connections, on which a call is written at
# once. ----
if command -v h2load >/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    wait_exit "$SERVER_PID" 10 || true
    # the 5 floods above, 20 connections each: every one closed by the frame guard
    n=$(grep -oE '[0-9]+ HTTP/2 connections closed for frame floods' "$SERVER_ERR" | cut -d' ' -f1)
    if [ "${n:-0}" -ge 100 ]; then ok "the frame guard closed the 100 flooding connections ($n, logged at exit)"; else
        notok "the frame guard closed the 100 flooding connections (logged at exit)" ">= 100" "${n:-none}"
    fi
    start_peer slow 0.3 || bail "upstream peer starts" "listening" "no"
    PORT=$(free_port)
    B=http://127.0.0.1:$PORT
    printf 'listen: [127.0.0.1:%s]\nworkers: 1\nlog: {access_log: false}\nupstreams: {jp: {base_url: "http://127.0.0.1:%s", retry: {attempts: 1}}}\n' \
        "$PORT" "$PEER_PORT" >"$T/r.yaml"
    start_server "$T/r.yaml" "$PORT" reset || bail "server with a slow upstream becomes ready" "/readyz 200" "no"
    out=$(h2load -n 20 -c 1 -m 20 "$B/v1/posts/1" 2>&1)
    check_match "warm-up: 20 concurrent requests answered" 'requests: 20 total, 20 started, 20 done, 20 succeeded' "$out"
    before=$(grep -c 'GET /posts/1' "$PEER_ERR")
    /usr/bin/python3 "$ABUSE" "$PORT" rapid-reset 300000 10 /v1/posts/1 >"$T/rr2.json" 2>"$T/rr2.err"
    sleep 0.5
    after=$(grep -c 'GET /posts/1' "$PEER_ERR")
    echo "# rapid reset with a slow upstream: $(cat "$T/rr2.json"); the upstream received $((after - before)) of its requests"
    check_json_file "rapid reset with a slow upstream: closed after the bound" "$T/rr2.json" 'd["closed"] and d["sent"] > 1000'
    # each HEADERS is followed by its RST_STREAM in the same write: libh2o disposes of the
    # request before the deferred handler runs. Up to 2 are allowed for a pair split across two
    # reads; without the deferral one call per idle connection (20) reached the upstream.
    check_lt "rapid reset: at most 2 of its requests reached the upstream" 3 "$((after - before))"
fi

# ---- stream flood: a second server with http2_max_streams_per_second 300 (set low: a flood is
# paced by the answers, at most http2_max_concurrent_streams open at once) ----
kill "$SERVER_PID" 2>/dev/null
wait_exit "$SERVER_PID" 10 || true
PORT=$(free_port)
DEMO=$(free_port)
B=http://127.0.0.1:$PORT
printf 'listen: [127.0.0.1:%s]\nworkers: 1\nlog: {access_log: false}\nlimits: {http2_max_streams_per_second: 300}\nupstreams: {jp: {base_url: "http://127.0.0.1:%s"}}\ndemo_upstream: {enabled: true, listen: 127.0.0.1:%s}\n' \
    "$PORT" "$DEMO" "$DEMO" >"$T/f.yaml"
start_server "$T/f.yaml" "$PORT" flood || bail "server with a low stream rate becomes ready" "/readyz 200" "no"
/usr/bin/python3 "$ABUSE" "$PORT" flood 100000 8 /healthz >"$T/fl.json" 2>"$T/fl.err" &
FL=$!
track_pid "$FL"
read -r worst fails <<<"$(probes 5)"
wait_exit "$FL" 12 || true
echo "# flood: $(cat "$T/fl.json")"
check_json_file "stream flood: the server closed the flooding connection" "$T/fl.json" 'd["closed"]'
check_eq "stream flood: probes answered 200" 0 "$fails"
check_lt "stream flood: the slowest probe took under 1 s (ms)" 1000 "$worst"

check_contains "stream flood: the server logged why" "streams per second" "$(cat "$SERVER_ERR")"
finish
