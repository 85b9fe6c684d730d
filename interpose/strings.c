/* memcpy, memmove, memset (and the string functions instrumented code calls): accesses to
 * memory when called from instrumented code. Everyone else pays one predictable branch. */
#include <string.h>

#include "interpose.h"

CW_REAL(memcpy);
CW_REAL(memmove);
CW_REAL(memset);
CW_REAL(strlen);
CW_REAL(strcpy);
CW_REAL(strcmp);

#define FROM_PROGRAM(pc) (__builtin_expect(cw_race_enabled, 0) && cw_race_from_instrumented(pc))

CW_EXPORT void *memcpy(void *dst, const void *src, size_t n)
{
  CW_ENSURE(memcpy);
  if (FROM_PROGRAM(CW_CALLER_PC)) {
    cw_race_range((uintptr_t)src, n, 0, CW_CALLER_PC);
    cw_race_range((uintptr_t)dst, n, 1, CW_CALLER_PC);
  }
  return real_memcpy(dst, src, n);
}

CW_EXPORT void *memmove(void *dst, const void *src, size_t n)
{
  CW_ENSURE(memmove);
  if (FROM_PROGRAM(CW_CALLER_PC)) {
    cw_race_range((uintptr_t)src, n, 0, CW_CALLER_PC);
    cw_race_range((uintptr_t)dst, n, 1, CW_CALLER_PC);
  }
  return real_memmove(dst, src, n);
}

CW_EXPORT void *memset(void *dst, int c, size_t n)
{
  CW_ENSURE(memset);
  if (FROM_PROGRAM(CW_CALLER_PC))
    cw_race_range((uintptr_t)dst, n, 1, CW_CALLER_PC);
  return real_memset(dst, c, n);
}

CW_EXPORT size_t strlen(const char *s)
{
  CW_ENSURE(strlen);
  size_t n = real_strlen(s);
  if (FROM_PROGRAM(CW_CALLER_PC))
    cw_race_range((uintptr_t)s, n + 1, 0, CW_CALLER_PC);
  return n;
}

CW_EXPORT char *strcpy(char *dst, const char *src)
{
  CW_ENSURE(strcpy);
  CW_ENSURE(strlen);
  if (FROM_PROGRAM(CW_CALLER_PC)) {
    size_t n = real_strlen(src) + 1;
    cw_race_range((uintptr_t)src, n, 0, CW_CALLER_PC);
    cw_race_range((uintptr_t)dst, n, 1, CW_CALLER_PC);
  }
  return real_strcpy(dst, src);
}

CW_EXPORT int strcmp(const char *a, const char *b)
{
  CW_ENSURE(strcmp);
  CW_ENSURE(strlen);
  if (FROM_PROGRAM(CW_CALLER_PC)) {
    cw_race_range((uintptr_t)a, real_strlen(a) + 1, 0, CW_CALLER_PC);
    cw_race_range((uintptr_t)b, real_strlen(b) + 1, 0, CW_CALLER_PC);
  }
  return real_strcmp(a, b);
}
