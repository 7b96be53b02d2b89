#!/bin/bash
# The example routes when the upstream fails: connect errors (502) and timeouts (504) on the
# aggregate, the two-stage details, POST /v1/posts, the bulk and the proxy; 503 with Retry-After
# for pool exhaustion, an open circuit breaker and the rate limit; partial failure of the
# overview aggregate and of the bulk; and client disconnects, which must cancel the upstream calls
# (the peer sees its connections closed). One server per scenario, each with its own config.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

# new_server LABEL UPSTREAM_URL: writes $T/LABEL.yaml with write_api_conf (CONF_* from the caller's
# environment) and starts it; sets S to its base URL. False (with a "not ok") if it did not start.
new_server() {
    local label=$1 url=$2 port
    port=$(free_port)
    write_api_conf "$T/$label.yaml" "$port" "$url"
    S=http://127.0.0.1:$port
    if ! start_server "$T/$label.yaml" "$port" "$label"; then
        notok "$label: server becomes ready" "/readyz 200 within 10 s" "no"
        return 1
    fi
    return 0
}

# parallel N OUT URL [curl options...]: N requests at once; OUT.i.code / OUT.i.hdrs / OUT.i.body.
parallel() {
    local n=$1 out=$2 url=$3 i pids=()
    shift 3
    for ((i = 0; i < n; i++)); do
        curl -s --noproxy '*' --max-time 10 -o "$out.$i.body" -D "$out.$i.hdrs" -w '%{http_code}\n' "$@" "$url" >"$out.$i.code" 2>/dev/null &
        pids+=($!)
        track_pid "$!"
    done
    for i in "${pids[@]}"; do wait "$i"; done
}

# hdr_of FILE NAME: the value of header NAME in a saved header block.
hdr_of() {
    awk -v name="$2" 'BEGIN { name = tolower(name) } { sub(/\r$/, "") }
        { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == name) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
        END { printf "%s", v }' "$1"
}

still_serving() { # LABEL
    http "$S/healthz"
    check_code "$1: /healthz still 200" 200
    if kill -0 "$SERVER_PID" 2>/dev/null; then ok "$1: server still running"; else notok "$1: server still running" "running" "exited"; fi
}

TODOS='[{"title":"a","userId":1},{"title":"b","userId":2}]'

# ---------------------------------------------------------------- connect error -> 502
CLOSED=$(free_port)
if new_server refused "http://127.0.0.1:$CLOSED"; then
    http "$S/v1/users/1/overview"
    check_detail "refused: overview" 502
    check_eq "refused: overview has no X-Aggregate-Completed" "" "$(header x-aggregate-completed)"
    http "$S/v1/posts/1/details"
    check_detail "refused: details" 502
    http -X POST -H 'Content-Type: application/json' --data '{"title":"t","body":"b","userId":1}' "$S/v1/posts"
    check_detail "refused: POST /v1/posts" 502
    http -X POST -H 'Content-Type: application/json' --data "$TODOS" "$S/v1/todos/bulk"
    check_code "refused: bulk answers 200" 200
    check_json "refused: bulk: every item failed with 502, index and item kept" \
        'd["successful"] == [] and [(f["index"], f["item"], f["error"]["status"]) for f in d["failed"]] == [(0, {"title": "a", "userId": 1, "completed": False}, 502), (1, {"title": "b", "userId": 2, "completed": False}, 502)] and all(isinstance(f["error"]["detail"], str) and f["error"]["detail"] for f in d["failed"])'
    http "$S/proxy/posts/1"
    check_detail "refused: proxy" 502
    check_lt "refused: proxy answered within 2 s" 2 "$R_TIME"
    still_serving refused
    stop_pid "$SERVER_PID"
fi

# ---------------------------------------------------------------- no answer -> 504
start_peer silent || bail "silent peer starts" "a listening peer" "none"
SILENT_PID=$PEER_PID
if CONF_TIMEOUT_MS=800 new_server silent "http://127.0.0.1:$PEER_PORT"; then
    http "$S/v1/users/1/overview"
    check_detail "silent: overview" 504
    check_lt "silent: overview answered within 2 s (timeout_ms 800)" 2 "$R_TIME"
    http "$S/v1/posts/1/details"
    check_detail "silent: details" 504
    http -X POST -H 'Content-Type: application/json' --data '{"title":"t","body":"b","userId":1}' "$S/v1/posts"
    check_detail "silent: POST /v1/posts" 504
    http -X POST -H 'Content-Type: application/json' --data "$TODOS" "$S/v1/todos/bulk"
    check_code "silent: bulk answers 200" 200
    check_json "silent: bulk: both items failed with 504" \
        'd["successful"] == [] and [(f["index"], f["error"]["status"]) for f in d["failed"]] == [(0, 504), (1, 504)]'
    http "$S/proxy/posts/1"
    check_detail "silent: proxy" 504
    check_lt "silent: proxy answered within 2 s" 2 "$R_TIME"
    still_serving silent
    stop_pid "$SERVER_PID"
fi
stop_pid "$SILENT_PID"

# ---------------------------------------------------------------- the aggregates, part by part
cat >"$T/agg-rules.json" <<'EOF'
[
 {"path": "/users/2", "delay": 3, "json": {"id": 2}},
 {"path": "/users/3", "status": 500, "json": {}},
 {"path": "/users/(1|4|5|6)", "json": {"id": 1, "name": "Peer User"}},
 {"path": "/posts\\?userId=\\d+", "json": [{"userId": 1, "id": 1, "title": "t", "body": "b"}]},
 {"path": "/todos\\?userId=1", "delay": 3, "json": []},
 {"path": "/todos\\?userId=4", "status": 500, "json": {"error": "boom"}},
 {"path": "/todos\\?userId=5", "status": 200, "ctype": "text/html", "json": "<html>"},
 {"path": "/todos\\?userId=\\d+", "json": [{"userId": 1, "id": 1, "title": "todo", "completed": false}]},
 {"path": "/albums\\?userId=4", "status": 503, "json": {}},
 {"path": "/albums\\?userId=\\d+", "json": [{"userId": 1, "id": 1, "title": "album"}]},
 {"path": "/posts/7", "json": {"userId": 1, "id": 7, "title": "t", "body": "b"}},
 {"path": "/posts/8", "json": {"userId": 2, "id": 8, "title": "t", "body": "b"}},
 {"path": "/posts/9", "json": {"userId": 1, "id": 9, "title": "t", "body": "b"}},
 {"path": "/posts/9/comments", "status": 500, "json": {}},
 {"path": "/posts/10", "json": {"id": 10, "title": "no author"}},
 {"path": "/posts/11", "delay": 3, "json": {}},
 {"path": "/posts/\\d+/comments", "json": [{"postId": 7, "id": 1, "body": "c"}]}
]
EOF
start_api_peer "@$T/agg-rules.json" || bail "aggregate peer starts" "a listening peer" "none"
AGG_PID=$API_PEER_PID
if CONF_TIMEOUT_MS=800 new_server agg "http://127.0.0.1:$API_PEER_PORT"; then
    http "$S/v1/users/6/overview"
    check_code "agg: all parts answer: 200" 200
    check_eq "agg: all parts answer: X-Aggregate-Completed true" true "$(header x-aggregate-completed)"
    check_json "agg: all parts answer: the peer's documents, no errors key" \
        'd == {"user": {"id": 1, "name": "Peer User"}, "posts": [{"userId": 1, "id": 1, "title": "t", "body": "b"}], "todos": [{"userId": 1, "id": 1, "title": "todo", "completed": False}], "albums": [{"userId": 1, "id": 1, "title": "album"}]}'

    http "$S/v1/users/1/overview"
    check_code "agg: todos time out: still 200" 200
    check_lt "agg: todos time out: answered within 2 s (timeout_ms 800)" 2 "$R_TIME"
    check_eq "agg: todos time out: X-Aggregate-Completed false" false "$(header x-aggregate-completed)"
    check_json "agg: todos time out: todos is null, the other parts are there" \
        'd["todos"] is None and d["user"] == {"id": 1, "name": "Peer User"} and len(d["posts"]) == 1 and len(d["albums"]) == 1'
    check_json "agg: todos time out: errors.todos.status 504 with a detail, nothing else in errors" \
        'list(d["errors"]) == ["todos"] and d["errors"]["todos"]["status"] == 504 and isinstance(d["errors"]["todos"]["detail"], str) and d["errors"]["todos"]["detail"] != ""'

    http "$S/v1/users/4/overview"
    check_code "agg: todos 500 and albums 503: still 200" 200
    check_eq "agg: todos 500 and albums 503: X-Aggregate-Completed false" false "$(header x-aggregate-completed)"
    check_json "agg: todos 500 and albums 503: both null, posts kept" 'd["todos"] is None and d["albums"] is None and len(d["posts"]) == 1'
    check_json "agg: todos 500 and albums 503: errors for both, status 502, detail names the upstream status" \
        'sorted(d["errors"]) == ["albums", "todos"] and d["errors"]["todos"]["status"] == 502 and "500" in d["errors"]["todos"]["detail"] and d["errors"]["albums"]["status"] == 502 and "503" in d["errors"]["albums"]["detail"]'

    http "$S/v1/users/5/overview"
    check_code "agg: todos not JSON: still 200" 200
    check_json "agg: todos not JSON: todos null, errors.todos.status 502" 'd["todos"] is None and d["errors"]["todos"]["status"] == 502'

    http "$S/v1/users/2/overview"
    check_detail "agg: the user call times out" 504
    check_lt "agg: the user call times out: within 2 s" 2 "$R_TIME"
    http "$S/v1/users/3/overview"
    check_detail "agg: the user call answers 500" 502

    http "$S/v1/posts/7/details"
    check_code "details: all stages answer: 200" 200
    check_json "details: post, comments and author (user 1) from the peer" \
        'd == {"post": {"userId": 1, "id": 7, "title": "t", "body": "b"}, "comments": [{"postId": 7, "id": 1, "body": "c"}], "author": {"id": 1, "name": "Peer User"}}'
    http "$S/v1/posts/8/details"
    check_detail "details: the author (stage 2) times out" 504
    http "$S/v1/posts/9/details"
    check_detail "details: the comments answer 500" 502
    http "$S/v1/posts/10/details"
    check_detail "details: the post has no userId" 502
    http "$S/v1/posts/11/details"
    check_detail "details: the post times out" 504
    check_lt "details: the post times out: within 2 s" 2 "$R_TIME"
    still_serving agg
    stop_pid "$SERVER_PID"
fi
stop_pid "$AGG_PID"

# ---------------------------------------------------------------- bulk partial failure
cat >"$T/bulk-rules.json" <<'EOF'
[
 {"method": "POST", "path": "/todos", "body": "slow", "delay": 3, "create": true},
 {"method": "POST", "path": "/todos", "fail_if": "fail", "create": true, "first_id": 500}
]
EOF
start_api_peer "@$T/bulk-rules.json" || bail "bulk peer starts" "a listening peer" "none"
BULK_PID=$API_PEER_PID
BULK_PORT=$API_PEER_PORT
# retry attempts 1 (write_api_conf): deterministic; a POST is never retried anyway
CONF_TIMEOUT_MS=800 new_server bulk "http://127.0.0.1:$BULK_PORT" || bail "bulk server becomes ready" "ready" "no"
BULK_S=$S
"$PY" -c 'import json; print(json.dumps([{"title": t, "userId": i + 1, "completed": i % 2 == 1} for i, t in enumerate(["a", "fail-1", "b", "c", "fail-2", "d", "slow-1"])]))' >"$T/bulk7.json"
http -X POST -H 'Content-Type: application/json' --data-binary "@$T/bulk7.json" "$BULK_S/v1/todos/bulk"
check_code "bulk partial failure: 200" 200
check_json_with "bulk partial failure: the 4 good items are in successful, in order, with upstream ids" \
    '[{k: v for k, v in s.items() if k != "id"} for s in d["successful"]] == [e[0][i] for i in (0, 2, 3, 5)] and all(isinstance(s["id"], int) for s in d["successful"])' \
    "$T/bulk7.json"
check_json_with "bulk partial failure: failed has the indexes 1, 4 (upstream 500 -> 502) and 6 (timeout -> 504), with their items" \
    '[(f["index"], f["item"], f["error"]["status"]) for f in d["failed"]] == [(1, e[0][1], 502), (4, e[0][4], 502), (6, e[0][6], 504)]' \
    "$T/bulk7.json"
check_json "bulk partial failure: each error has a detail; 500 is named" \
    'all(isinstance(f["error"]["detail"], str) and f["error"]["detail"] for f in d["failed"]) and "500" in d["failed"][0]["error"]["detail"]'
curl -s --noproxy '*' --max-time 5 -o "$T/bstats.json" "http://127.0.0.1:$BULK_PORT/__stats"
check_json_file "bulk partial failure: one upstream call per item (POST is never retried)" "$T/bstats.json" 'd["requests"] == 7'
stop_pid "$SERVER_PID"
stop_pid "$BULK_PID"

# ---------------------------------------------------------------- 503: pool exhausted
cat >"$T/slow-rules.json" <<'EOF'
[{"path": "/posts/1", "delay": 1, "json": {"userId": 1, "id": 1, "title": "t", "body": "b"}},
 {"path": ".*", "json": {}}]
EOF
start_api_peer "@$T/slow-rules.json" || bail "slow peer starts" "a listening peer" "none"
SLOW_PID=$API_PEER_PID
if CONF_WORKERS=1 CONF_TIMEOUT_MS=5000 CONF_UPSTREAM_EXTRA="    max_connections: 1
    pool_timeout_ms: 200" new_server pool "http://127.0.0.1:$API_PEER_PORT"; then
    parallel 3 "$T/pool" "$S/v1/posts/1"
    codes=$(cat "$T"/pool.*.code | sort | tr '\n' ' ')
    check_eq "pool: 3 at once through 1 connection: one 200, two 503" "200 503 503 " "$codes"
    n503=0
    for i in 0 1 2; do
        [ "$(cat "$T/pool.$i.code")" = 503 ] || continue
        n503=$((n503 + 1))
        check_match "pool: 503 #$n503 has Retry-After" '^[0-9]+$' "$(hdr_of "$T/pool.$i.hdrs" retry-after)"
        check_json_file "pool: 503 #$n503 says No upstream connection available" "$T/pool.$i.body" 'd == {"detail": "No upstream connection available"}'
    done
    # the same through the proxy
    parallel 3 "$T/ppool" "$S/proxy/posts/1"
    codes=$(cat "$T"/ppool.*.code | sort | tr '\n' ' ')
    check_eq "pool: 3 at once through the proxy: one 200, two 503" "200 503 503 " "$codes"
    # the aggregates: while a slow call holds the only connection, their calls get none
    for route in /v1/users/1/overview /v1/posts/2/details; do
        curl -s --noproxy '*' --max-time 10 -o /dev/null "$S/v1/posts/1" &
        holder=$!
        track_pid "$holder"
        sleep 0.2
        http "$S$route"
        check_detail "pool: $route with no connection available" 503
        check_match "pool: $route 503 has Retry-After" '^[0-9]+$' "$(header retry-after)"
        wait "$holder"
    done
    still_serving pool
    stop_pid "$SERVER_PID"
fi
stop_pid "$SLOW_PID"

# ---------------------------------------------------------------- 503: circuit breaker
# An open time (5 s) much longer than the calls' timeout_ms (0.5 s): until the last 0.5 s of
# it, waiting for the breaker cannot help, so calls fail at once (t_upstream_restart.sh checks
# the calls that do wait).
CLOSED=$(free_port)
if CONF_WORKERS=1 CONF_TIMEOUT_MS=500 CONF_BREAKER='{failures: 2, base_open_ms: 5000, open_ms: 5000}' new_server breaker "http://127.0.0.1:$CLOSED"; then
    http "$S/v1/posts/1"
    check_detail "breaker: failure 1" 502
    http "$S/v1/posts/1"
    check_detail "breaker: failure 2" 502
    http "$S/v1/posts/1"
    check_detail "breaker: open after 2 failures" 503
    check_lt "breaker: open: answered within 100 ms" 0.1 "$R_TIME"
    check_match "breaker: open: Retry-After" '^[0-9]+$' "$(header retry-after)"
    check_contains "breaker: open: the detail says so" "circuit open" "$(body)"
    http "$S/v1/users/1/overview"
    check_detail "breaker: open: overview" 503
    check_match "breaker: open: overview has Retry-After" '^[0-9]+$' "$(header retry-after)"
    http "$S/v1/posts/1/details"
    check_detail "breaker: open: details" 503
    check_match "breaker: open: details has Retry-After" '^[0-9]+$' "$(header retry-after)"
    http "$S/proxy/posts/1"
    check_detail "breaker: open: proxy" 503
    check_match "breaker: open: proxy has Retry-After" '^[0-9]+$' "$(header retry-after)"
    sleep 5.2
    http "$S/v1/posts/1"
    check_detail "breaker: after the open time the upstream is tried again (connect error)" 502
    still_serving breaker
    stop_pid "$SERVER_PID"
fi

# ---------------------------------------------------------------- 503: rate limit
start_api_peer '[{"path": "/posts/\\d+", "json": {"userId": 1, "id": 1, "title": "t", "body": "b"}}]' ||
    bail "fast peer starts" "a listening peer" "none"
FAST_PID=$API_PEER_PID
if CONF_WORKERS=1 CONF_UPSTREAM_EXTRA="    pool_timeout_ms: 100
    rate_limit: {requests_per_second: 1, burst: 1}" new_server ratelimit "http://127.0.0.1:$API_PEER_PORT"; then
    parallel 3 "$T/rl" "$S/v1/posts/1"
    codes=$(cat "$T"/rl.*.code | sort | tr '\n' ' ')
    check_eq "rate limit 1/s burst 1: 3 at once: one 200, two 503" "200 503 503 " "$codes"
    n503=0
    for i in 0 1 2; do
        [ "$(cat "$T/rl.$i.code")" = 503 ] || continue
        n503=$((n503 + 1))
        check_match "rate limit: 503 #$n503 has Retry-After" '^[0-9]+$' "$(hdr_of "$T/rl.$i.hdrs" retry-after)"
        check_json_file "rate limit: 503 #$n503 says rate limit" "$T/rl.$i.body" '"rate limit" in d["detail"]'
    done
    sleep 1.1
    http "$S/v1/posts/1"
    check_code "rate limit: a second later a token is back: 200" 200
    still_serving ratelimit
    stop_pid "$SERVER_PID"
fi
stop_pid "$FAST_PID"

# ---------------------------------------------------------------- client disconnects cancel the calls
start_api_peer '[{"path": ".*", "delay": 2, "json": {}}]' || bail "delaying peer starts" "a listening peer" "none"
DELAY_PID=$API_PEER_PID
DELAY_LOG=$API_PEER_LOG
if CONF_TIMEOUT_MS=5000 new_server disconnect "http://127.0.0.1:$API_PEER_PORT"; then
    # leave LABEL WANT ERE URL [curl options]: the client gives up after 0.3 s; the peer must log
    # WANT EARLY_CLOSE lines matching ERE, the last within 1 s of the client leaving.
    leave() {
        local label=$1 want=$2 re=$3 url=$4 t_left n last
        shift 4
        curl -s --noproxy '*' --max-time 0.3 -o /dev/null "$@" "$url" 2>/dev/null
        t_left=$("$PY" -c 'import time; print("%.3f" % time.time())')
        n=$(peer_log_wait "$DELAY_LOG" "^EARLY_CLOSE [A-Z]+ $re " "$want" 2.5)
        check_eq "$label: the peer saw all $want upstream connections closed before its answer" "$want" "$n"
        last=$(grep -E "^EARLY_CLOSE [A-Z]+ $re " "$DELAY_LOG" | awk '{ print $4 }' | sort -n | tail -1)
        if [ -n "$last" ]; then
            check_lt "$label: ... within 1 s of the client leaving" 1 "$("$PY" -c "print(max(0.0, $last - $t_left))")"
        else
            notok "$label: ... within 1 s of the client leaving" "closed within 1 s" "never closed"
        fi
    }
    leave "disconnect overview h1" 4 '(/users/11|/[a-z]+\?userId=11)' "$S/v1/users/11/overview"
    leave "disconnect overview h2c" 4 '(/users/12|/[a-z]+\?userId=12)' "$S/v1/users/12/overview" --http2-prior-knowledge
    leave "disconnect details h1" 2 '/posts/13(/comments)?' "$S/v1/posts/13/details"
    leave "disconnect details h2c" 2 '/posts/14(/comments)?' "$S/v1/posts/14/details" --http2-prior-knowledge
    leave "disconnect proxy h1" 1 '/things/15' "$S/proxy/things/15"
    leave "disconnect proxy h2c" 1 '/things/16' "$S/proxy/things/16" --http2-prior-knowledge
    "$PY" -c 'import json; print(json.dumps([{"title": "x%d" % i, "userId": 1} for i in range(3)]))' >"$T/b3.json"
    leave "disconnect bulk h2c" 3 '/todos' "$S/v1/todos/bulk" --http2-prior-knowledge -X POST -H 'Content-Type: application/json' --data-binary "@$T/b3.json"
    http "$S/healthz"
    check_code "disconnects: /healthz still 200" 200
    http "$S/"
    check_code "disconnects: GET / still 200" 200
    still_serving disconnects
    stop_pid "$SERVER_PID"
fi
stop_pid "$DELAY_PID"

finish
