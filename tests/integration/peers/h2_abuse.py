#!/usr/bin/python3
"""HTTP/2 abuse client for h2api's tests (python3-h2), 127.0.0.1 only, bounded in count and time.

usage: h2_abuse.py PORT MODE MAX_STREAMS MAX_SECONDS PATH
  MODE rapid-reset: HEADERS (END_STREAM) then RST_STREAM(CANCEL) at once, in batches
  MODE flood:       HEADERS (END_STREAM) only, as fast as the window of open streams allows
  MODE ping-flood:  PING frames (MAX_STREAMS of them), reading nothing (CVE-2019-9512)
  MODE settings-flood: empty SETTINGS frames, reading nothing (CVE-2019-9515)
  MODE continuation-flood: one HEADERS without END_HEADERS, then empty CONTINUATION frames
  MODE empty-data-flood: one POST's HEADERS, then empty DATA frames without END_STREAM, reading
                    nothing (CVE-2019-9518)
  MODE honest-pings: MAX_STREAMS PINGs, one every 10 ms, reading each ACK, then one GET of PATH;
                    prints the ACKs received and the answer's status
  MODE continuation-big: one HEADERS without END_HEADERS, then 16 KiB CONTINUATION frames of
                    header bytes that never end (a header block larger than any bound)
With H2_ABUSE_TLS=1 in the environment the connection is TLS with ALPN h2 (certificate not checked:
the tests' own self-signed one). Prints one JSON line: streams sent, whether and when the server closed the connection
(EOF, reset or GOAWAY), and the elapsed time.
"""
import json
import os
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

port, mode, max_streams, max_seconds, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
sock = socket.create_connection(("127.0.0.1", port))
if os.environ.get("H2_ABUSE_TLS") == "1":
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    tls.set_alpn_protocols(["h2"])
    sock = tls.wrap_socket(sock, server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2", "the server did not choose h2 by ALPN"
sock.setblocking(False)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
headers = [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1:%d" % port), (":path", path)]
sent, closed, goaway, t0 = 0, False, False, time.time()


def pump():
    """sends what is queued, reads what came; returns False once the server closed"""
    if not send_raw(conn.data_to_send()) and closed:
        return False
    return read()


def read():
    global closed, goaway
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                closed = True
                return False
            try:
                for ev in conn.receive_data(d):
                    if isinstance(ev, h2.events.ConnectionTerminated):
                        goaway = True
            except h2.exceptions.ProtocolError:
                closed = True
                return False
    except BlockingIOError:
        return True
    except (ConnectionResetError, OSError):
        closed = True
        return False


def frame(ftype, flags, stream_id, payload=b""):
    """one raw HTTP/2 frame (RFC 9113 §4.1)"""
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream_id.to_bytes(4, "big") + payload


def send_raw(chunk):
    """sends chunk without reading; returns False once the server closed or reset the connection"""
    global closed
    deadline = time.time() + 2
    while chunk and time.time() < deadline:
        try:
            n = sock.send(chunk)
            chunk = chunk[n:]
        except BlockingIOError:
            time.sleep(0.001)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            closed = True
            return False
    if chunk:  # the server stopped reading: for a flood that is being refused too
        return False
    return True


def raw_flood():
    """the frame modes: raw frames after the preface, MAX_STREAMS of them or MAX_SECONDS"""
    global sent, t0
    t0 = time.time()
    if mode in ("continuation-flood", "continuation-big"):
        enc = conn.encoder.encode(headers)
        sock_ok = send_raw(conn.data_to_send() + frame(0x1, 0x1, 1, enc))  # HEADERS, END_STREAM, no END_HEADERS
        one = frame(0x9, 0, 1) if mode == "continuation-flood" else frame(0x9, 0, 1, b"a" * 16384)
    elif mode == "empty-data-flood":
        post = [(k, "POST" if k == ":method" else v) for k, v in headers]
        sock_ok = send_raw(conn.data_to_send() + frame(0x1, 0x4, 1, conn.encoder.encode(post)))  # HEADERS, END_HEADERS
        one = frame(0x0, 0, 1)
    elif mode == "ping-flood":
        sock_ok = send_raw(conn.data_to_send())
        one = frame(0x6, 0, 0, b"h2api-ok")
    else:
        sock_ok = send_raw(conn.data_to_send())
        one = frame(0x4, 0, 0)
    batch = 100 if len(one) < 1000 else 4
    while sock_ok and sent < max_streams and time.time() - t0 < max_seconds:
        if not send_raw(one * batch):
            break
        sent += batch


if mode in ("ping-flood", "settings-flood", "continuation-flood", "continuation-big", "empty-data-flood"):
    raw_flood()
    elapsed = time.time() - t0
    # did the server close? read what it sent for up to 2 s, counting its ACKs (PING or SETTINGS
    # with the ACK flag, RFC 9113 §6.5, §6.7) and GOAWAY frames
    sock.setblocking(True)
    sock.settimeout(0.2)
    data, acks, deadline = b"", 0, time.time() + 2
    while not closed and time.time() < deadline:
        try:
            d = sock.recv(1 << 20)
            if not d:
                closed = True
            data += d
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        except OSError:  # ssl.SSLError included
            closed = True
        while len(data) >= 9 and len(data) >= 9 + int.from_bytes(data[:3], "big"):
            n, ftype, flags = int.from_bytes(data[:3], "big"), data[3], data[4]
            if ftype in (0x4, 0x6) and flags & 0x1:
                acks += 1
            elif ftype == 0x7:
                goaway = True
            data = data[9 + n:]
    print(json.dumps({"sent": sent, "acks": acks, "closed": closed or goaway, "goaway": goaway, "elapsed": round(elapsed, 3)}))
    sys.exit(0)

def honest_pings():
    """what a well-behaved client does (RTT probes, keep-alive): PINGs answered, then a request"""
    acks, status = 0, None
    read_events()  # sends the preface and SETTINGS, reads the server's
    for i in range(max_streams):
        if closed or time.time() - t0 > max_seconds:
            break
        conn.ping(b"%08d" % i)
        for _ in range(100):  # wait up to ~0.5 s for this PING's ACK
            acks += sum(isinstance(e, h2.events.PingAckReceived) for e in read_events())
            if acks > i or closed:
                break
            time.sleep(0.005)
        time.sleep(0.01)
    if not closed:
        conn.send_headers(1, headers, end_stream=True)
    deadline = time.time() + 2
    while status is None and not closed and time.time() < deadline:
        for e in read_events():
            if isinstance(e, h2.events.ResponseReceived):
                status = int(dict(e.headers)[":status"])
        time.sleep(0.005)
    print(json.dumps({"sent": max_streams, "acks": acks, "status": status, "closed": closed}))
    sys.exit(0)


def read_events():
    """reads what is there; returns the h2 events"""
    global closed
    events = []
    data = conn.data_to_send()
    if data:
        try:
            sock.sendall(data)
        except (OSError, ssl.SSLError):
            closed = True
            return events
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                closed = True
                break
            events += conn.receive_data(d)
            if any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
                closed = True  # GOAWAY
                break
    except (BlockingIOError, ssl.SSLWantReadError):
        pass
    except (OSError, h2.exceptions.ProtocolError):
        closed = True
    return events


if mode == "honest-pings":
    honest_pings()

pump()
while sent < max_streams and time.time() - t0 < max_seconds and not closed:
    for _ in range(100):
        try:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, headers, end_stream=True)
            if mode == "rapid-reset":
                conn.reset_stream(sid)
            sent += 1
        except (h2.exceptions.TooManyStreamsError, h2.exceptions.ProtocolError):
            break
    if not pump():
        break
elapsed = time.time() - t0
# after the loop: give the server a moment to close, if it is going to
deadline = time.time() + 1
while not closed and time.time() < deadline:
    if not read():
        break
    time.sleep(0.01)
print(json.dumps({"sent": sent, "closed": closed or goaway, "goaway": goaway, "elapsed": round(elapsed, 3)}))
