#!/usr/bin/python3
"""HTTP/2 abuse client for h2api's tests (python3-h2), 127.0.0.1 only, bounded in count and time.

usage: h2_abuse.py PORT MODE MAX_STREAMS MAX_SECONDS PATH
  MODE rapid-reset: HEADERS (END_STREAM) then RST_STREAM(CANCEL) at once, in batches
  MODE flood:       HEADERS (END_STREAM) only, as fast as the window of open streams allows
Prints one JSON line: streams sent, whether and when the server closed the connection
(EOF, reset or GOAWAY), and the elapsed time.
"""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

port, mode, max_streams, max_seconds, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
sock = socket.create_connection(("127.0.0.1", port))
sock.setblocking(False)
conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
headers = [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1:%d" % port), (":path", path)]
sent, closed, goaway, t0 = 0, False, False, time.time()


def pump():
    """sends what is queued, reads what came; returns False once the server closed"""
    global closed, goaway
    data = conn.data_to_send()
    try:
        while data:
            n = sock.send(data)
            data = data[n:]
    except BlockingIOError:
        time.sleep(0.001)
        return pump_rest(data)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
        return False
    return read()


def pump_rest(data):
    global closed
    deadline = time.time() + 1
    while data and time.time() < deadline:
        try:
            n = sock.send(data)
            data = data[n:]
        except BlockingIOError:
            time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
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
