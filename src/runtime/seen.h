/* A set of 64-bit keys, for "report each distinct finding once". Thread-safe. */
#ifndef CW_SEEN_H
#define CW_SEEN_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "platform.h"

struct cw_seen_key {
  uint64_t key;
  UT_hash_handle hh;
};

struct cw_seen {
  cw_lock_t lock;
  struct cw_seen_key *keys;
};

#define CW_SEEN_INIT {CW_LOCK_INIT, NULL}

/* True if key was added before; adds it otherwise. */
static inline bool cw_seen_before(struct cw_seen *set, uint64_t key)
{
  cw_lock_acquire(&set->lock);
  struct cw_seen_key *k;
  HASH_FIND(hh, set->keys, &key, sizeof key, k);
  bool seen = k != NULL;
  if (!seen) {
    k = cw_alloc(sizeof *k);
    k->key = key;
    HASH_ADD(hh, set->keys, key, sizeof k->key, k);
  }
  cw_lock_release(&set->lock);
  return seen;
}

#endif
