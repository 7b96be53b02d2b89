/*
 * The HTTP/2 frame-flood guard (http2_guard.c): it sits in front of libh2o's frame parser and
 * closes, with GOAWAY (ENHANCE_YOUR_CALM), a connection that sends more SETTINGS and PING frames
 * than limits.http2_max_control_frames per ten seconds (CVE-2019-9512, CVE-2019-9515) or more
 * CONTINUATION frames after one HEADERS than limits.http2_max_continuation_frames.
 */
#ifndef h2api__http2_guard_h
#define h2api__http2_guard_h

/** Connections the guard closed so far, process-wide. */
unsigned long h2api__http2_guard_refused(void);

#endif
