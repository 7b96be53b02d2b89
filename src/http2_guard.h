/*
 * The HTTP/2 frame-flood guard (http2_guard.c): it sits in front of libh2o's frame parser and
 * closes, with GOAWAY (ENHANCE_YOUR_CALM), a connection that sends more SETTINGS and PING frames
 * than limits.http2_max_control_frames per ten seconds (CVE-2019-9512, CVE-2019-9515) or more
 * CONTINUATION frames after one HEADERS than limits.http2_max_continuation_frames. It also
 * keeps the dispatcher's per-connection counts of HTTP/2 requests (stream floods, Rapid Reset).
 */
#ifndef h2api__http2_guard_h
#define h2api__http2_guard_h

#include <stdint.h>

struct st_h2api_conn_t;

/** Connections the guard closed so far, process-wide. */
unsigned long h2api__http2_guard_refused(void);

/**
 * Counts a new HTTP/2 stream (a request that reached the dispatcher) on `conn` at loop time
 * `now_ms` (milliseconds). Past limits.http2_max_streams_per_second in a one-second window the
 * connection is cut (h2api__conn_cut, shutdown(2)).
 * @return 0 if the connection may go on, 1 if it is closing (answer the request 503, start no work)
 */
int h2api__http2_guard_count_stream(struct st_h2api_conn_t *conn, uint64_t now_ms);

/**
 * Counts an HTTP/2 stream of `conn` that was disposed of before it was answered (the client
 * reset it, CVE-2023-44487 "Rapid Reset") at loop time `now_ms`. Past
 * limits.http2_max_cancelled_streams in a ten-second window the connection is cut.
 */
void h2api__http2_guard_count_cancel(struct st_h2api_conn_t *conn, uint64_t now_ms);

#endif
