#!/bin/bash
# The outbound pool against a realistic upstream: httpbin (python3-httpbin under gunicorn),
# reached through /proxy. Retries on 503 for GET only (and how many attempts httpbin saw),
# a whole-call timeout on /delay, a dripped (slow, streamed) body, and a POST echoed back with the
# forwarding headers.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

if ! command -v gunicorn >/dev/null || ! /usr/bin/python3 -c 'import httpbin' 2>/dev/null; then
    [ "${H2API_REQUIRE_PEERS:-0}" = 1 ] && bail "httpbin peer" "gunicorn + python3-httpbin installed" "missing"
    skip_all "gunicorn or python3-httpbin missing"
fi

HB_PORT=$(free_port)
(cd "$T" && exec gunicorn --access-logfile "$T/httpbin.access" --access-logformat '%(m)s %(U)s %(s)s' -w 2 \
    -b "127.0.0.1:$HB_PORT" httpbin:app) >"$T/httpbin.out" 2>&1 &
HB_PID=$!
track_pid "$HB_PID"
wait_port 127.0.0.1 "$HB_PORT" 15 || bail "httpbin starts" "listening on $HB_PORT" "no"
ok "httpbin (gunicorn) listens"

PORT=$(free_port)
cat >"$T/h2api.yaml" <<EOF
listen: [127.0.0.1:$PORT]
workers: 1
log: {level: info, access_log: true}
upstreams:
  httpbin:
    base_url: http://127.0.0.1:$HB_PORT
    timeout_ms: 2500
    first_byte_timeout_ms: 2500
    retry: {attempts: 3, statuses: [503], backoff_base_ms: 50, backoff_cap_ms: 400}
    circuit_breaker: {failures: 0}
EOF
start_server "$T/h2api.yaml" "$PORT" || bail "server becomes ready" "/readyz 200" "no"
B=http://127.0.0.1:$PORT

hits() { grep -c -- "$1" "$T/httpbin.access" 2>/dev/null || true; }

# GET /status/503: retried up to attempts (3), then the last 503 passes through
http "$B/proxy/status/503"
check_code "GET /proxy/status/503 after retries" 503
sleep 0.3
check_eq "httpbin saw 3 attempts of GET /status/503" 3 "$(hits 'GET /status/503 ')"

# POST is not idempotent (RFC 9110 §9.2.2): one attempt only
http -X POST "$B/proxy/status/503"
check_code "POST /proxy/status/503 is not retried" 503
sleep 0.3
check_eq "httpbin saw 1 attempt of POST /status/503" 1 "$(hits 'POST /status/503 ')"

# the whole-call deadline: /delay/5 against timeout_ms 2500 -> 504 JSON in about 2.5 s
t0=$(now_ms)
http "$B/proxy/delay/5"
t1=$(now_ms)
check_detail "GET /proxy/delay/5 with timeout_ms 2500" 504
check_lt "the 504 came within 3.5 s" 3500 "$((t1 - t0))"
[ "$((t1 - t0))" -ge 2000 ] && ok "the deadline was not cut short" || notok "the deadline was not cut short" ">= 2000 ms" "$((t1 - t0)) ms"

# a dripped body: 10 bytes over 1 s, streamed through
http "$B/proxy/drip?numbytes=10&duration=1&delay=0&code=200"
check_code "GET /proxy/drip" 200
check_eq "the dripped body arrived whole" "**********" "$(body)"

# POST with a body, echoed back by httpbin with what it received
http -X POST -H 'Content-Type: application/json' -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Request-ID: hb-1' \
    --data '{"a":1}' "$B/proxy/post?x=1"
check_code "POST /proxy/post" 200
check_json "httpbin got the JSON body" 'd["json"] == {"a": 1}'
check_json "httpbin got the query" 'd["args"] == {"x": "1"}'
# httpbin folds X-Forwarded-For into "origin" and hides Via, X-Forwarded-Proto and X-Request-ID
# (t_api.sh checks those with an echo peer)
check_json "X-Forwarded-For appended to the client's" 'd["origin"] == "203.0.113.7, 127.0.0.1"'
check_json "X-Forwarded-Host is the client's authority" "d[\"headers\"][\"X-Forwarded-Host\"] == \"127.0.0.1:$PORT\""

finish
