/* sigaction and signal for SIGTRAP: while race sampling owns SIGTRAP (its watchpoints signal
 * with it), the program's own disposition is kept by the engine, which applies it to every
 * SIGTRAP that is not a watchpoint's; the program sees what it set, as without concwatch. */
#include <errno.h>
#include <signal.h>

#include "interpose.h"

CW_REAL(sigaction);

CW_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
  CW_ENSURE(sigaction);
  if (sig != SIGTRAP || !cw_sample_owns_sigtrap())
    return real_sigaction(sig, act, old);
  cw_sample_program_sigtrap(act, old);
  return 0;
}

CW_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
  struct sigaction act = {0}, old;
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART; /* glibc's signal() gives BSD semantics */
  sigemptyset(&act.sa_mask);
  if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
    errno = EINVAL;
    return SIG_ERR;
  }
  if (sigaction(sig, &act, &old) != 0)
    return SIG_ERR;
  return old.sa_handler;
}
