#!/bin/bash
# HTTP/2 abuse that libh2o 2.2.5 does not bound, bounded in h2api's layer: Rapid Reset
# (CVE-2023-44487: open and reset streams without end) and a stream flood. The abusive
# connection is closed after limits.http2_max_cancelled_streams / http2_max_streams_per_second,
# a normal request is answered within one second during and after the attack, and an honest
# HTTP/2 load never trips the bounds. Loopback only; every loop bounded in count and time.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
if ! /usr/bin/python3 -c 'import h2' 2>/dev/null; then
    [ "${H2API_REQUIRE_PEERS:-0}" = 1 ] && bail "python3-h2" "installed" "missing"
    skip_all "python3-h2 missing"
fi
ABUSE=$(dirname "${BASH_SOURCE[0]}")/peers/h2_abuse.py

PORT=$(free_port)
DEMO=$(free_port)
cat >"$T/a.yaml" <<YAML
listen: [127.0.0.1:$PORT]
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

# json_true FILE EXPR: the JSON in FILE makes the python expression EXPR (over d) true
json_true() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null; }

# ---- Rapid Reset: up to 300k streams or 10 s ----
/usr/bin/python3 "$ABUSE" "$PORT" rapid-reset 300000 10 /v1/posts/1 >"$T/rr.json" 2>"$T/rr.err" &
RR=$!
track_pid "$RR"
read -r worst fails <<<"$(probes 10)"
wait_exit "$RR" 15 || true
echo "# rapid reset: $(cat "$T/rr.json")"
if json_true "$T/rr.json" 'd["closed"]'; then ok "rapid reset: the server closed the abusive connection"; else
    notok "rapid reset: the server closed the abusive connection" "closed" "$(cat "$T/rr.json" "$T/rr.err")"
fi
if json_true "$T/rr.json" 'd["sent"] < 20000'; then ok "rapid reset: closed after a few thousand streams, not 300000"; else
    notok "rapid reset: closed after a few thousand streams, not 300000" "< 20000 sent" "$(cat "$T/rr.json")"
fi
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
if json_true "$T/fl.json" 'd["closed"]'; then ok "stream flood: the server closed the flooding connection"; else
    notok "stream flood: the server closed the flooding connection" "closed" "$(cat "$T/fl.json" "$T/fl.err")"
fi
check_eq "stream flood: probes answered 200" 0 "$fails"
check_lt "stream flood: the slowest probe took under 1 s (ms)" 1000 "$worst"

check_contains "stream flood: the server logged why" "streams per second" "$(cat "$SERVER_ERR")"
finish
