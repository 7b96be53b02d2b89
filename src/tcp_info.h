/*
 * Kernel facts about a TCP socket (tcp_info.c), for the server's send timeout.
 */
#ifndef h2api__tcp_info_h
#define h2api__tcp_info_h

#include <stdint.h>

/**
 * Reads how far the peer of TCP socket `fd` has got: `*bytes_acked`, the bytes it has
 * acknowledged since the connection began (TCP_INFO tcpi_bytes_acked, RFC 4898
 * tcpEStatsAppHCThruOctetsAcked, Linux 4.1+), and `*queued`, the bytes in the send queue, sent
 * and unacknowledged or not yet sent (ioctl SIOCOUTQ). Returns 0; or a negative errno from
 * ioctl(2) / getsockopt(2) (-EBADF, -ENOTSOCK...), or -ENOTSUP on a kernel without
 * tcpi_bytes_acked, with the outputs unspecified.
 */
int h2api__tcp_send_progress(int fd, uint64_t *bytes_acked, int *queued);

#endif
