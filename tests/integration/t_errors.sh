#!/bin/bash
# Configuration errors (exit 2 with FILE:LINE) and the error answers of the HTTP layer:
# 404, 405, 422, 400 on dot segments, 413 on large bodies, 400 on a malformed request line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bin

PORT=$(free_port)
DEMO=$(free_port)
GOOD=$T/good.yaml
write_conf "$GOOD" "$PORT" "http://127.0.0.1:$DEMO" "$DEMO"

# ---------------------------------------------------------------- configuration
out=$("$H2API_BIN" -t -c "$GOOD" 2>&1 </dev/null)
rc=$?
check_eq "-t with a good config exits 0" 0 "$rc"
check_contains "-t with a good config says so" "configuration file $GOOD test is successful" "$out"

# unknown key on line 3
cat >"$T/unknown.yaml" <<EOF
listen:
  - 127.0.0.1:$PORT
no_such_key: 1
workers: 2
EOF
"$H2API_BIN" -t -c "$T/unknown.yaml" >"$T/unknown.out" 2>"$T/unknown.err" </dev/null
check_eq "unknown key: -t exits 2" 2 "$?"
check_contains "unknown key: stderr names FILE:3:" "$T/unknown.yaml:3:" "$(cat "$T/unknown.err")"
"$H2API_BIN" -c "$T/unknown.yaml" >"$T/unknown2.out" 2>"$T/unknown2.err" </dev/null &
pid=$!
track_pid "$pid"
wait_exit "$pid" 5
check_eq "unknown key: running (no -t) exits 2 too" 2 "$EXIT_STATUS"
check_contains "unknown key: running prints FILE:3:" "$T/unknown.yaml:3:" "$(cat "$T/unknown2.err")"

# unknown key nested in an upstream, line 7
cat >"$T/nested.yaml" <<EOF
listen:
  - 127.0.0.1:$PORT
workers: 1
upstreams:
  jsonplaceholder:
    base_url: http://127.0.0.1:$DEMO
    tiemout_ms: 1000
EOF
"$H2API_BIN" -t -c "$T/nested.yaml" >/dev/null 2>"$T/nested.err" </dev/null
check_eq "misspelt upstream key: exit 2" 2 "$?"
check_contains "misspelt upstream key: FILE:7:" "$T/nested.yaml:7:" "$(cat "$T/nested.err")"

# wrong type on line 4
cat >"$T/type.yaml" <<EOF
listen:
  - 127.0.0.1:$PORT
log: {level: info}
workers: [1, 2]
EOF
"$H2API_BIN" -t -c "$T/type.yaml" >/dev/null 2>"$T/type.err" </dev/null
check_eq "wrong type: exit 2" 2 "$?"
check_contains "wrong type: FILE:4:" "$T/type.yaml:4:" "$(cat "$T/type.err")"

# a string where a number belongs, line 3
cat >"$T/type2.yaml" <<EOF
listen:
  - 127.0.0.1:$PORT
shutdown_timeout_ms: soon
EOF
"$H2API_BIN" -t -c "$T/type2.yaml" >/dev/null 2>"$T/type2.err" </dev/null
check_eq "string for a number: exit 2" 2 "$?"
check_contains "string for a number: FILE:3:" "$T/type2.yaml:3:" "$(cat "$T/type2.err")"

# YAML syntax error
printf 'listen:\n  - 127.0.0.1:%s\nworkers: [1, 2\n' "$PORT" >"$T/syntax.yaml"
"$H2API_BIN" -t -c "$T/syntax.yaml" >/dev/null 2>"$T/syntax.err" </dev/null
check_eq "YAML syntax error: exit 2" 2 "$?"
check_match "YAML syntax error: FILE:LINE:" "$T/syntax.yaml:[0-9]+:" "$(cat "$T/syntax.err")"

# impossible value: a base_url with an unsupported scheme, line 6
cat >"$T/scheme.yaml" <<EOF
listen:
  - 127.0.0.1:$PORT
workers: 1
upstreams:
  jsonplaceholder:
    base_url: ftp://127.0.0.1:$DEMO
EOF
"$H2API_BIN" -t -c "$T/scheme.yaml" >/dev/null 2>"$T/scheme.err" </dev/null
check_eq "ftp:// base_url: exit 2" 2 "$?"
check_contains "ftp:// base_url: FILE:6:" "$T/scheme.yaml:6:" "$(cat "$T/scheme.err")"

# missing file
"$H2API_BIN" -t -c "$T/does-not-exist.yaml" >/dev/null 2>"$T/missing.err" </dev/null
check_eq "missing file: -t exits 2" 2 "$?"
check_contains "missing file: stderr names it" "$T/does-not-exist.yaml" "$(cat "$T/missing.err")"
"$H2API_BIN" -c "$T/does-not-exist.yaml" >/dev/null 2>"$T/missing2.err" </dev/null &
pid=$!
track_pid "$pid"
wait_exit "$pid" 5
check_eq "missing file: running exits 2" 2 "$EXIT_STATUS"

# a port already taken: the server must not come up half-way
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write("up")
time.sleep(30)' "$PORT" "$T/holder.up" </dev/null >/dev/null 2>&1 &
holder=$!
track_pid "$holder"
if wait_file "$T/holder.up" 5; then
    "$H2API_BIN" -c "$GOOD" >"$T/busy.out" 2>"$T/busy.err" </dev/null &
    pid=$!
    track_pid "$pid"
    wait_exit "$pid" 5
    check_match "listen port in use: the server exits non-zero" '^[1-9][0-9]*$' "$EXIT_STATUS"
    check_match "listen port in use: stderr says why" '.' "$(cat "$T/busy.err")"
    stop_pid "$pid"
else
    notok "listen port in use: holder started" "a holder process" "none"
fi
stop_pid "$holder"

# ---------------------------------------------------------------- HTTP error answers
start_server "$GOOD" "$PORT" || bail "server becomes ready" "/readyz 200 within 10 s" "no"
ok "server becomes ready"
B=http://127.0.0.1:$PORT

http "$B/no/such/path"
check_code "unknown path: 404" 404
check_json_ct "unknown path: JSON content-type"
check_json_eq "unknown path: body" '{"detail":"Not Found"}'

http "$B/v1/posts/1/extra"
check_code "unknown path below a route: 404" 404
check_json_eq "unknown path below a route: body" '{"detail":"Not Found"}'

http -X DELETE "$B/"
check_code "DELETE /: 405" 405
check_json_eq "DELETE /: body" '{"detail":"Method Not Allowed"}'
check_contains "DELETE /: Allow header lists GET" "GET" "$(header allow)"

http -X POST --data '{}' -H 'Content-Type: application/json' "$B/v1/posts/1"
check_code "POST /v1/posts/1: 405" 405
check_contains "POST /v1/posts/1: Allow header lists GET" "GET" "$(header allow)"

http "$B/v1/posts/abc"
check_code "non-int post_id: 422" 422
check_json_ct "non-int post_id: JSON content-type"
check_json_eq "non-int post_id: FastAPI's validation body" \
    '{"detail":[{"type":"int_parsing","loc":["path","post_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}'

http "$B/v1/users/x1/posts"
check_code "non-int user_id: 422" 422
check_json "non-int user_id: loc names user_id" \
    'd["detail"][0]["loc"] == ["path", "user_id"] and d["detail"][0]["input"] == "x1"'

http --path-as-is "$B/v1/posts/%2e%2e/1"
check_detail "dot segment %2e%2e" 400
http --path-as-is "$B/v1/posts/../posts/1"
check_detail "dot segment .." 400

# a body over limits.max_body_bytes (1024)
head -c 2000 /dev/zero | tr '\0' 'x' >"$T/big.txt"
head -c 500 /dev/zero | tr '\0' 'x' >"$T/small.txt"
http -X POST -H 'Content-Type: text/plain' --data-binary "@$T/big.txt" "$B/"
check_detail "POST / with 2000 bytes (limit 1024)" 413
http -X POST -H 'Content-Type: text/plain' -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.txt" "$B/"
check_detail "POST / with 2000 chunked bytes (limit 1024)" 413
# HTTP/2: libh2o 2.2.5 refuses a DATA frame past max_request_entity_size with
# RST_STREAM(REFUSED_STREAM) inside its framing layer, before any handler or filter runs, so
# there is no 413 to rewrite (README, "Limits"). The stream is refused, never served.
http --http2-prior-knowledge -X POST -H 'Content-Type: text/plain' --data-binary "@$T/big.txt" "$B/"
check_match "h2c POST / with 2000 bytes (limit 1024): stream refused, no answer" '^000$' "$R_CODE"
check_match "h2c POST / with 2000 bytes: curl saw the stream refused" 'REFUSED_STREAM|stream|HTTP/2|Connection died' "$(cat "$T/curl.err.$R_SEQ")"
http --http2-prior-knowledge -X POST -H 'Content-Type: text/plain' --data-binary "@$T/small.txt" "$B/"
check_code "h2c POST / with 500 bytes afterwards: served (405), not refused" 405
http -X POST -H 'Content-Type: text/plain' --data-binary "@$T/small.txt" "$B/"
check_code "POST / with 500 bytes: 405, not 413" 405

# a malformed request line: h2o's own 400 (maybe not JSON)
resp=$(raw_request 127.0.0.1 "$PORT" 'GARBAGE\r\n\r\n')
check_match "malformed request line: 400" '^HTTP/1\.[01] 400' "$resp"
resp=$(raw_request 127.0.0.1 "$PORT" 'GET /\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n')
check_match "control bytes in the request target: 400" '^HTTP/1\.[01] 400' "$resp"

# the server is still fine
http "$B/healthz"
check_code "after the errors: /healthz" 200
http "$B/v1/posts/1"
check_code "after the errors: GET /v1/posts/1" 200
if kill -0 "$SERVER_PID" 2>/dev/null; then ok "server still running"; else notok "server still running" "running" "exited"; fi

finish
