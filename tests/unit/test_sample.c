/* Race sampling's building blocks: classifying the instruction before a watchpoint trap
 * (read, write, atomic, where it starts), the program's modules and globals, and the table of
 * heap blocks allocated by program code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sample/candidates.h"
#include "sample/decode.h"

/* ---- decoding ---- */

struct code {
  uint8_t bytes[64];
  size_t len;
};

/* Some unrelated instructions first (decoding goes backwards over them), then the access. */
static struct code code_with(const uint8_t *insn, size_t n)
{
  static const uint8_t before[] = {0x48, 0x89, 0xe5,       /* mov %rsp,%rbp */
                                   0x48, 0x83, 0xec, 0x10, /* sub $0x10,%rsp */
                                   0x90};                  /* nop */
  struct code c = {{0}, 0};
  memcpy(c.bytes, before, sizeof before);
  memcpy(c.bytes + sizeof before, insn, n);
  c.len = sizeof before + n;
  return c;
}

/* As the trap handler does: the (at most 15) bytes before the trap address, copied. */
static struct cw_access_kind classify(const struct code *c, uintptr_t watched, const greg_t *regs)
{
  struct cw_access_kind k;
  size_t n = c->len < CW_DECODE_MAX ? c->len : CW_DECODE_MAX;
  uint8_t copy[CW_DECODE_MAX];
  memcpy(copy, c->bytes + c->len - n, n);
  cw_decode_access(copy, n, (uintptr_t)c->bytes + c->len, watched, regs, &k);
  return k;
}

static uintptr_t insn_start(const struct code *c, size_t insn_len) { return (uintptr_t)c->bytes + c->len - insn_len; }

static void decode_setup(void **state)
{
  (void)state;
  assert_true(cw_decode_init());
}

static void decode_load(void **state)
{
  (void)state;
  static const uint8_t load[] = {0x48, 0x8b, 0x47, 0x10}; /* mov 0x10(%rdi),%rax */
  struct code c = code_with(load, sizeof load);
  long data[4];
  greg_t regs[NGREG] = {0};
  regs[REG_RDI] = (greg_t)(uintptr_t)data;
  struct cw_access_kind k = classify(&c, (uintptr_t)&data[2], regs);
  assert_true(k.decoded);
  assert_false(k.write);
  assert_false(k.atomic);
  assert_int_equal(k.size, 8);
  assert_int_equal(k.pc, insn_start(&c, sizeof load));
  assert_true(k.address_matched);
  assert_int_equal(k.address, (uintptr_t)&data[2]);
  /* Known start (the cache of where instructions begin): the same answer from one decoding,
   * with the address computed from these registers. */
  struct cw_access_kind again;
  regs[REG_RDI] = (greg_t)(uintptr_t)&data[1];
  cw_decode_access_known(c.bytes, c.len, (uintptr_t)c.bytes + c.len, sizeof load, (uintptr_t)&data[3], regs, &again);
  assert_true(again.decoded && again.address_matched);
  assert_int_equal(again.address, (uintptr_t)&data[3]);
  assert_int_equal(again.pc, k.pc);
}

static void decode_store(void **state)
{
  (void)state;
  static const uint8_t store[] = {0x89, 0x47, 0x08}; /* mov %eax,0x8(%rdi) */
  struct code c = code_with(store, sizeof store);
  long data[4];
  greg_t regs[NGREG] = {0};
  regs[REG_RDI] = (greg_t)(uintptr_t)data;
  struct cw_access_kind k = classify(&c, (uintptr_t)&data[1], regs);
  assert_true(k.decoded);
  assert_true(k.write);
  assert_false(k.atomic);
  assert_int_equal(k.size, 4);
  assert_int_equal(k.pc, insn_start(&c, sizeof store));
  assert_int_equal(k.address, (uintptr_t)&data[1]); /* 4 bytes of the 8 watched */
}

static void decode_rip_relative_increment(void **state)
{
  (void)state;
  static const uint8_t inc[] = {0x48, 0x83, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01}; /* addq $1,0x100(%rip) */
  struct code c = code_with(inc, sizeof inc);
  greg_t regs[NGREG] = {0};
  uintptr_t next = (uintptr_t)c.bytes + c.len;
  struct cw_access_kind k = classify(&c, next + 0x100, regs);
  assert_true(k.decoded);
  assert_true(k.write); /* a read-modify-write is a write */
  assert_false(k.atomic);
  assert_int_equal(k.pc, insn_start(&c, sizeof inc));
}

static void decode_lock_prefix_belongs_to_the_instruction(void **state)
{
  (void)state;
  static const uint8_t locked[] = {0xf0, 0x48, 0x83, 0x07, 0x01}; /* lock addq $1,(%rdi) */
  struct code c = code_with(locked, sizeof locked);
  long word = 0;
  greg_t regs[NGREG] = {0};
  regs[REG_RDI] = (greg_t)(uintptr_t)&word;
  struct cw_access_kind k = classify(&c, (uintptr_t)&word, regs);
  assert_true(k.atomic);
  assert_true(k.write);
  assert_int_equal(k.pc, insn_start(&c, sizeof locked)); /* not the addq without its prefix */
}

static void decode_xchg_is_atomic(void **state)
{
  (void)state;
  static const uint8_t xchg[] = {0x48, 0x87, 0x07}; /* xchg %rax,(%rdi) */
  struct code c = code_with(xchg, sizeof xchg);
  long word = 0;
  greg_t regs[NGREG] = {0};
  regs[REG_RDI] = (greg_t)(uintptr_t)&word;
  assert_true(classify(&c, (uintptr_t)&word, regs).atomic);
}

static void decode_base_register_overwritten(void **state)
{
  (void)state;
  static const uint8_t load[] = {0x48, 0x8b, 0x00}; /* mov (%rax),%rax: rax no longer the address */
  struct code c = code_with(load, sizeof load);
  long word = 0;
  greg_t regs[NGREG] = {0};
  regs[REG_RAX] = 12345;
  struct cw_access_kind k = classify(&c, (uintptr_t)&word, regs);
  assert_true(k.decoded);
  assert_false(k.write);
  assert_false(k.address_matched); /* so it is not used to judge */
  assert_int_equal(k.pc, insn_start(&c, sizeof load));
}

static void decode_nothing_without_code(void **state)
{
  (void)state;
  greg_t regs[NGREG] = {0};
  struct cw_access_kind k;
  uintptr_t next = 0x401000; /* a trap at the very start of a code mapping: no bytes before it */
  cw_decode_access(NULL, 0, next, 0x601000, regs, &k);
  assert_false(k.decoded);
  assert_int_equal(k.pc, next - 1);
}

/* ---- modules and globals ---- */

long unit_sampled_global[3];
long __reserved_name_global;

static void program_code_and_globals(void **state)
{
  (void)state;
  assert_true(cw_candidates_scan_modules());
  assert_true(cw_candidates_program_pc((uintptr_t)program_code_and_globals));
  assert_false(cw_candidates_program_pc((uintptr_t)snprintf)); /* libc */
  const struct cw_global *g;
  size_t n = cw_candidates_globals(&g);
  bool found = false, reserved = false;
  for (size_t i = 0; i < n; i++) {
    if (g[i].addr == (uintptr_t)unit_sampled_global && g[i].size == sizeof unit_sampled_global)
      found = true;
    if (g[i].addr == (uintptr_t)&__reserved_name_global)
      reserved = true;
  }
  assert_true(found);
  assert_false(reserved);
  unit_sampled_global[0] = __reserved_name_global = 1;
}

/* ---- heap blocks ---- */

static void heap_blocks(void **state)
{
  (void)state;
  assert_true(cw_candidates_scan_modules());
  uint64_t cursor = 0;
  struct cw_heap_block out[8];
  while (cw_heap_new_blocks(&cursor, out, 8)) {
  }
  uintptr_t program_pc = (uintptr_t)heap_blocks + 4, libc_pc = (uintptr_t)snprintf + 4;
  cw_heap_allocated(0x10000, 24, program_pc);
  cw_heap_allocated(0x20000, 64, libc_pc); /* not the program's allocation */
  assert_true(cw_heap_live(0x10000));
  assert_false(cw_heap_live(0x20000));
  uintptr_t start, pc;
  size_t size;
  assert_true(cw_heap_find(0x10008, &start, &size, &pc));
  assert_int_equal(start, 0x10000);
  assert_int_equal(size, 24);
  assert_int_equal(pc, program_pc);
  assert_false(cw_heap_find(0x10018, &start, &size, &pc));
  assert_int_equal(cw_heap_new_blocks(&cursor, out, 8), 1);
  assert_int_equal(out[0].addr, 0x10000);
  cw_heap_released(0x10000);
  assert_false(cw_heap_live(0x10000));
  assert_false(cw_heap_find(0x10008, &start, &size, &pc));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decode_setup),
      cmocka_unit_test(decode_load),
      cmocka_unit_test(decode_store),
      cmocka_unit_test(decode_rip_relative_increment),
      cmocka_unit_test(decode_lock_prefix_belongs_to_the_instruction),
      cmocka_unit_test(decode_xchg_is_atomic),
      cmocka_unit_test(decode_base_register_overwritten),
      cmocka_unit_test(decode_nothing_without_code),
      cmocka_unit_test(program_code_and_globals),
      cmocka_unit_test(heap_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
