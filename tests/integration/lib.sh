# shellcheck shell=bash disable=SC2034 # globals set here are read by the scripts
#
# Shared helpers for the integration scripts (sourced, not run).
#
# Contract for every t_*.sh that sources this file:
#   - env H2API_BIN (absolute path of the built server) and H2API_SRCDIR (source dir);
#   - one line per assertion, "ok - NAME" or "not ok - NAME (expected X, got Y)";
#   - a last line exactly "N passed, M failed", then exit 0 if M == 0, else 1;
#     `skip_all REASON` exits 77 instead;
#   - every process started here is recorded by PID (track_pid) and stopped by PID in the
#     EXIT trap; nothing is ever killed by name;
#   - every wait loop is bounded in count and time; a watchdog ends the script after
#     H2API_TEST_TIMEOUT_S seconds (default 55) so that no script outlives a minute;
#   - all traffic goes to 127.0.0.1 or ::1 only.

set -u
set -o pipefail

# Helper servers use the system python (stdlib only), not a pyenv shim.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS_DIR=$INTEG_DIR/peers

PASSED=0
FAILED=0
TRACKED_PIDS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/h2api-it.XXXXXX")
R_SEQ=0

# Never let a proxy setting send test traffic anywhere but loopback.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'

# ---------------------------------------------------------------- processes and cleanup

# track_pid PID: stop PID (SIGTERM, then SIGKILL after 2 s) when the script exits.
track_pid() { TRACKED_PIDS+=("$1"); }

# stop_pid PID [SIGNAL]: signal PID, wait for it up to 2 s, then SIGKILL. Quiet.
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill "-$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local pid
    trap - EXIT TERM INT
    for pid in "${TRACKED_PIDS[@]}"; do
        stop_pid "$pid"
    done
    if [ -n "${H2API_KEEP_TMP:-}" ]; then
        echo "# kept temp dir $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

on_watchdog() {
    echo "not ok - script finished within ${H2API_TEST_TIMEOUT_S:-55} s (expected done, got watchdog timeout)"
    FAILED=$((FAILED + 1))
    finish
}
trap on_watchdog TERM
trap 'echo "# interrupted" >&2; exit 130' INT

# One process, one PID: it sends SIGTERM to this script after the deadline.
"$PY" -c 'import os, sys, time, signal
time.sleep(float(sys.argv[2]))
try:
    os.kill(int(sys.argv[1]), signal.SIGTERM)
except ProcessLookupError:
    pass' "$$" "${H2API_TEST_TIMEOUT_S:-55}" </dev/null >/dev/null 2>&1 &
track_pid $!

# ---------------------------------------------------------------- reporting

ok() {
    PASSED=$((PASSED + 1))
    echo "ok - $1"
}

# notok NAME EXPECTED GOT
notok() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1 (expected $2, got $3)"
}

# finish: prints the summary line and exits (1 if anything failed).
finish() {
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -gt 0 ]; then exit 1; fi
    exit 0
}

# skip_all REASON: the whole script is skipped (automake's 77).
skip_all() {
    echo "# SKIP: $1"
    echo "$PASSED passed, $FAILED failed"
    exit 77
}

# bail NAME EXPECTED GOT: one failure that makes the rest meaningless; ends the script.
bail() {
    notok "$@"
    finish
}

# shorten TEXT: one line, at most 300 characters, for messages.
shorten() {
    local s
    s=$(printf '%s' "$1" | tr '\r\n' '  ')
    if [ "${#s}" -gt 300 ]; then s="${s:0:300}..."; fi
    printf '%s' "$s"
}

check_eq() { # NAME EXPECTED GOT
    if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "'$2'" "'$(shorten "$3")'"; fi
}

check_match() { # NAME ERE GOT
    if [[ $3 =~ $2 ]]; then ok "$1"; else notok "$1" "match /$2/" "'$(shorten "$3")'"; fi
}

check_contains() { # NAME NEEDLE HAYSTACK
    if [[ $3 == *"$2"* ]]; then ok "$1"; else notok "$1" "text containing '$2'" "'$(shorten "$3")'"; fi
}

check_lt() { # NAME LIMIT VALUE (floats)
    if "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[2]) < float(sys.argv[1]) else 1)' "$2" "$3"; then
        ok "$1"
    else
        notok "$1" "< $2" "$3"
    fi
}

# ---------------------------------------------------------------- ports and waiting

# free_port: prints a TCP port that was free on 127.0.0.1 a moment ago.
free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# free_port6: the same on ::1.
free_port6() {
    "$PY" -c 'import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
print(s.getsockname()[1])
s.close()'
}

# have_ipv6_lo: true if the loopback interface has ::1.
have_ipv6_lo() {
    if command -v ip >/dev/null 2>&1; then
        ip -6 addr show lo 2>/dev/null | grep -q 'inet6 ::1/'
    else
        grep -q '^00000000000000000000000000000001' /proc/net/if_inet6 2>/dev/null
    fi
}

# port_open HOST PORT: true if a TCP connect succeeds within 1 s.
port_open() {
    "$PY" -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)' "$1" "$2"
}

# wait_port HOST PORT [SECONDS]: waits (bounded) until HOST:PORT accepts connections.
wait_port() {
    local host=$1 port=$2 secs=${3:-10} i
    for ((i = 0; i < secs * 10; i++)); do
        port_open "$host" "$port" && return 0
        sleep 0.1
    done
    return 1
}

# wait_file FILE [SECONDS]: waits (bounded) until FILE exists and is not empty.
wait_file() {
    local f=$1 secs=${2:-10} i
    for ((i = 0; i < secs * 10; i++)); do
        [ -s "$f" ] && return 0
        sleep 0.1
    done
    return 1
}

# wait_exit PID SECONDS: waits (bounded) for PID, a child of this shell, to exit.
# Sets EXIT_STATUS to its status (or "running" if it did not exit in time).
wait_exit() {
    local pid=$1 secs=$2 i
    EXIT_STATUS=running
    for ((i = 0; i < secs * 20; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            EXIT_STATUS=$?
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- HTTP

# http [curl options...] URL
# One request with curl. Sets R_CODE (000 when no answer), R_VER (1.1, 2, ...), R_TIME
# (seconds), R_RC (curl's exit status); the body is in the file $R_BODY and the response
# headers in $R_HDRS (the last header block when there were several, as after an Upgrade).
http() {
    local out
    R_SEQ=$((R_SEQ + 1))
    R_BODY=$T/body.$R_SEQ
    R_HDRS=$T/hdrs.$R_SEQ
    : >"$R_BODY"
    out=$(curl -sS --noproxy '*' --max-time "${CURL_MAX_TIME:-10}" -o "$R_BODY" -D "$R_HDRS" \
        -w '%{http_code} %{http_version} %{time_total}' "$@" 2>"$T/curl.err.$R_SEQ")
    R_RC=$?
    R_CODE=000 R_VER=0 R_TIME=0
    read -r R_CODE R_VER R_TIME <<<"$out"
    return 0
}

# body: prints the last response body.
body() { cat "$R_BODY"; }

# header NAME: prints the value of header NAME (case-insensitive) from the last response,
# last header block only, without the trailing CR. Empty if absent.
header() {
    awk -v name="$1" '
        BEGIN { name = tolower(name) }
        { sub(/\r$/, "") }
        /^HTTP\// { v = ""; found = 0; next }
        {
            i = index($0, ":")
            if (i > 0 && tolower(substr($0, 1, i - 1)) == name && !found) {
                v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = 1
            }
        }
        END { printf "%s", v }' "$R_HDRS"
}

check_code() { # NAME EXPECTED_STATUS
    if [ "$R_CODE" = "$2" ]; then
        ok "$1"
    else
        notok "$1" "status $2" "status $R_CODE, body '$(shorten "$(head -c 300 "$R_BODY")")'"
    fi
}

# json_eval FILE EXPR: true if the JSON in FILE parses and the Python expression EXPR over `d`
# (the parsed value) is truthy. `re` and `json` are in scope.
json_eval() {
    "$PY" -c 'import json, re, sys
try:
    with open(sys.argv[1], "rb") as f:
        d = json.loads(f.read().decode("utf-8"))
    sys.exit(0 if eval(sys.argv[2], {"d": d, "re": re, "json": json}) else 1)
except Exception as e:
    sys.exit(2)' "$1" "$2"
}

# json_get FILE EXPR: prints the value of EXPR over `d` (strings raw, others as JSON).
json_get() {
    "$PY" -c 'import json, re, sys
try:
    with open(sys.argv[1], "rb") as f:
        d = json.loads(f.read().decode("utf-8"))
    v = eval(sys.argv[2], {"d": d, "re": re, "json": json})
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# check_json NAME EXPR: the last response body is JSON and EXPR over `d` is truthy.
check_json() {
    if json_eval "$R_BODY" "$2"; then
        ok "$1"
    else
        notok "$1" "JSON with $2" "status $R_CODE, body '$(shorten "$(head -c 300 "$R_BODY")")'"
    fi
}

# check_json_eq NAME JSON: the last response body is JSON equal (as a value) to JSON.
check_json_eq() {
    if "$PY" -c 'import json, sys
with open(sys.argv[1], "rb") as f:
    a = json.loads(f.read().decode("utf-8"))
sys.exit(0 if a == json.loads(sys.argv[2]) else 1)' "$R_BODY" "$2" 2>/dev/null; then
        ok "$1"
    else
        notok "$1" "$2" "status $R_CODE, body '$(shorten "$(head -c 300 "$R_BODY")")'"
    fi
}

# check_json_ct NAME: the last response says Content-Type application/json.
check_json_ct() {
    check_match "$1" '^application/json' "$(header content-type)"
}

# check_detail NAME STATUS: status STATUS, JSON content type, body {"detail": <non-empty>}.
check_detail() {
    check_code "$1: status $2" "$2"
    check_json_ct "$1: JSON content-type"
    check_json "$1: JSON body with detail" 'isinstance(d, dict) and "detail" in d and d["detail"] not in ("", None, [], {})'
}

# raw_request HOST PORT FILE_OR_STRING: sends raw bytes (printf-style escapes interpreted),
# prints what comes back within 3 s.
raw_request() {
    "$PY" -c 'import socket, sys
data = sys.argv[3].encode("latin-1").decode("unicode_escape").encode("latin-1")
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(data)
out = b""
try:
    while len(out) < 65536:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
s.close()
sys.stdout.write(out.decode("latin-1"))' "$1" "$2" "$3"
}

# ---------------------------------------------------------------- the server under test

# require_bin: H2API_BIN must name an executable; a missing binary is a failure, not a skip.
require_bin() {
    if [ -z "${H2API_BIN:-}" ] || [ ! -x "${H2API_BIN}" ]; then
        bail "H2API_BIN is an executable" "executable server binary" "'${H2API_BIN:-<unset>}'"
    fi
}

# require_python_h2: the HTTP/2 test clients need python3-h2 (Debian): skip the script without it,
# or fail when the project's peers are required (H2API_REQUIRE_PEERS=1, as ./scripts/dev test).
require_python_h2() {
    if ! /usr/bin/python3 -c 'import h2' 2>/dev/null; then
        [ "${H2API_REQUIRE_PEERS:-0}" = 1 ] && bail "python3-h2" "installed" "missing"
        skip_all "python3-h2 missing"
    fi
}

# shared_data_json: prints the path of the jsonplaceholder data.json, or nothing.
shared_data_json() {
    local c
    for c in "${H2API_SRCDIR:-/nonexistent}/../shared/data/jsonplaceholder/data.json" \
        /work/shared/data/jsonplaceholder/data.json; do
        if [ -r "$c" ]; then
            printf '%s' "$c"
            return 0
        fi
    done
    return 1
}

# write_conf FILE PORT UPSTREAM_URL [DEMO_PORT] [EXTRA_UPSTREAM_YAML]
# Writes a config listening on 127.0.0.1:PORT whose default upstream is UPSTREAM_URL; with
# DEMO_PORT the embedded demo upstream is enabled on 127.0.0.1:DEMO_PORT, else disabled.
# CONF_TIMEOUT_MS (default 1000), CONF_SHUTDOWN_MS (default 5000), CONF_MAX_BODY (default 1024)
# CONF_LISTEN_EXTRA (more YAML list items under listen:) and CONF_UPSTREAM_EXTRA (more YAML keys
# of the upstream, indented by 4) tune it.
write_conf() {
    local file=$1 port=$2 url=$3 demo_port=${4:-}
    {
        echo "listen:"
        echo "  - 127.0.0.1:$port"
        if [ -n "${CONF_LISTEN_EXTRA:-}" ]; then printf '%s\n' "$CONF_LISTEN_EXTRA"; fi
        echo "workers: 2"
        echo "limits: {max_body_bytes: ${CONF_MAX_BODY:-1024}}"
        echo "shutdown_timeout_ms: ${CONF_SHUTDOWN_MS:-5000}"
        echo "log: {level: info, access_log: true}"
        echo "default_upstream: jsonplaceholder"
        echo "upstreams:"
        echo "  jsonplaceholder:"
        echo "    base_url: $url"
        echo "    timeout_ms: ${CONF_TIMEOUT_MS:-1000}"
        echo "    retry: {attempts: 1}"
        if [ -n "${CONF_UPSTREAM_EXTRA:-}" ]; then printf '%s\n' "$CONF_UPSTREAM_EXTRA"; fi
        echo "demo_upstream:"
        if [ -n "$demo_port" ]; then
            echo "  enabled: true"
            echo "  listen: 127.0.0.1:$demo_port"
        else
            echo "  enabled: false"
        fi
    } >"$file"
}

# start_server CONF PORT [NAME]: starts "$H2API_BIN -c CONF" in the background (stdout to
# $T/NAME.out, stderr to $T/NAME.err; environment as the caller exported it), records its PID in
# SERVER_PID and waits up to 10 s for GET /readyz on 127.0.0.1:PORT to answer 200.
# Returns 1 (after printing the server's stderr as comments) if it did not become ready.
start_server() {
    local conf=$1 port=$2 name=${3:-server} i code
    SERVER_OUT=$T/$name.out
    SERVER_ERR=$T/$name.err
    "$H2API_BIN" -c "$conf" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null &
    SERVER_PID=$!
    track_pid "$SERVER_PID"
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        code=$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    echo "# server did not become ready on port $port; its stderr:"
    sed 's/^/#   /' "$SERVER_ERR" | head -20
    return 1
}

# access_log_has TEXT [SECONDS]: waits (bounded, default 3 s) until the server's stdout has a
# line containing TEXT; prints that line.
access_log_has() {
    local text=$1 secs=${2:-3} i
    for ((i = 0; i < secs * 10; i++)); do
        if grep -F -- "$text" "$SERVER_OUT" 2>/dev/null | head -1 | grep -q .; then
            grep -F -- "$text" "$SERVER_OUT" | head -1
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# start_peer MODE [DELAY_S]: starts peers/upstream.py MODE (see its docstring), records its PID
# in PEER_PID and its port in PEER_PORT. Returns 1 if it did not start within 5 s.
start_peer() {
    local mode=$1 portfile
    R_SEQ=$((R_SEQ + 1))
    portfile=$T/peer.$R_SEQ.port
    "$PY" "$PEERS_DIR/upstream.py" "$mode" "$portfile" "${2:-1.5}" </dev/null >"$T/peer.$R_SEQ.out" 2>"$T/peer.$R_SEQ.err" &
    PEER_PID=$!
    PEER_ERR=$T/peer.$R_SEQ.err
    track_pid "$PEER_PID"
    PEER_PORT=
    wait_file "$portfile" 5 || return 1
    PEER_PORT=$(cat "$portfile")
    wait_port 127.0.0.1 "$PEER_PORT" 5
}

# ---------------------------------------------------------------- example-route helpers (t_api*.sh)

# write_api_conf FILE PORT UPSTREAM_URL [DEMO_PORT]
# Like write_conf, for the example routes, with more knobs: CONF_WORKERS (default 2),
# CONF_MAX_BODY (default 1m), CONF_TIMEOUT_MS (default 2000), CONF_BREAKER (the upstream's
# circuit_breaker flow mapping, default {failures: 0}: off), CONF_BULK (app.bulk_concurrency,
# default: not set) and CONF_UPSTREAM_EXTRA (more keys of the upstream, indented by 4).
write_api_conf() {
    local file=$1 port=$2 url=$3 demo_port=${4:-}
    {
        echo "listen:"
        echo "  - 127.0.0.1:$port"
        echo "workers: ${CONF_WORKERS:-2}"
        echo "limits: {max_body_bytes: ${CONF_MAX_BODY:-1m}}"
        echo "shutdown_timeout_ms: 2000"
        echo "log: {level: info, access_log: true}"
        echo "default_upstream: jsonplaceholder"
        echo "upstreams:"
        echo "  jsonplaceholder:"
        echo "    base_url: $url"
        echo "    timeout_ms: ${CONF_TIMEOUT_MS:-2000}"
        echo "    retry: {attempts: 1}"
        echo "    circuit_breaker: ${CONF_BREAKER:-{failures: 0\}}"
        if [ -n "${CONF_UPSTREAM_EXTRA:-}" ]; then printf '%s\n' "$CONF_UPSTREAM_EXTRA"; fi
        echo "demo_upstream:"
        if [ -n "$demo_port" ]; then
            echo "  enabled: true"
            echo "  listen: 127.0.0.1:$demo_port"
        else
            echo "  enabled: false"
        fi
        if [ -n "${CONF_BULK:-}" ]; then
            echo "app:"
            echo "  bulk_concurrency: $CONF_BULK"
        fi
    } >"$file"
}

# start_api_peer RULES_JSON: starts peers/api_peer.py with RULES_JSON (see its docstring; a
# leading @ names a file), records its PID in API_PEER_PID, its port in API_PEER_PORT and its
# log file in API_PEER_LOG. Returns 1 if it did not start within 5 s.
start_api_peer() {
    local portfile
    R_SEQ=$((R_SEQ + 1))
    portfile=$T/apipeer.$R_SEQ.port
    API_PEER_LOG=$T/apipeer.$R_SEQ.log
    : >"$API_PEER_LOG"
    "$PY" "$PEERS_DIR/api_peer.py" "$1" "$portfile" "$API_PEER_LOG" </dev/null >"$T/apipeer.$R_SEQ.out" 2>"$T/apipeer.$R_SEQ.err" &
    API_PEER_PID=$!
    track_pid "$API_PEER_PID"
    API_PEER_PORT=
    wait_file "$portfile" 5 || return 1
    API_PEER_PORT=$(cat "$portfile")
    wait_port 127.0.0.1 "$API_PEER_PORT" 5
}

# peer_log_wait LOGFILE ERE COUNT [SECONDS]: waits (bounded, default 3 s, fractions allowed) until LOGFILE has at
# least COUNT lines matching ERE; prints the count found either way. True if reached.
peer_log_wait() {
    local f=$1 re=$2 want=$3 secs=${4:-3} i n=0 tries
    tries=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 20 }')
    for ((i = 0; i < tries; i++)); do
        n=$(grep -cE -- "$re" "$f" 2>/dev/null)
        [ "${n:-0}" -ge "$want" ] && break
        sleep 0.05
    done
    printf '%s' "${n:-0}"
    [ "${n:-0}" -ge "$want" ]
}

# sha256_of FILE: prints the hex sha256 of FILE.
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# rss_kb PID: prints VmRSS of PID in kB (empty if gone).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# check_json_file NAME FILE EXPR: like check_json on another file.
check_json_file() {
    if json_eval "$2" "$3"; then
        ok "$1"
    else
        notok "$1" "JSON with $3" "'$(shorten "$(head -c 300 "$2")")'"
    fi
}

# check_json_with NAME EXPR FILE...: the last response body is JSON and EXPR is truthy, with `d`
# the body and `e` the list of the FILEs' parsed JSON (expected values computed elsewhere).
check_json_with() {
    local name=$1 expr=$2
    shift 2
    if "$PY" -c 'import json, re, sys
def load(p):
    with open(p, "rb") as f:
        return json.loads(f.read().decode("utf-8"))
try:
    d = load(sys.argv[1])
    e = [load(p) for p in sys.argv[3:]]
    sys.exit(0 if eval(sys.argv[2], {"d": d, "e": e, "re": re, "json": json}) else 1)
except Exception:
    sys.exit(2)' "$R_BODY" "$expr" "$@"; then
        ok "$name"
    else
        notok "$name" "JSON with $expr" "status $R_CODE, body '$(shorten "$(head -c 300 "$R_BODY")")'"
    fi
}

# start_json_server: starts json-server 0.17.4 (npm; the project's setup installs it in
# .tmp/node) on a free port with a copy of the real jsonplaceholder dataset (it rewrites its db on
# writes); sets DATA (the original data.json), JPORT and JPID, and waits (bounded, 15 s) until it
# answers. Skips the script (77) when json-server, node or the dataset is missing, unless
# H2API_REQUIRE_PEERS=1, which makes that a failure.
start_json_server() {
    local missing="" js="" i code ready=no
    if [ -x "${H2API_SRCDIR:-/nonexistent}/.tmp/node/node_modules/.bin/json-server" ]; then
        js=$H2API_SRCDIR/.tmp/node/node_modules/.bin/json-server
    elif command -v json-server >/dev/null 2>&1; then
        js=$(command -v json-server)
    fi
    [ -n "$js" ] || missing="json-server"
    command -v node >/dev/null 2>&1 || missing="node"
    DATA=$(shared_data_json) || missing="data/jsonplaceholder/data.json"
    if [ -n "$missing" ]; then
        [ "${H2API_REQUIRE_PEERS:-0}" = 1 ] && bail "peer available" "$missing" "missing (H2API_REQUIRE_PEERS=1)"
        skip_all "$missing not found (npm install --prefix .tmp/node json-server@0.17.4)"
    fi
    cp "$DATA" "$T/db.json"
    JPORT=$(free_port)
    "$js" --port "$JPORT" --host 127.0.0.1 --quiet "$T/db.json" </dev/null >"$T/json-server.out" 2>"$T/json-server.err" &
    JPID=$!
    track_pid "$JPID"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$JPID" 2>/dev/null || break
        code=$(curl -s --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$JPORT/posts/1")
        if [ "$code" = 200 ]; then ready=yes; break; fi
        sleep 0.1
    done
    [ "$ready" = yes ] || bail "json-server answers" "GET /posts/1 200 within 15 s" "$(shorten "$(cat "$T/json-server.err")")"
    ok "json-server answers on 127.0.0.1:$JPORT"
}
