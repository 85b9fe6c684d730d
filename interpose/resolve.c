#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "interpose.h"

void *cw_resolve(const char *name, const char *version)
{
  void *fn = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  if (!fn && version)
    fn = dlsym(RTLD_NEXT, name);
  if (!fn) {
    char msg[160];
    int n = snprintf(msg, sizeof msg, "concwatch: cannot find the real %s; exiting\n", name);
    if (write(2, msg, (size_t)n) < 0) {
    }
    _exit(70);
  }
  return fn;
}
