/* What the instruction that just touched a watched word did: x86 data watchpoints trap after
 * the access, so the handler knows only the address of the next instruction. The accessing
 * instruction is found by decoding backwards (capstone) and checking its memory operand
 * against the watched address with the registers saved at the trap. */
#ifndef CW_DECODE_H
#define CW_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

struct cw_access_kind {
  uintptr_t pc;  /* start of the accessing instruction (next_pc - 1 when not decoded) */
  bool decoded;
  bool write;    /* it stores to memory (a read-modify-write counts as a write) */
  bool atomic;   /* LOCK-prefixed or XCHG with memory: an atomic read-modify-write */
  uint8_t size;  /* bytes accessed (0 when not decoded) */
  bool address_matched; /* its operand, from the trap's registers, is the watched word */
  uintptr_t address;     /* when address_matched: the first byte it accessed */
};

/* Set up the decoder; false if capstone cannot be opened. Not thread-safe: one caller. */
bool cw_decode_init(void);
/* Classify the access made by the instruction ending at next_pc, which touched the 8 bytes at
 * watched; regs are the general registers at the trap (for effective addresses). code holds
 * the ncode (at most 15) bytes that precede next_pc, copied at the trap: the code may be
 * unloaded by the time it is decoded. */
#define CW_DECODE_MAX 15
void cw_decode_access(const uint8_t *code, size_t ncode, uintptr_t next_pc, uintptr_t watched, const greg_t *regs,
                      struct cw_access_kind *out);
/* The same when the instruction is known to start at next_pc - len (one decoding, not 15). */
void cw_decode_access_known(const uint8_t *code, size_t ncode, uintptr_t next_pc, size_t len, uintptr_t watched,
                            const greg_t *regs, struct cw_access_kind *out);

#endif
