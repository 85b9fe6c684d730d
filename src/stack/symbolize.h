/* Turning pcs into function, file:line and module, through the out-of-process
 * concwatch-symbolizer (the program's malloc must never run on our behalf, and libdw mallocs). */
#ifndef CW_SYMBOLIZE_H
#define CW_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cw_frame {
  uintptr_t pc;
  const char *function; /* "??" when unknown */
  const char *file;     /* NULL when unknown */
  int line;             /* 0 when unknown */
  const char *module;   /* path of the executable or shared object, NULL if unmapped */
};

/* Strings in the result live for the life of the process. `is_return_address` makes the
 * lookup use pc-1, so the line is that of the call, not the next statement. */
void cw_symbolize_code(uintptr_t pc, bool is_return_address, struct cw_frame *out);

/* Name of the global variable containing addr, with the offset into it; false if none. */
bool cw_symbolize_data(uintptr_t addr, const char **name, size_t *offset);

/* Locate the symbolizer next to this library (call once at start-up). */
void cw_symbolizer_init(void);
/* After fork in the child: the parent's symbolizer connection is not ours. */
void cw_symbolizer_postfork_child(void);

#endif
