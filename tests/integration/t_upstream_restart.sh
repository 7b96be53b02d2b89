#!/bin/bash
# An upstream restart is ridden through (issue 11): the upstream process is killed (SIGKILL) and
# restarted on the same port, down about 300 ms, three times under a steady mixed load of
# GET /v1/posts/1 and POST /v1/posts (4 clients, one request every 20 ms each), over an
# HTTP/1.1 upstream and an h2c one, with the shipped retry and circuit_breaker defaults.
# Expected: no GET fails, inside the outages or outside them (connect errors are retried, and
# while the breaker is open the calls wait for it within timeout_ms); no POST fails outside an
# outage (a POST held back by the breaker has not been sent, and waits too); no POST is
# processed twice, and every POST answered 201 was processed. Loopback only; about 20 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
require_python_h2
PEER=$PEERS_DIR/restart_peer.py
LOAD=$PEERS_DIR/mixed_load.py

# start_upstream PORT PROTO LOG [DOWN_S]: UP_PID, and UP_OUT, where it writes the epoch ms at
# which it listens (see restart_peer.py for DOWN_S)
start_upstream() {
    R_SEQ=$((R_SEQ + 1))
    UP_OUT=$T/upstream.$R_SEQ.out
    "$PY" "$PEER" "$@" </dev/null >"$UP_OUT" 2>>"$T/upstream.err" &
    UP_PID=$!
    track_pid "$UP_PID"
}

# restarts PROTO HTTP2
restarts() {
    local proto=$1 http2=$2 old_pid up_port port log=$T/$1.posts outages=$T/$1.outages load_pid i kill_ms ready_ms out
    : >"$log"
    : >"$outages"
    up_port=$(free_port)
    start_upstream "$up_port" "$proto" "$log"
    wait_port 127.0.0.1 "$up_port" 5 || bail "$proto upstream starts" "listening" "no"
    port=$(free_port)
    cat >"$T/$proto.yaml" <<CONF
listen:
  - 127.0.0.1:$port
workers: 2
log: {level: info, access_log: false}
upstreams:
  jsonplaceholder:
    base_url: http://127.0.0.1:$up_port
    http2: $http2
CONF
    start_server "$T/$proto.yaml" "$port" "server-$proto" || bail "server becomes ready ($proto)" "/readyz 200" "no"
    "$PY" "$LOAD" run "$port" 8 4 "$T/$proto.records" &
    load_pid=$!
    track_pid "$load_pid"
    sleep 1
    for ((i = 0; i < 3; i++)); do
        old_pid=$UP_PID
        start_upstream "$up_port" "$proto" "$log" 0.3 # the replacement, waiting for the port
        sleep 0.5
        kill_ms=$(now_ms) # just before the signal: the outage starts no earlier
        kill -KILL "$old_pid"
        wait "$old_pid" 2>/dev/null
        wait_file "$UP_OUT" 5 || bail "$proto upstream restarts" "listening" "no"
        ready_ms=$(cat "$UP_OUT")
        echo "$kill_ms $ready_ms" >>"$outages"
        sleep 1.5
    done
    wait_exit "$load_pid" 30 || bail "$proto load ends" "exited" "still running"
    out=$("$PY" "$LOAD" analyze "$T/$proto.records" "$outages" "$log")
    echo "# $proto: outages (ms) $(awk '{ printf "%d ", $2 - $1 }' "$outages"); $out"
    echo "# $proto: $(grep -c 'circuit open' "$SERVER_ERR") circuit openings, $(grep -c 'circuit closed' "$SERVER_ERR") closings"
    printf '%s' "$out" >"$T/$proto.json"
    R_BODY=$T/$proto.json R_CODE=analysis
    check_json_with "$proto: a steady load ran (GETs and POSTs)" 'd["gets"] > 100 and d["posts"] > 100'
    check_json_with "$proto: no GET failed outside the outages" 'd["gets_failed_outside"] == 0'
    check_json_with "$proto: no GET failed during them either (retried within timeout_ms)" 'd["gets_failed_inside"] == 0'
    check_json_with "$proto: no POST failed outside the outages" 'd["posts_failed_outside"] == 0'
    check_json_with "$proto: no POST was processed twice" 'd["posts_processed_twice"] == 0'
    check_json_with "$proto: every POST answered 201 was processed" 'd["posts_created_not_logged"] == 0'
    check_json_with "$proto: the slowest GET stayed within timeout_ms" 'd["slowest_get_ms"] < 10000'
    stop_pid "$SERVER_PID"
    stop_pid "$UP_PID"
}

restarts h1 off
restarts h2c on
finish
