#!/usr/bin/python3
"""A client that stops reading its answer, for h2api's send timeout (127.0.0.1 only, bounded).

usage: slow_reader.py PORT PATH MODE SECONDS [h2]
  MODE stall: send the request, read nothing until the server ends the connection (a reset or
             an end of stream, seen in the kernel's TCP state without reading), at most SECONDS
  MODE trickle: read 4 KiB every 0.2 s for SECONDS (a slow client that does make progress)
Then reads what is left for up to 3 s and prints one JSON line: the bytes received, whether the
server closed the connection (EOF or reset) before the answer was complete, whether it was
complete (HTTP/1.1: Content-Length or the chunked terminator; h2: END_STREAM), and in stall mode
the seconds from the request to the end of the connection ("ended_after_s", null if it did not).
The socket's receive buffer is 4 KiB so that the server's send queue fills quickly.
"""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

port, path, mode, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
use_h2 = len(sys.argv) > 5 and sys.argv[5] == "h2"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
conn = None
if use_h2:
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", path)], end_stream=True)
    s.sendall(conn.data_to_send())
else:
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())

received, closed, complete, raw = 0, False, False, b""


def take(d):
    """accounts for bytes read; returns True once the answer is complete"""
    global received, raw
    received += len(d)
    if use_h2:
        done = False
        for ev in conn.receive_data(d):
            if isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if isinstance(ev, h2.events.StreamEnded):
                done = True
        out = conn.data_to_send()
        if out:
            try:
                s.sendall(out)
            except OSError:
                pass
        return done
    raw += d
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return body.endswith(b"0\r\n\r\n")


def read_for(limit_s, chunk, pause):
    global closed, complete
    deadline = time.time() + limit_s
    s.settimeout(0.2)
    while time.time() < deadline and not closed and not complete:
        try:
            d = s.recv(chunk)
        except socket.timeout:
            continue
        except OSError:
            closed = True
            break
        if not d:
            closed = True
            break
        complete = take(d)
        if pause:
            time.sleep(pause)


TCP_ESTABLISHED = 1


def wait_for_end(limit_s):
    """seconds until the socket leaves ESTABLISHED (reset or FIN from the server), or None"""
    t0 = time.time()
    while time.time() - t0 < limit_s:
        if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED:
            return round(time.time() - t0, 2)
        time.sleep(0.05)
    return None


result = {}
if mode == "trickle":
    read_for(seconds, 4096, 0.2)
else:
    result["ended_after_s"] = wait_for_end(seconds)
read_for(3, 65536, 0)
result.update({"received": received, "closed_early": closed and not complete, "complete": complete})
print(json.dumps(result))
