/* The stack depot: content-hashed, append-only storage of stacks. */
#include <string.h>

#include "../runtime/alloc.h"
#include "stack.h"

#include "../runtime/hash.h"

struct depot_entry {
  uint64_t hash;
  cw_stack_id id;
  uint32_t n;
  struct depot_entry *next_same_hash;
  UT_hash_handle hh;
  uintptr_t pcs[];
};

static cw_lock_t depot_lock = CW_LOCK_INIT;
static struct depot_entry *by_hash;
static struct depot_entry **by_id;
static uint32_t nentries, by_id_cap;

static uint64_t hash_pcs(const uintptr_t *pcs, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  for (size_t i = 0; i < n; i++) {
    h ^= pcs[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

static struct depot_entry *find_locked(uint64_t hash, const uintptr_t *pcs, size_t n)
{
  struct depot_entry *e;
  HASH_FIND(hh, by_hash, &hash, sizeof hash, e);
  for (; e; e = e->next_same_hash)
    if (e->n == n && !memcmp(e->pcs, pcs, n * sizeof *pcs))
      return e;
  return NULL;
}

cw_stack_id cw_stack_intern(const uintptr_t *pcs, size_t n)
{
  if (n == 0)
    return 0;
  uint64_t hash = hash_pcs(pcs, n);
  cw_lock_acquire(&depot_lock);
  struct depot_entry *e = find_locked(hash, pcs, n);
  if (!e) {
    e = cw_alloc(sizeof *e + n * sizeof *pcs);
    e->hash = hash;
    e->n = (uint32_t)n;
    memcpy(e->pcs, pcs, n * sizeof *pcs);
    struct depot_entry *head;
    HASH_FIND(hh, by_hash, &hash, sizeof hash, head);
    if (head) {
      e->next_same_hash = head->next_same_hash;
      head->next_same_hash = e;
    } else {
      HASH_ADD(hh, by_hash, hash, sizeof hash, e);
    }
    CW_GROW(by_id, by_id_cap, nentries + 1);
    by_id[nentries] = e;
    e->id = ++nentries;
  }
  cw_lock_release(&depot_lock);
  return e->id;
}

size_t cw_stack_get(cw_stack_id id, const uintptr_t **pcs)
{
  struct depot_entry *e = NULL;
  cw_lock_acquire(&depot_lock);
  if (id >= 1 && id <= nentries)
    e = by_id[id - 1];
  cw_lock_release(&depot_lock);
  if (!e) {
    *pcs = NULL;
    return 0;
  }
  *pcs = e->pcs;
  return e->n;
}

void cw_stack_prefork(void) { cw_lock_acquire(&depot_lock); }

void cw_stack_postfork(int in_child)
{
  if (in_child)
    cw_lock_reset(&depot_lock);
  else
    cw_lock_release(&depot_lock);
}
