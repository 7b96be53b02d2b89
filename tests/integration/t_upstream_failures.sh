#!/bin/bash
# Upstream failures become JSON 502 / 504 answers, in bounded time, and the server keeps serving:
# a closed port, a listener that never answers, a listener that answers garbage.
# One server per scenario (the routes always use the default upstream). The circuit breaker is
# turned off here: this script is about how each failure maps to a status, not about the breaker.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin
export CONF_UPSTREAM_EXTRA="    circuit_breaker: {failures: 0}"

# still_serving LABEL PORT: /healthz and GET / answer 200, the process is alive.
still_serving() {
    local label=$1 port=$2
    http "http://127.0.0.1:$port/healthz"
    check_code "$label: /healthz still 200" 200
    http "http://127.0.0.1:$port/"
    check_code "$label: GET / still 200" 200
    if kill -0 "$SERVER_PID" 2>/dev/null; then ok "$label: server still running"; else notok "$label: server still running" "running" "exited"; fi
}

# scenario LABEL UPSTREAM_URL STATUS MAX_SECONDS
# Starts a server whose default upstream is UPSTREAM_URL (timeout_ms 500, no retry), checks
# that the upstream-backed routes answer STATUS with a JSON detail within MAX_SECONDS, over
# HTTP/1.1 and h2c, several times and concurrently, then that the server still serves.
scenario() {
    local label=$1 url=$2 status=$3 max_s=$4 port i pids=() codes
    port=$(free_port)
    CONF_TIMEOUT_MS=500 write_conf "$T/$label.yaml" "$port" "$url"
    if ! start_server "$T/$label.yaml" "$port" "$label"; then
        notok "$label: server becomes ready" "/readyz 200 within 10 s" "no"
        return
    fi
    http "http://127.0.0.1:$port/v1/posts/1"
    check_detail "$label: GET /v1/posts/1" "$status"
    check_lt "$label: GET /v1/posts/1 answered within $max_s s" "$max_s" "$R_TIME"
    check_match "$label: X-Request-ID on the error answer" '^[0-9a-f]{32}$' "$(header x-request-id)"
    http --http2-prior-knowledge "http://127.0.0.1:$port/v1/users/1/posts"
    check_detail "$label: h2c GET /v1/users/1/posts" "$status"
    check_lt "$label: h2c answered within $max_s s" "$max_s" "$R_TIME"
    http "http://127.0.0.1:$port/v1/posts"
    check_detail "$label: GET /v1/posts" "$status"

    # ten at once, each bounded
    for ((i = 0; i < 10; i++)); do
        curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}\n' \
            "http://127.0.0.1:$port/v1/posts/$((i + 1))" >"$T/$label.par.$i" 2>/dev/null &
        pids+=($!)
        track_pid "$!"
    done
    for i in "${pids[@]}"; do wait "$i"; done
    codes=$(cat "$T/$label".par.* | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')
    check_eq "$label: 10 concurrent requests all answer $status" "10x$status " "$codes"

    still_serving "$label" "$port"
    stop_pid "$SERVER_PID"
}

# 1. a closed port: connection refused -> 502
CLOSED=$(free_port)
scenario refused "http://127.0.0.1:$CLOSED" 502 2

# 2. accepts and never answers, timeout_ms 500 -> 504 within ~2 s
start_peer silent || bail "silent peer starts" "a listening peer" "none"
scenario silent "http://127.0.0.1:$PEER_PORT" 504 2
http "http://127.0.0.1:$PEER_PORT/" --max-time 1
check_eq "silent peer really never answers (control)" 000 "$R_CODE"
stop_pid "$PEER_PID"

# 3. answers bytes that are not HTTP -> 502
start_peer garbage || bail "garbage peer starts" "a listening peer" "none"
scenario garbage "http://127.0.0.1:$PEER_PORT" 502 2
stop_pid "$PEER_PID"

# 4. the upstream goes away while the server runs: demo upstream of another server, then gone
DEMO=$(free_port)
port=$(free_port)
UPORT=$(free_port)
write_conf "$T/up.yaml" "$UPORT" "http://127.0.0.1:$DEMO" "$DEMO"
start_server "$T/up.yaml" "$UPORT" upstream-server ||
    bail "helper server with a demo upstream becomes ready" "ready" "no"
UPSTREAM_PID=$SERVER_PID
CONF_TIMEOUT_MS=500 write_conf "$T/gone.yaml" "$port" "http://127.0.0.1:$DEMO"
start_server "$T/gone.yaml" "$port" gone || bail "server becomes ready" "ready" "no"
http "http://127.0.0.1:$port/v1/posts/1"
check_code "upstream up: GET /v1/posts/1" 200
stop_pid "$UPSTREAM_PID"
http "http://127.0.0.1:$port/v1/posts/1"
check_detail "upstream gone (pooled connection closed): GET /v1/posts/1" 502
check_lt "upstream gone: answered within 2 s" 2 "$R_TIME"
still_serving "upstream gone" "$port"

finish
