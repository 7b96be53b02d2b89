#!/usr/bin/python3
"""A scriptable HTTP/1.1 upstream for the example-route tests (stdlib only, 127.0.0.1 only).

usage: api_peer.py RULES PORTFILE LOGFILE

Binds 127.0.0.1 on a kernel-chosen port, writes that port to PORTFILE (atomically, via a
rename) once it is listening, and serves (ThreadingHTTPServer, keep-alive) until killed
(SIGTERM) or until it has run for 120 s.

RULES is a JSON list (inline, or @FILE); the first rule whose "path" regex fully matches the
request target (path and query, as received) and whose "method" (if given) matches answers:

  method    exact method, e.g. "POST"; absent: any
  path      regular expression, re.fullmatch against the request target
  body      regular expression, re.search against the request body (text); absent: any
  delay     seconds to wait before answering. While waiting the peer watches the connection:
            if the client closes it first, the peer logs "EARLY_CLOSE METHOD TARGET EPOCH"
            and answers nothing
  status    the status (default 200; 201 for "create")
  json      a JSON value to answer with
  echo      true: answer {"method", "path", "headers": [[name, value], ...], "body": text}
  create    true: answer the request's JSON object with "id" added (a counter per rule,
            starting at "first_id", default 1)
  fail_if   a substring: a request body containing it is answered 500 {"error": "fail"}
  big       {"bytes": N, "chunked": bool, "chunk": n, "sleep": s}: N deterministic bytes
            (application/octet-stream), written chunk bytes at a time with sleep s between
  headers   [[name, value], ...] added to the response ("Connection: close..." closes it)
  ctype     the Content-Type (default application/json; charset=utf-8)

No rule: 404 {}. Every request is logged as "REQ METHOD TARGET EPOCH" in LOGFILE.
GET /__stats answers {"max_inflight": n, "requests": n, "inflight": n} over every other
request so far (requests in progress at once, and in all); POST /__reset zeroes them.
"""
import hashlib
import http.server
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time

MAX_LIFETIME_S = 120

LOCK = threading.Lock()
STATS = {"inflight": 0, "max_inflight": 0, "requests": 0}
RULES = []
COUNTERS = {}
LOG = None


def log(line):
    with LOCK:
        LOG.write(line + "\n")
        LOG.flush()


def write_port(portfile, port):
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, portfile)


_BIG_BASE = []


def big_block(i, size):
    """Deterministic, incompressible bytes: block i of a stream (1 MiB of chained sha256, rotated)."""
    if not _BIG_BASE:
        out, seed = [], b"h2api-big"
        for _ in range(32768):
            seed = hashlib.sha256(seed).digest()
            out.append(seed)
        _BIG_BASE.append(b"".join(out))
    base = _BIG_BASE[0]
    off = (i * 7919) % len(base)
    data = base[off:] + base[:off]
    while len(data) < size:
        data += data
    return data[:size]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _client_closed_during(self, seconds):
        """Waits `seconds`; returns True as soon as the peer closes the connection."""
        deadline = time.monotonic() + seconds
        conn = self.connection
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                r, _, _ = select.select([conn], [], [], min(left, 0.02))
                if r:
                    data = conn.recv(1, socket.MSG_PEEK)
                    if not data:
                        return True
                    time.sleep(min(left, 0.02))  # a pipelined request: not a close
            except OSError:
                return True

    def _send(self, status, body, ctype, extra):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self._extra_headers(extra)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _extra_headers(self, extra):
        for name, value in extra:
            self.send_header(name, value)
            if name.lower() == "connection" and "close" in [t.strip().lower() for t in value.split(",")]:
                self.close_connection = True

    def _big(self, spec, extra):
        total = int(spec["bytes"])
        chunk = int(spec.get("chunk", 65536))
        pause = float(spec.get("sleep", 0))
        chunked = bool(spec.get("chunked", False))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self._extra_headers(extra)
        self.end_headers()
        sent, i = 0, 0
        try:
            while sent < total:
                block = big_block(i, min(chunk, total - sent))
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                else:
                    self.wfile.write(block)
                self.wfile.flush()
                sent += len(block)
                i += 1
                if pause:
                    time.sleep(pause)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            log("BIG_DONE %s %d %.3f" % (self.path, sent, time.time()))
        except OSError:
            log("BIG_ABORT %s %d %.3f" % (self.path, sent, time.time()))
            self.close_connection = True

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        if self.path == "/__stats":
            with LOCK:
                out = json.dumps(STATS).encode()
            return self._send(200, out, "application/json", [])
        if self.path == "/__reset" and self.command == "POST":
            with LOCK:
                STATS.update(inflight=0, max_inflight=0, requests=0)
            return self._send(200, b"{}", "application/json", [])

        log("REQ %s %s %.3f" % (self.command, self.path, time.time()))
        with LOCK:
            STATS["inflight"] += 1
            STATS["requests"] += 1
            STATS["max_inflight"] = max(STATS["max_inflight"], STATS["inflight"])
        try:
            self._answer(body)
        finally:
            with LOCK:
                STATS["inflight"] -= 1

    def _answer(self, body):
        for idx, rule in enumerate(RULES):
            if "method" in rule and rule["method"] != self.command:
                continue
            if not re.fullmatch(rule["path"], self.path):
                continue
            if "body" in rule and not re.search(rule["body"], body.decode("utf-8", "replace")):
                continue
            extra = rule.get("headers", [])
            if rule.get("delay"):
                if self._client_closed_during(float(rule["delay"])):
                    log("EARLY_CLOSE %s %s %.3f" % (self.command, self.path, time.time()))
                    self.close_connection = True
                    return
            ctype = rule.get("ctype", "application/json; charset=utf-8")
            if "fail_if" in rule and rule["fail_if"].encode() in body:
                return self._send(500, b'{"error":"fail"}', "application/json", extra)
            if "big" in rule:
                return self._big(rule["big"], extra)
            status = rule.get("status", 200)
            if rule.get("echo"):
                doc = {
                    "method": self.command,
                    "path": self.path,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body": body.decode("utf-8", "replace"),
                }
                out = json.dumps(doc).encode()
            elif rule.get("create"):
                try:
                    doc = json.loads(body)
                except ValueError:
                    return self._send(400, b'{"error":"bad json"}', "application/json", extra)
                with LOCK:
                    n = COUNTERS.get(idx, int(rule.get("first_id", 1)))
                    COUNTERS[idx] = n + 1
                doc["id"] = n
                out = json.dumps(doc).encode()
                status = rule.get("status", 201)
            elif "json" in rule:
                out = json.dumps(rule["json"]).encode()
            else:
                out = b""
            return self._send(status, out, ctype, extra)
        return self._send(404, b"{}", "application/json", [])

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def main():
    global LOG
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    rules, portfile, logfile = sys.argv[1:4]
    if rules.startswith("@"):
        with open(rules[1:]) as f:
            rules = f.read()
    RULES.extend(json.loads(rules))
    LOG = open(logfile, "a")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(MAX_LIFETIME_S)
    srv = Server(("127.0.0.1", 0), Handler)
    write_port(portfile, srv.server_address[1])
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
