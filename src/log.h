/*
 * The process log: one line per message on stderr, with a UTC timestamp and a level. Used by the
 * core and by the outbound client alike, which is why it sits on its own (client/ knows nothing
 * of the app or the server).
 */
#ifndef h2api__log_h
#define h2api__log_h

typedef enum en_h2api_log_level_t { H2API_LOG_ERROR = 0, H2API_LOG_WARN, H2API_LOG_INFO, H2API_LOG_DEBUG } h2api_log_level_t;

/**
 * Writes `fmt` (printf) as one line on stderr if `level` passes the level set by
 * h2api_log_set_level (INFO until then): "2026-01-02T03:04:05Z [warn] message". Thread-safe (one
 * write(2) per line); a line longer than 1 KiB is cut. A failed write is ignored.
 */
void h2api_log(h2api_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Sets the level h2api_log filters with (from conf->log.level); call before workers start. */
void h2api_log_set_level(h2api_log_level_t level);

#endif
