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

#define CW_MAX_INLINE_FRAMES 8

/* The frames at pc, innermost first: more than one when the code was inlined (the inlined
 * functions, then the function they were inlined into). Returns how many (at least 1).
 * Strings live for the life of the process. `is_return_address` makes the lookup use pc-1,
 * so the line is that of the call, not the next statement. */
size_t cw_symbolize_code(uintptr_t pc, bool is_return_address, struct cw_frame out[CW_MAX_INLINE_FRAMES]);

/* The global variable containing addr: its name, the offset into it and its size. */
bool cw_symbolize_data(uintptr_t addr, const char **name, size_t *offset, size_t *size);

/* The exported function containing pc (dynamic symbol table only, no symbolizer round trip);
 * NULL if pc is not inside one. */
const char *cw_function_name(uintptr_t pc);

/* The address range of the loaded object (executable or library) containing pc. */
bool cw_module_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi);

/* The path of the executable or shared object containing pc, or NULL. */
const char *cw_module_path(uintptr_t pc);

/* Locate the symbolizer next to this library (call once at start-up). */
void cw_symbolizer_init(void);
/* After fork in the child: the parent's symbolizer connection is not ours. */
void cw_symbolizer_postfork_child(void);

#endif
