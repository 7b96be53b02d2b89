#!/usr/bin/python3
"""A steady mixed GET/POST load on h2api's example routes, and its analysis (127.0.0.1 only).

usage: mixed_load.py run PORT SECONDS THREADS RECORDS
  THREADS threads, each with its own keep-alive HTTP/1.1 connection, alternate
  GET /v1/posts/1 and POST /v1/posts {"title": "p-THREAD-N", ...} (a unique title per POST),
  one request every 20 ms per thread, for SECONDS. Each request is one JSON line in RECORDS:
  {"m", "start", "end" (epoch ms), "status" (0: no answer), "title"}.
usage: mixed_load.py analyze RECORDS OUTAGES PEERLOG
  OUTAGES: lines "KILL_MS READY_MS", the upstream down from the kill until the restarted one
  listened. A request was inside an outage if it was in flight at some moment of one. PEERLOG:
  the upstream's "POST <title>" lines. Prints one JSON object: GETs in all and failed inside
  and outside the outages, the slowest GET, POSTs answered 201, failed, failed yet processed,
  and processed twice (titles logged more than once).
"""
import collections
import http.client
import json
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


def run(port, seconds, threads, records):
    lock = threading.Lock()
    out = open(records, "w")
    stop_at = time.time() + seconds

    def worker(k):
        conn, n = None, 0
        while time.time() < stop_at:
            n += 1
            method = "GET" if n % 2 else "POST"
            title = "p-%d-%d" % (k, n)
            start, status, body = now_ms(), 0, b""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                if method == "GET":
                    conn.request("GET", "/v1/posts/1")
                else:
                    conn.request("POST", "/v1/posts", json.dumps({"title": title, "body": "b", "userId": 1}),
                                 {"Content-Type": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            end = now_ms()
            with lock:
                rec = {"m": method, "start": start, "end": end, "status": status, "title": title}
                if status not in (200, 201):
                    rec["body"] = body[:200].decode("utf-8", "replace")
                out.write(json.dumps(rec) + "\n")
            time.sleep(max(0, 0.02 - (end - start) / 1000.0))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.close()


def analyze(records, outages, peerlog):
    windows = [tuple(int(x) for x in line.split()) for line in open(outages) if line.strip()]
    recs = [json.loads(line) for line in open(records) if line.strip()]
    processed = collections.Counter(line.split(" ", 1)[1].strip() for line in open(peerlog) if line.startswith("POST "))

    def inside(r):
        return any(r["start"] <= ready and r["end"] >= kill for kill, ready in windows)

    gets = [r for r in recs if r["m"] == "GET"]
    posts = [r for r in recs if r["m"] == "POST"]
    failed_gets = [r for r in gets if r["status"] != 200]
    for r in recs:
        if r["status"] not in (200, 201):
            near = min(windows, key=lambda w: abs(r["start"] - w[0]))
            sys.stderr.write("failed %s %s %s: started %+d ms from a kill, ended %+d ms from the ready upstream (%s)\n" % (
                r["m"], r["title"], r["status"], r["start"] - near[0], r["end"] - near[1], r.get("body", "")))
    print(json.dumps({
        "gets": len(gets),
        "gets_failed_inside": sum(1 for r in failed_gets if inside(r)),
        "gets_failed_outside": sum(1 for r in failed_gets if not inside(r)),
        "get_statuses_failed": sorted(set(r["status"] for r in failed_gets)),
        "slowest_get_ms": max((r["end"] - r["start"] for r in gets), default=0),
        "posts": len(posts),
        "posts_created": sum(1 for r in posts if r["status"] == 201),
        "posts_failed_inside": sum(1 for r in posts if r["status"] != 201 and inside(r)),
        "posts_failed_outside": sum(1 for r in posts if r["status"] != 201 and not inside(r)),
        "posts_failed_yet_processed": sum(1 for r in posts if r["status"] != 201 and processed[r["title"]] > 0),
        "posts_created_not_logged": sum(1 for r in posts if r["status"] == 201 and processed[r["title"]] == 0),
        "posts_processed_twice": sum(1 for t, c in processed.items() if c > 1),
    }))


if sys.argv[1] == "run":
    run(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
else:
    analyze(sys.argv[2], sys.argv[3], sys.argv[4])
