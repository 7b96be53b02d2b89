/*
 * Request ids: the sanity check of a client's X-Request-ID and the generator of our own
 * (see reqid.h for the contract).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "reqid.h"

int h2api_request_id_is_sane(const char *id, size_t len)
{
    size_t i;

    if (len == 0 || len > H2API_REQUEST_ID_MAX_LEN)
        return 0;
    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/*
 * Seeds `state` from getrandom(2). Where getrandom is unavailable (ENOSYS on an old kernel, or
 * refused by a seccomp filter) the seed falls back to the clocks and the state's address: the
 * ids stay unique within the process, which is all they are for.
 */
static void seed(uint64_t state[2])
{
    ssize_t n;

    while ((n = getrandom(state, 2 * sizeof(uint64_t), 0)) < 0 && errno == EINTR)
        ;
    if (n != 2 * sizeof(uint64_t)) {
        struct timespec real, mono;
        clock_gettime(CLOCK_REALTIME, &real);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        state[0] = (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec;
        state[1] = ((uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec) ^ (uint64_t)(uintptr_t)state;
    }
    /* xorshift128+ never leaves the all-zero state */
    if (state[0] == 0 && state[1] == 0)
        state[0] = 0x9e3779b97f4a7c15u;
}

/* One step of xorshift128+ (Vigna, "Further scramblings of Marsaglia's xorshift generators", shifts 23/18/5). */
static uint64_t xorshift128plus(uint64_t state[2])
{
    uint64_t s1 = state[0];
    const uint64_t s0 = state[1];
    const uint64_t result = s0 + s1;

    state[0] = s0;
    s1 ^= s1 << 23;
    state[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return result;
}

void h2api_request_id_generate(uint64_t state[2], char *buf)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t words[2];
    size_t i;

    if (state[0] == 0 && state[1] == 0)
        seed(state);
    words[0] = xorshift128plus(state);
    words[1] = xorshift128plus(state);
    for (i = 0; i < H2API_REQUEST_ID_GENERATED_LEN; ++i)
        buf[i] = hex[(words[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
    buf[H2API_REQUEST_ID_GENERATED_LEN] = '\0';
}
