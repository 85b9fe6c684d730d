/* Shadow memory: for every 8 bytes of the program's memory, the last write and the last read
 * (thread, clock, size and offset, where). Allocated on demand per 4 MiB region of the
 * program's address space, so only touched memory costs anything (24 bytes per 8). */
#ifndef CW_SHADOW_H
#define CW_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

#define CW_CELL_VALID 1u
#define CW_CELL_ATOMIC 2u

struct cw_cell {
  uint32_t clock;     /* the accessing thread's clock at the access */
  uint16_t tid;       /* thread id (T number) */
  uint8_t info;       /* CW_CELL_* | offset in the word << 2 */
  uint8_t size;       /* bytes */
  cw_stack_id stack;  /* where */
} __attribute__((packed));

struct cw_shadow_word {
  struct cw_cell write, read;
};

/* The shadow word of the 8 bytes containing addr (created on demand; NULL if out of memory). */
struct cw_shadow_word *cw_shadow_word(uintptr_t addr);
/* The shadow word if it exists, without creating it. */
struct cw_shadow_word *cw_shadow_find(uintptr_t addr);
/* Forget [addr, addr+size). */
void cw_shadow_clear(uintptr_t addr, size_t size);
size_t cw_shadow_bytes(void);

#endif
