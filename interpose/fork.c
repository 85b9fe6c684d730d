/* fork: the engine's own locks are held across it, so the child inherits consistent state. */
#include <unistd.h>

#include "interpose.h"

CW_REAL(fork);

CW_EXPORT pid_t fork(void)
{
  CW_ENSURE(fork);
  cw_fork_prepare();
  pid_t pid = real_fork();
  if (pid == 0)
    cw_fork_child();
  else
    cw_fork_parent();
  return pid;
}
