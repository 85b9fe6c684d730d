/* write/read on pipes and sockets (and send/recv and their variants): in instrumented programs,
 * what a thread did before sending happens before what the receiver does after receiving
 * (message passing). Everyone else pays one predictable branch.
 *
 * The channel: a pipe is one inode for both ends; a connected socket is its pair of addresses
 * (ordered, so both ends agree). Unnamed sockets (socketpair) have no addresses to tell them
 * apart: they share one channel per process, which can hide a race between unrelated socket
 * users but never reports one that is not there. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose.h"

CW_REAL(write);
CW_REAL(read);
CW_REAL(send);
CW_REAL(recv);
CW_REAL(sendto);
CW_REAL(recvfrom);
CW_REAL(sendmsg);
CW_REAL(recvmsg);

static uint64_t hash_bytes(const void *p, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
  return h;
}

static uintptr_t socket_key(int fd)
{
  struct sockaddr_storage a, b;
  socklen_t la = sizeof a, lb = sizeof b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  if (getsockname(fd, (struct sockaddr *)&a, &la) != 0 || getpeername(fd, (struct sockaddr *)&b, &lb) != 0)
    return (uintptr_t)&socket_key; /* unconnected or unnamed: the shared channel */
  uint64_t ha = hash_bytes(&a, la), hb = hash_bytes(&b, lb);
  if (ha == hb)
    return (uintptr_t)&socket_key;
  return (uintptr_t)((ha < hb ? ha * 31 + hb : hb * 31 + ha) | 1);
}

/* The channel of fd, or 0 for files and anything else that is not message passing. */
static uintptr_t channel_key(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0)
    return 0;
  if (S_ISFIFO(st.st_mode))
    return ((uintptr_t)st.st_dev * 0x9e3779b97f4a7c15ull) ^ (uintptr_t)st.st_ino ^ 1;
  if (S_ISSOCK(st.st_mode))
    return socket_key(fd);
  return 0;
}

static void sending(int fd, const void *buf, size_t n, uintptr_t pc)
{
  if (!cw_race_from_instrumented(pc))
    return;
  int saved = errno;
  uintptr_t key = channel_key(fd);
  if (key)
    cw_race_release(cw_thread_current(), key);
  if (buf)
    cw_race_range((uintptr_t)buf, n, 0, pc);
  errno = saved;
}

static void received(int fd, void *buf, ssize_t got, uintptr_t pc)
{
  if (got <= 0 || !cw_race_from_instrumented(pc))
    return;
  int saved = errno;
  uintptr_t key = channel_key(fd);
  if (key)
    cw_race_acquire(cw_thread_current(), key);
  if (buf)
    cw_race_range((uintptr_t)buf, (size_t)got, 1, pc);
  errno = saved;
}

CW_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
  CW_ENSURE(write);
  if (__builtin_expect(cw_race_enabled, 0))
    sending(fd, buf, n, CW_CALLER_PC);
  return real_write(fd, buf, n);
}

CW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
  CW_ENSURE(read);
  ssize_t got = real_read(fd, buf, n);
  if (__builtin_expect(cw_race_enabled, 0))
    received(fd, buf, got, CW_CALLER_PC);
  return got;
}

CW_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
  CW_ENSURE(send);
  if (__builtin_expect(cw_race_enabled, 0))
    sending(fd, buf, n, CW_CALLER_PC);
  return real_send(fd, buf, n, flags);
}

CW_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
  CW_ENSURE(recv);
  ssize_t got = real_recv(fd, buf, n, flags);
  if (__builtin_expect(cw_race_enabled, 0))
    received(fd, buf, got, CW_CALLER_PC);
  return got;
}

CW_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
  CW_ENSURE(sendto);
  if (__builtin_expect(cw_race_enabled, 0))
    sending(fd, buf, n, CW_CALLER_PC);
  return real_sendto(fd, buf, n, flags, to, tolen);
}

CW_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
  CW_ENSURE(recvfrom);
  ssize_t got = real_recvfrom(fd, buf, n, flags, from, fromlen);
  if (__builtin_expect(cw_race_enabled, 0))
    received(fd, buf, got, CW_CALLER_PC);
  return got;
}

/* Scatter/gather: the channel synchronizes; the buffers are not checked. */
CW_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
  CW_ENSURE(sendmsg);
  if (__builtin_expect(cw_race_enabled, 0))
    sending(fd, NULL, 0, CW_CALLER_PC);
  return real_sendmsg(fd, msg, flags);
}

CW_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
  CW_ENSURE(recvmsg);
  ssize_t got = real_recvmsg(fd, msg, flags);
  if (__builtin_expect(cw_race_enabled, 0))
    received(fd, NULL, got, CW_CALLER_PC);
  return got;
}
