/* Capturing stacks with libunwind's local unwinder. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "../runtime/options.h"
#include "stack.h"

#define MAX_FRAMES 256

static uintptr_t self_start, self_end; /* concwatch's own mapped code */

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  uintptr_t probe = (uintptr_t)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (probe >= start && probe < start + ph->p_memsz) {
      self_start = start;
      self_end = start + ph->p_memsz;
      return 1;
    }
  }
  return 0;
}

void cw_stack_init(void)
{
  cw_runtime_enter();
  dl_iterate_phdr(find_self, (void *)(uintptr_t)&cw_stack_init);
  cw_runtime_leave();
}

static int is_self(uintptr_t pc) { return pc >= self_start && pc < self_end; }

size_t cw_unwind(struct cw_unwound *out, size_t max)
{
  unw_context_t ctx;
  unw_cursor_t cursor;
  size_t n = 0;
  cw_runtime_enter();
  if (unw_getcontext(&ctx) == 0 && unw_init_local(&cursor, &ctx) == 0) {
    do {
      unw_word_t ip = 0, sp = 0;
      if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
        break;
      unw_get_reg(&cursor, UNW_REG_SP, &sp);
      if (n == 0 && is_self(ip))
        continue; /* still inside concwatch */
      out[n].pc = ip;
      out[n].sp = sp;
      n++;
    } while (n < max && unw_step(&cursor) > 0);
  }
  cw_runtime_leave();
  return n;
}

cw_stack_id cw_stack_capture(uintptr_t pc)
{
  struct cw_unwound frames[MAX_FRAMES];
  size_t depth = (size_t)cw_opt.stack_depth;
  size_t n = cw_unwind(frames, depth < MAX_FRAMES ? depth : MAX_FRAMES);
  uintptr_t pcs[MAX_FRAMES];
  size_t start = 0;
  /* An interposed call made through a libc-internal path (or a tail call) can leave frames
   * between concwatch and the program; start at the program's own call when we can see it. */
  for (size_t i = 0; pc && i < n; i++)
    if (frames[i].pc == pc) {
      start = i;
      break;
    }
  for (size_t i = start; i < n; i++)
    pcs[i - start] = frames[i].pc;
  return cw_stack_intern(pcs, n - start);
}

cw_stack_id cw_stack_rebuild(uintptr_t acquire_pc, uintptr_t acquire_sp,
                             const struct cw_unwound *now, size_t nnow)
{
  uintptr_t pcs[MAX_FRAMES];
  size_t n = 0, depth = (size_t)cw_opt.stack_depth;
  pcs[n++] = acquire_pc;
  for (size_t i = 0; i < nnow && n < depth && n < MAX_FRAMES; i++)
    if (now[i].sp > acquire_sp)
      pcs[n++] = now[i].pc;
  return cw_stack_intern(pcs, n);
}
