/* Synchronization objects the program created with an init call (or sem_open): their kind,
 * whether they are process-shared, and the waiters of condition variables and barriers.
 * Statically initialized objects are not here; the lock graph and held stacks know them. */
#ifndef CW_OBJECTS_H
#define CW_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thread.h"

enum cw_object_kind { CW_OBJ_MUTEX, CW_OBJ_RWLOCK, CW_OBJ_SPIN, CW_OBJ_SEM, CW_OBJ_COND, CW_OBJ_BARRIER };

struct cw_object {
  uintptr_t addr;
  uint8_t kind;
  bool shared;            /* process-shared (or a named semaphore) */
  uint32_t waiters;       /* threads inside a wait on it (conditions, barriers) */
  const void *cond_mutex; /* the mutex the current waiters of a condition use */
  uint32_t cond_mutex_thread;
  cw_stack_id cond_mutex_stack;
};

void cw_object_register(const void *addr, enum cw_object_kind kind, bool shared);
void cw_object_forget(const void *addr);
bool cw_object_find(const void *addr, struct cw_object *copy);
bool cw_object_is_shared(const void *addr);
/* Cheap pre-check for free(): might [start, start+size) hold a registered object? */
bool cw_objects_may_be_in(const void *start, size_t size);
/* Copies of the registered objects in [start, start+size); returns how many (up to max). */
size_t cw_objects_in(const void *start, size_t size, struct cw_object *out, size_t max);

/* Waiters of a condition or barrier. cw_object_wait_begin returns the state before this
 * waiter joined (for the two-mutexes check). */
struct cw_object cw_object_wait_begin(const void *addr, enum cw_object_kind kind, const void *mutex,
                                      uint32_t thread, cw_stack_id stack);
void cw_object_wait_end(const void *addr);

void cw_objects_prefork(void);
void cw_objects_postfork(int in_child);

#endif
