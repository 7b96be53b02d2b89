/*
 * The HTTP/1.1 request smuggling guard (http1_guard.c): it sits in front of libh2o's request
 * head parser and makes libh2o refuse ambiguous message framing (RFC 9112 §6.3) with a 400 and
 * a closed connection.
 */
#ifndef h2api__http1_guard_h
#define h2api__http1_guard_h

/** 1 once libh2o has parsed a request head through the guard (0 if it is not interposed). */
int h2api__http1_guard_active(void);

/** Request heads refused so far, process-wide. */
unsigned long h2api__http1_guard_refused(void);

#endif
