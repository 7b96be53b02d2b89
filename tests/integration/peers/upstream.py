#!/usr/bin/python3
"""Misbehaving and slow upstreams for the integration tests (stdlib only, 127.0.0.1 only).

usage: upstream.py MODE PORTFILE [DELAY_S]

Binds 127.0.0.1 on a kernel-chosen port, writes that port to PORTFILE (atomically, via a
rename) once it is listening, and serves until killed (SIGTERM) or until it has run for 120 s.

MODE
  silent   accepts connections, reads whatever comes, never answers
  garbage  answers every connection with bytes that are not HTTP, then closes it
  slow     an HTTP/1.1 server (ThreadingHTTPServer): GET /posts/1 answers after DELAY_S
           (default 1.5) with {"userId":1,"id":1,"title":"t","body":"b"} and Content-Length;
           every other path answers 404 {}. Logs "GET /path" lines to stderr.
"""
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time

MAX_LIFETIME_S = 120


def write_port(portfile, port):
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, portfile)


def serve_raw(portfile, handle):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    write_port(portfile, srv.getsockname()[1])
    held = []
    while True:
        conn, _ = srv.accept()
        t = threading.Thread(target=handle, args=(conn, held), daemon=True)
        t.start()


def handle_silent(conn, held):
    held.append(conn)  # keep it open: never answer, never close
    conn.settimeout(MAX_LIFETIME_S)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def handle_garbage(conn, held):
    conn.settimeout(2)
    try:
        conn.recv(65536)
        conn.sendall(b"\x00\x01GARBAGE NOT HTTP\xff\xfe\r\n\r\n\x7f\x7f\x7f\r\n")
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.2)
    except OSError:
        pass
    finally:
        conn.close()


class SlowHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay_s = 1.5

    def do_GET(self):
        sys.stderr.write("GET %s\n" % self.path)
        sys.stderr.flush()
        if self.path == "/posts/1":
            time.sleep(self.delay_s)
            body = json.dumps({"userId": 1, "id": 1, "title": "t", "body": "b"}).encode()
            status = 200
        else:
            body = b"{}"
            status = 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def serve_slow(portfile, delay_s):
    SlowHandler.delay_s = delay_s
    http.server.ThreadingHTTPServer.daemon_threads = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    write_port(portfile, srv.server_address[1])
    srv.serve_forever()


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    mode, portfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(MAX_LIFETIME_S)
    if mode == "silent":
        serve_raw(portfile, handle_silent)
    elif mode == "garbage":
        serve_raw(portfile, handle_garbage)
    elif mode == "slow":
        serve_slow(portfile, float(sys.argv[3]) if len(sys.argv) > 3 else 1.5)
    else:
        sys.stderr.write("unknown mode %r\n" % mode)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
