/* Backward decoding of the instruction before a data-watchpoint trap, with capstone. x86
 * instructions are 1 to 15 bytes long, so every start from next_pc-15 to next_pc-1 is tried;
 * a candidate counts when it decodes to exactly the bytes up to next_pc and has a memory
 * operand. Candidates whose effective address, computed from the trap's registers, falls on
 * the watched word win (that fails only when the instruction overwrote its own base register);
 * among equals the longest wins, so prefixes such as LOCK belong to the instruction. */
#include "decode.h"

#include <capstone/capstone.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/alloc.h"

static csh handle;
static cs_insn *insn;
static bool ready;

/* Capstone allocates through these: the engine's allocator, never the program's malloc. */
static void *mem_calloc(size_t n, size_t size) { return cw_alloc(n * size); }
static int mem_vsnprintf(char *s, size_t n, const char *fmt, va_list ap) { return vsnprintf(s, n, fmt, ap); }

bool cw_decode_init(void)
{
  if (ready)
    return true;
  cs_opt_mem mem = {cw_alloc, mem_calloc, cw_realloc, cw_free, mem_vsnprintf};
  if (cs_option(0, CS_OPT_MEM, (size_t)&mem) != CS_ERR_OK || cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
    return false;
  cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
  insn = cs_malloc(handle);
  ready = insn != NULL;
  return ready;
}

/* Capstone register -> ucontext register (64-bit names only; others do not form addresses in
 * the code compilers emit). */
static bool reg_value(x86_reg r, const greg_t *g, uintptr_t next_pc, uintptr_t *v)
{
  static const struct { x86_reg cs; int uc; } map[] = {
      {X86_REG_RAX, REG_RAX}, {X86_REG_RBX, REG_RBX}, {X86_REG_RCX, REG_RCX}, {X86_REG_RDX, REG_RDX},
      {X86_REG_RSI, REG_RSI}, {X86_REG_RDI, REG_RDI}, {X86_REG_RBP, REG_RBP}, {X86_REG_RSP, REG_RSP},
      {X86_REG_R8, REG_R8},   {X86_REG_R9, REG_R9},   {X86_REG_R10, REG_R10}, {X86_REG_R11, REG_R11},
      {X86_REG_R12, REG_R12}, {X86_REG_R13, REG_R13}, {X86_REG_R14, REG_R14}, {X86_REG_R15, REG_R15},
  };
  if (r == X86_REG_INVALID) {
    *v = 0;
    return true;
  }
  if (r == X86_REG_RIP) {
    *v = next_pc;
    return true;
  }
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (map[i].cs == r) {
      *v = (uintptr_t)g[map[i].uc];
      return true;
    }
  return false;
}

struct candidate {
  bool has_mem, address_matches, write, atomic;
  uint8_t size;
  uintptr_t address;
};

static struct candidate examine(const cs_insn *in, uintptr_t next_pc, uintptr_t watched, const greg_t *regs)
{
  struct candidate c = {0};
  const cs_x86 *x = &in->detail->x86;
  if (in->id == X86_INS_LEA || in->id == X86_INS_NOP)
    return c;
  for (int i = 0; i < x->op_count; i++) {
    const cs_x86_op *op = &x->operands[i];
    if (op->type != X86_OP_MEM)
      continue;
    c.has_mem = true;
    c.size = op->size;
    uintptr_t base, index;
    if (op->mem.segment == X86_REG_INVALID && reg_value(op->mem.base, regs, next_pc, &base) &&
        reg_value(op->mem.index, regs, next_pc, &index)) {
      uintptr_t ea = base + index * (uintptr_t)op->mem.scale + (uintptr_t)op->mem.disp;
      if (ea < watched + 8 && ea + op->size > watched) {
        c.address_matches = true;
        c.address = ea;
      }
    }
    if (op->access & CS_AC_WRITE)
      c.write = true;
  }
  c.atomic = c.has_mem && (x->prefix[0] == X86_PREFIX_LOCK || in->id == X86_INS_XCHG);
  if (c.atomic)
    c.write = true;
  return c;
}

/* The candidate of length len, if it decodes to exactly that many bytes and touches memory. */
static bool try_length(const uint8_t *code, size_t ncode, uintptr_t next_pc, size_t len, uintptr_t watched,
                       const greg_t *regs, struct candidate *c)
{
  const uint8_t *bytes = code + ncode - len;
  size_t size = len;
  uint64_t address = next_pc - len;
  if (len == 0 || len > ncode || !cs_disasm_iter(handle, &bytes, &size, &address, insn) || insn->size != len)
    return false;
  *c = examine(insn, next_pc, watched, regs);
  return c->has_mem;
}

static void fill(struct cw_access_kind *out, const struct candidate *c, uintptr_t next_pc, size_t len)
{
  out->pc = next_pc - len;
  out->decoded = true;
  out->write = c->write;
  out->atomic = c->atomic;
  out->size = c->size;
  out->address_matched = c->address_matches;
  out->address = c->address;
}

void cw_decode_access(const uint8_t *code, size_t ncode, uintptr_t next_pc, uintptr_t watched, const greg_t *regs,
                      struct cw_access_kind *out)
{
  memset(out, 0, sizeof *out);
  out->pc = next_pc - 1;
  if (!ready)
    return;
  int best_score = 0;
  struct candidate c;
  for (size_t len = 1; len <= ncode && len <= CW_DECODE_MAX; len++) {
    if (!try_length(code, ncode, next_pc, len, watched, regs, &c))
      continue;
    int score = (c.address_matches ? 100 : 1) + (int)len; /* longest wins among equals */
    if (score > best_score) {
      best_score = score;
      fill(out, &c, next_pc, len);
    }
  }
}

void cw_decode_access_known(const uint8_t *code, size_t ncode, uintptr_t next_pc, size_t len, uintptr_t watched,
                            const greg_t *regs, struct cw_access_kind *out)
{
  struct candidate c;
  memset(out, 0, sizeof *out);
  out->pc = next_pc - 1;
  if (ready && try_length(code, ncode, next_pc, len, watched, regs, &c))
    fill(out, &c, next_pc, len);
}
