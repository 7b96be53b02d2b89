/*
 * Helpers shared by the libFuzzer targets in fuzz/ (not part of the server).
 *
 * FUZZ_CHECK states an invariant: when it does not hold, the target prints which one and the
 * values involved to stderr and aborts, which libFuzzer reports as a crash and saves the input
 * under .tmp/fuzz/artifacts/ (see fuzz/run).
 */
#ifndef h2api__fuzz_common_h
#define h2api__fuzz_common_h

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...) FUZZ_CHECK_DO(cond, (void)0, __VA_ARGS__)

/* FUZZ_CHECK that runs `details` (a statement printing the context) after the message. */
#define FUZZ_CHECK_DO(cond, details, ...)                                                                                          \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "\nFUZZ INVARIANT FAILED %s:%d: %s\n  ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                                          \
            fputc('\n', stderr);                                                                                                   \
            details;                                                                                                               \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

/* Prints `len` bytes of `s` to stderr with C escapes, for invariant messages. */
static inline void fuzz_print_bytes(const char *label, const char *s, size_t len)
{
    fprintf(stderr, "  %s (%zu bytes): \"", label, len);
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
}

static inline int fuzz_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Reference percent-decoder, written independently of src/router.c from RFC 3986 §2.1 and the
 * contract in router.h: "%XY" (hex of either case) is one byte, '+' is a space when
 * `plus_is_space`, a malformed escape or a NUL byte (raw or "%00") is an error.
 * `dst` has room for len + 1 bytes. @return decoded length, or -1.
 */
static inline long fuzz_ref_percent_decode(const char *src, size_t len, char *dst, int plus_is_space)
{
    size_t n = 0;
    for (size_t i = 0; i < len; ++i) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len) /* fewer than two characters after the '%' */
                return -1;
            int hi = fuzz_hex_value((unsigned char)src[i + 1]), lo = fuzz_hex_value((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0)
            return -1;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return (long)n;
}

#endif
