#!/usr/bin/python3
"""An upstream to kill and restart under load (127.0.0.1 only, bounded).

usage: restart_peer.py PORT PROTO LOGFILE [DOWN_S]
  PORT   the fixed port to bind (SO_REUSEADDR: a restarted peer takes the same port at once)
  DOWN_S for a replacement started while the old peer still runs: wait (10 s at most) until the
         port can be bound, that is until the old peer is gone, hold it bound but not listening
         (connections are refused) for DOWN_S seconds, then listen. The outage is then DOWN_S,
         not DOWN_S plus the start-up time of Python.
  PROTO  h1 (HTTP/1.1 keep-alive, ThreadingHTTPServer) or h2c (HTTP/2 with prior knowledge,
         python3-h2, one thread per connection)

Answers GET /posts/1 with a post, POST /posts with the posted JSON object and "id": 101 (201),
anything else 404 {}. Prints the epoch ms at which it listens on stdout. Appends one line per answered POST to LOGFILE: "POST <title>" (the load
client makes each title unique, so a title seen twice is a POST processed twice). Serves until
killed, or for 120 s at most.
"""
import json
import os
import signal
import socket
import sys
import threading
import time
import http.server

MAX_LIFETIME_S = 120
POST = {"userId": 1, "id": 1, "title": "t", "body": "b"}
log_lock = threading.Lock()


def answer(method, path, body, logfile):
    """(status, JSON bytes) for one request; logs POSTs"""
    if method == "GET" and path == "/posts/1":
        return 200, json.dumps(POST).encode()
    if method == "POST" and path == "/posts":
        doc = json.loads(body or b"{}")
        with log_lock, open(logfile, "a") as f:
            f.write("POST %s\n" % doc.get("title"))
        doc["id"] = 101
        return 201, json.dumps(doc).encode()
    return 404, b"{}"


class H1(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body are separate writes

    def do_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        status, out = answer(self.command, self.path, self.rfile.read(n) if n else b"", self.server.logfile)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_any

    def log_message(self, *args):
        pass


def serve_h2c(sock, logfile):
    import h2.config
    import h2.connection
    import h2.events

    def conn_thread(c):
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, validate_inbound_headers=False))
        conn.initiate_connection()
        c.sendall(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        h = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                             for k, v in ev.headers}
                        streams[ev.stream_id] = [h.get(":method"), h.get(":path"), b""]
                    elif isinstance(ev, h2.events.DataReceived):
                        streams[ev.stream_id][2] += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        sid = ev.stream_id
                        if sid in streams:
                            m, p, b = streams.pop(sid)
                            status, out = answer(m, p, b, logfile)
                            conn.send_headers(sid, [(":status", str(status)), ("content-type", "application/json"),
                                                    ("content-length", str(len(out)))])
                            conn.send_data(sid, out, end_stream=True)
                c.sendall(conn.data_to_send())
        except (OSError, KeyError, ValueError):
            return
        finally:
            c.close()

    while True:
        c, _ = sock.accept()
        threading.Thread(target=conn_thread, args=(c,), daemon=True).start()


def bind_when_free(port, down_s):
    """a socket bound to port; with down_s, waits for the port first, then stays down_s unlistening"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.time() + 10
    while True:
        try:
            s.bind(("127.0.0.1", port))
            break
        except OSError:
            if down_s is None or time.time() > deadline:
                raise
            time.sleep(0.002)
    if down_s is not None:
        time.sleep(down_s)
    s.listen(128)
    print(int(time.time() * 1000), flush=True)  # when it listens (epoch ms), for the test's outage windows
    return s


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sock, logfile):
        self.logfile = logfile
        super().__init__(sock.getsockname(), H1, bind_and_activate=False)
        self.socket.close()
        self.socket = sock


def main():
    port, proto, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    down_s = float(sys.argv[4]) if len(sys.argv) > 4 else None
    signal.signal(signal.SIGALRM, lambda *a: os._exit(0))
    signal.alarm(MAX_LIFETIME_S)
    s = bind_when_free(port, down_s)
    if proto == "h1":
        Server(s, logfile).serve_forever()
    else:
        serve_h2c(s, logfile)


main()
