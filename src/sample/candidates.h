/* What sampling may watch: the program's own data. The program is the executable and the
 * shared objects outside the system library directories; its data is the writable global
 * objects those modules define (from their ELF symbol tables) and the heap blocks that their
 * code allocated with malloc, calloc or realloc. */
#ifndef CW_CANDIDATES_H
#define CW_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Find the program's modules, their code ranges and their global objects. Call from a normal
 * context (it reads ELF files and calls dl_iterate_phdr). Returns false if nothing was found. */
bool cw_candidates_scan_modules(void);

/* Whether pc is in the program's own code (not libc, the loader, concwatch or another system
 * library). Lock-free: safe in a signal handler. */
bool cw_candidates_program_pc(uintptr_t pc);
/* The code range holding a program pc. */
bool cw_candidates_code_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi);

/* One global object of the program. */
struct cw_global {
  uintptr_t addr;
  size_t size;
};
size_t cw_candidates_globals(const struct cw_global **out);

/* Heap blocks allocated by program code, from the malloc wrappers: a bounded table of recent
 * blocks (a newer block may push an older one out). */
extern bool cw_heap_tracking;
void cw_heap_allocated(uintptr_t addr, size_t size, uintptr_t pc);
void cw_heap_released(uintptr_t addr);
/* Whether the block that started at addr is still allocated (as far as the table knows). */
bool cw_heap_live(uintptr_t addr);
/* The tracked block holding addr: its start, size and the allocating call's return address. */
bool cw_heap_find(uintptr_t addr, uintptr_t *start, size_t *size, uintptr_t *pc);

/* Blocks allocated since *cursor (a sequence number the caller keeps), oldest first; returns
 * how many were written to out. */
struct cw_heap_block {
  uintptr_t addr;
  size_t size;
  uintptr_t pc;
};
size_t cw_heap_new_blocks(uint64_t *cursor, struct cw_heap_block *out, size_t max);

#endif
