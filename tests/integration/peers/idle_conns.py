#!/usr/bin/python3
"""Opens N connections to 127.0.0.1:PORT (half send one request and stay as idle keep-alive,
half never speak), holds them HOLD seconds, then prints how many the server closed. Bounded."""
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port)); socks.append(s)
    if i % 2 == 0: s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # half become idle keep-alive, half never spoke
time.sleep(float(sys.argv[3]))
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        while True:
            d = s.recv(65536)
            if not d: closed += 1; break
    except BlockingIOError: pass
    except ConnectionResetError: closed += 1
print("closed", closed, "of", n)
