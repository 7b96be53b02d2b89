/*
 * Send progress of a TCP socket, from the kernel (Linux): kept apart from server.c because
 * glibc's <netinet/tcp.h> declares an older struct tcp_info than <linux/tcp.h>, and the two
 * headers cannot be included together.
 */
#include <errno.h>
#include <stddef.h>
#include <linux/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "tcp_info.h"

int h2api__tcp_send_progress(int fd, uint64_t *bytes_acked, int *queued)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);
    if (ioctl(fd, SIOCOUTQ, queued) != 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return -errno;
    if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(info.tcpi_bytes_acked))
        return -ENOTSUP; /* a kernel older than 4.1 */
    *bytes_acked = info.tcpi_bytes_acked;
    return 0;
}
