#!/usr/bin/env python3
"""
Holds N idle HTTP/1.1 keep-alive connections to 127.0.0.1:PORT, for bench/run's memory target.

Each connection sends one `GET /` and reads the whole answer (so the server holds a keep-alive
connection that has served a request, not a half-open one), then stays open and silent. When all
are open, prints `open OK FAILED` on stdout and waits until stdin closes (or TIMEOUT seconds),
then closes every connection and exits 0. Everything is bounded: each connection has 10 s to
connect and get its answer; the whole run ends after TIMEOUT seconds at the latest.

    idle_client.py PORT N [TIMEOUT]

Raises its own nofile limit to the hard limit (N must fit under it).
"""
import asyncio
import os
import resource
import sys
import threading


async def open_one(port, sem, held):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        except (OSError, asyncio.TimeoutError):
            return False
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await asyncio.wait_for(reader.readexactly(length), 10)
            if not head.startswith(b"HTTP/1.1 200"):
                raise ValueError(head[:40])
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return False
        held.append(writer)
        return True


async def main(port, n, timeout_s):
    held = []
    sem = asyncio.Semaphore(256)
    results = await asyncio.gather(*(open_one(port, sem, held) for _ in range(n)))
    ok = sum(results)
    print(f"open {ok} {n - ok}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def wait_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=wait_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(stdin_closed.wait(), timeout_s)
    except asyncio.TimeoutError:
        pass
    for writer in held:
        writer.close()
    print(f"closed {len(held)}", flush=True)


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port, n = int(sys.argv[1]), int(sys.argv[2])
    timeout_s = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
    rc = 0
    try:
        asyncio.run(asyncio.wait_for(main(port, n, timeout_s), timeout_s + 120))
    except Exception as e:  # reported, then the exit status says it
        print(f"idle_client: {e!r}", file=sys.stderr)
        rc = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)
