/* The public annotation API (include/concwatch/concwatch.h), mapped onto engine events. */
#include "../include/concwatch/concwatch.h"

#include "interpose.h"
#include "../src/report/report.h"

static enum cw_lock_mode mode_of(unsigned flags)
{
  return flags & CONCWATCH_LOCK_READ ? CW_MODE_READ : CW_MODE_WRITE;
}

static enum cw_acquire_how how_of(unsigned flags)
{
  return flags & CONCWATCH_LOCK_TRY ? CW_ACQ_TRY : CW_ACQ_BLOCKING;
}

CW_EXPORT void concwatch_lock_created(const void *lock) { cw_lock_created(lock, CW_LOCK_MUTEX, 0); }

CW_EXPORT void concwatch_lock_destroyed(const void *lock) { cw_lock_destroyed(lock, CW_LOCK_MUTEX); }

CW_EXPORT void concwatch_lock_acquire_begin(const void *lock, unsigned flags)
{
  cw_lock_pre(lock, CW_LOCK_MUTEX, mode_of(flags), how_of(flags), CW_CALLER_PC, CW_CALLER_SP);
}

CW_EXPORT void concwatch_lock_acquired(const void *lock, unsigned flags)
{
  cw_lock_acquired_annotation(lock, mode_of(flags) == CW_MODE_READ, how_of(flags) == CW_ACQ_TRY,
                              CW_CALLER_PC, CW_CALLER_SP);
}

CW_EXPORT void concwatch_lock_released(const void *lock) { cw_unlock(lock, CW_LOCK_MUTEX, CW_CALLER_PC); }

CW_EXPORT void concwatch_thread_name(const char *name) { cw_thread_named(name); }

CW_EXPORT unsigned concwatch_findings(void) { return cw_report_findings(); }

CW_EXPORT void concwatch_happens_before(const volatile void *obj)
{
  cw_race_release(cw_thread_current(), (uintptr_t)obj);
}

CW_EXPORT void concwatch_happens_after(const volatile void *obj)
{
  cw_race_acquire(cw_thread_current(), (uintptr_t)obj);
}

CW_EXPORT void concwatch_ignore_accesses_begin(void) { cw_race_ignore(1); }
CW_EXPORT void concwatch_ignore_accesses_end(void) { cw_race_ignore(-1); }

CW_EXPORT void concwatch_benign_race(const volatile void *addr, unsigned long size)
{
  cw_race_benign((uintptr_t)addr, size);
}
