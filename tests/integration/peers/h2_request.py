#!/usr/bin/python3
"""One HTTP/2 connection (h2c, prior knowledge) to 127.0.0.1, with requests whose pseudo-header
fields are sent as given, even malformed ones a strict client library would refuse to send.

usage: h2_request.py PORT PATH [PATH...]
  Each PATH becomes one GET on its own stream (1, 3, 5...), in order, with :method GET,
  :scheme http, :authority 127.0.0.1:PORT and :path PATH exactly ("" sends an empty :path).
Prints one JSON line: for each request {"path", "status" (the :status answered, or null),
"reset" (the RST_STREAM error code, or null)}, and "goaway" (the GOAWAY error code, or null).
Frames are written and read raw (RFC 9113 §4.1), header blocks coded with python3-hpack.
Bounded: 3 s in all.
"""
import json
import socket
import sys
import time

import hpack

port, paths = int(sys.argv[1]), sys.argv[2:]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream_id, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream_id.to_bytes(4, "big") + payload


encoder, decoder = hpack.Encoder(), hpack.Decoder()
out = [PREFACE, frame(SETTINGS, 0, 0)]
results = {}
for i, path in enumerate(paths):
    sid = 1 + 2 * i
    block = encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1:%d" % port), (":path", path)])
    out.append(frame(HEADERS, END_STREAM | END_HEADERS, sid, block))
    results[sid] = {"path": path, "status": None, "reset": None}

sock = socket.create_connection(("127.0.0.1", port), timeout=3)
sock.sendall(b"".join(out))
buf, goaway, deadline = b"", None, time.time() + 3
done = lambda: all(r["status"] is not None or r["reset"] is not None for r in results.values())  # noqa: E731
while not done() and goaway is None and time.time() < deadline:
    try:
        d = sock.recv(65536)
    except (socket.timeout, ConnectionResetError):
        break
    if not d:
        break
    buf += d
    while len(buf) >= 9:
        length = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + length:
            break
        ftype, flags, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        payload, buf = buf[9 : 9 + length], buf[9 + length :]
        if ftype == SETTINGS and not flags & ACK:
            sock.sendall(frame(SETTINGS, ACK, 0))
        elif ftype == HEADERS and sid in results:
            status = dict(decoder.decode(payload)).get(":status")
            results[sid]["status"] = int(status) if status is not None else None
        elif ftype == RST_STREAM and sid in results:
            results[sid]["reset"] = int.from_bytes(payload[:4], "big")
        elif ftype == GOAWAY:
            goaway = int.from_bytes(payload[4:8], "big")
sock.close()
print(json.dumps({"requests": [results[k] for k in sorted(results)], "goaway": goaway}))
