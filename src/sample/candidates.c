/* The program's modules, code ranges and global objects (read from the ELF files, without
 * libelf: the symbol tables are plain arrays in a read-only mapping of the file), and the
 * table of heap blocks allocated by program code. */
#include "candidates.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/alloc.h"
#include "../runtime/platform.h"

/* ---- code ranges ---- */

#define MAX_RANGES 128
struct range {
  uintptr_t lo, hi;
};
static struct range ranges[MAX_RANGES];
static _Atomic size_t nranges; /* entries below this are complete (release/acquire) */

bool cw_candidates_program_pc(uintptr_t pc)
{
  uintptr_t lo, hi;
  return cw_candidates_code_range(pc, &lo, &hi);
}

bool cw_candidates_code_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
  size_t n = atomic_load_explicit(&nranges, memory_order_acquire);
  for (size_t i = 0; i < n; i++)
    if (pc >= ranges[i].lo && pc < ranges[i].hi) {
      *lo = ranges[i].lo;
      *hi = ranges[i].hi;
      return true;
    }
  return false;
}

static void add_range(uintptr_t lo, uintptr_t hi)
{
  size_t n = atomic_load_explicit(&nranges, memory_order_relaxed);
  for (size_t i = 0; i < n; i++)
    if (ranges[i].lo == lo)
      return;
  if (n == MAX_RANGES)
    return;
  ranges[n] = (struct range){lo, hi};
  atomic_store_explicit(&nranges, n + 1, memory_order_release);
}

/* ---- globals ---- */

static struct cw_global *globals;
static size_t nglobals, globals_cap;
static uintptr_t scanned_bases[MAX_RANGES];
static size_t nscanned;

size_t cw_candidates_globals(const struct cw_global **out)
{
  *out = globals;
  return nglobals;
}

/* Names that are not the program's own variables: reserved names (compiler, libc and linker
 * symbols), versioned copies of library variables, crt's bookkeeping. */
static bool program_variable_name(const char *name)
{
  /* C++ names are mangled (_Z...): keep the variables, not the guard variables, vtables,
   * typeinfo and thread-local wrappers. */
  static const char *const cxx_internal[] = {"_ZGV", "_ZTV", "_ZTI", "_ZTS", "_ZTH", "_ZTW", "_ZTT", "_ZTC"};
  if (!strncmp(name, "_Z", 2)) {
    for (size_t i = 0; i < sizeof cxx_internal / sizeof cxx_internal[0]; i++)
      if (!strncmp(name, cxx_internal[i], 4))
        return false;
    return true;
  }
  if (!name[0] || (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z'))))
    return false;
  if (strchr(name, '@') || !strncmp(name, "completed.", 10))
    return false;
  return true;
}

struct elf_view {
  const unsigned char *base;
  size_t size;
  const Elf64_Ehdr *eh;
  const Elf64_Shdr *sh;
};

static const Elf64_Shdr *section(const struct elf_view *v, size_t i)
{
  return i < v->eh->e_shnum ? &v->sh[i] : NULL;
}

static bool section_ok(const struct elf_view *v, const Elf64_Shdr *s)
{
  return s->sh_type == SHT_NOBITS || (s->sh_offset <= v->size && s->sh_size <= v->size - s->sh_offset);
}

/* Addresses filled by copy relocations: library variables (stdout, environ) copied into the
 * executable. They belong to the library. */
static size_t copy_relocations(const struct elf_view *v, uintptr_t *out, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < v->eh->e_shnum; i++) {
    const Elf64_Shdr *s = section(v, i);
    if (s->sh_type != SHT_RELA || !section_ok(v, s) || s->sh_entsize != sizeof(Elf64_Rela))
      continue;
    const Elf64_Rela *r = (const Elf64_Rela *)(v->base + s->sh_offset);
    for (size_t k = 0; k < s->sh_size / sizeof *r && n < max; k++)
      if (ELF64_R_TYPE(r[k].r_info) == R_X86_64_COPY)
        out[n++] = r[k].r_offset;
  }
  return n;
}

static bool is_copy(uintptr_t value, const uintptr_t *copies, size_t ncopies)
{
  for (size_t i = 0; i < ncopies; i++)
    if (copies[i] == value)
      return true;
  return false;
}

static void add_symbols(const struct elf_view *v, const Elf64_Shdr *symtab, uintptr_t bias)
{
  const Elf64_Shdr *strtab = section(v, symtab->sh_link);
  if (!strtab || strtab->sh_type != SHT_STRTAB || strtab->sh_size == 0 || !section_ok(v, symtab) ||
      !section_ok(v, strtab) || symtab->sh_type == SHT_NOBITS || symtab->sh_entsize != sizeof(Elf64_Sym))
    return;
  uintptr_t copies[256];
  size_t ncopies = copy_relocations(v, copies, 256);
  const Elf64_Sym *syms = (const Elf64_Sym *)(v->base + symtab->sh_offset);
  const char *names = (const char *)(v->base + strtab->sh_offset);
  if (names[strtab->sh_size - 1] != 0)
    return; /* every name must end inside the table */
  for (size_t i = 1; i < symtab->sh_size / sizeof *syms; i++) {
    const Elf64_Sym *s = &syms[i];
    const Elf64_Shdr *in = section(v, s->st_shndx);
    if (ELF64_ST_TYPE(s->st_info) != STT_OBJECT || s->st_size == 0 || !in || s->st_name >= strtab->sh_size)
      continue;
    if ((in->sh_flags & (SHF_WRITE | SHF_ALLOC)) != (SHF_WRITE | SHF_ALLOC) || (in->sh_flags & SHF_TLS))
      continue;
    if (!program_variable_name(names + s->st_name) || is_copy(s->st_value, copies, ncopies))
      continue;
    CW_GROW(globals, globals_cap, nglobals + 1);
    globals[nglobals++] = (struct cw_global){bias + s->st_value, s->st_size};
  }
}

static void scan_file(const char *path, uintptr_t bias)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
    close(fd);
    return;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return;
  struct elf_view v = {map, (size_t)st.st_size, map, NULL};
  if (!memcmp(v.eh->e_ident, ELFMAG, SELFMAG) && v.eh->e_ident[EI_CLASS] == ELFCLASS64 &&
      v.eh->e_shentsize == sizeof(Elf64_Shdr) && v.eh->e_shoff < v.size &&
      (size_t)v.eh->e_shnum * sizeof(Elf64_Shdr) <= v.size - v.eh->e_shoff) {
    v.sh = (const Elf64_Shdr *)(v.base + v.eh->e_shoff);
    const Elf64_Shdr *symtab = NULL, *dynsym = NULL;
    for (size_t i = 0; i < v.eh->e_shnum; i++) {
      if (v.sh[i].sh_type == SHT_SYMTAB)
        symtab = &v.sh[i];
      else if (v.sh[i].sh_type == SHT_DYNSYM)
        dynsym = &v.sh[i];
    }
    if (symtab || dynsym) /* a stripped file still exports its global variables */
      add_symbols(&v, symtab ? symtab : dynsym, bias);
  }
  munmap(map, (size_t)st.st_size);
}

/* System libraries: their data and code are not the program's. */
static bool system_path(const char *path)
{
  static const char *const dirs[] = {"/lib/", "/lib64/", "/lib32/", "/usr/lib/", "/usr/lib64/", "/usr/lib32/",
                                     "/usr/libexec/"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (!strncmp(path, dirs[i], strlen(dirs[i])))
      return true;
  return false;
}

/* Libraries that are never the program wherever they are installed (a Nix or conda libc is
 * not under /usr/lib): the ones holding these functions, found by address. */
#define MAX_RUNTIME_BASES 8
static uintptr_t runtime_bases[MAX_RUNTIME_BASES];
static size_t nruntime_bases;

static void find_runtime_libraries(void)
{
  static const char *const functions[] = {"malloc", "pthread_create", "dlopen", "unw_backtrace",
                                          "cs_open", "_Unwind_Backtrace", "__cxa_throw", "_dl_find_object"};
  nruntime_bases = 0;
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    void *f = dlsym(RTLD_DEFAULT, functions[i]);
    Dl_info info;
    if (f && dladdr(f, &info) && nruntime_bases < MAX_RUNTIME_BASES)
      runtime_bases[nruntime_bases++] = (uintptr_t)info.dli_fbase;
  }
}

static bool runtime_library(uintptr_t base)
{
  for (size_t i = 0; i < nruntime_bases; i++)
    if (runtime_bases[i] == base)
      return true;
  return false;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *self_base)
{
  (void)size;
  const char *name = info->dlpi_name;
  bool is_exe = !name || !name[0];
  if (!is_exe && ((void *)info->dlpi_addr == self_base || !strchr(name, '/') || system_path(name)))
    return 0;
  /* The executable's first segment is at its base; a library's base is its load bias. */
  if (!is_exe && runtime_library(info->dlpi_addr))
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X))
      add_range(info->dlpi_addr + p->p_vaddr, info->dlpi_addr + p->p_vaddr + p->p_memsz);
  }
  for (size_t i = 0; i < nscanned; i++)
    if (scanned_bases[i] == info->dlpi_addr + 1)
      return 0;
  if (nscanned < MAX_RANGES)
    scanned_bases[nscanned++] = info->dlpi_addr + 1;
  char exe[4096];
  scan_file(is_exe ? (cw_executable_path(exe, sizeof exe) ? exe : "/proc/self/exe") : name, info->dlpi_addr);
  return 0;
}

bool cw_candidates_scan_modules(void)
{
  Dl_info self;
  void *self_base = dladdr((void *)cw_candidates_scan_modules, &self) ? self.dli_fbase : NULL;
  /* The executable is recognised by its empty name (a non-PIE one has bias 0). concwatch
   * itself is left out, unless it is linked into the executable (the unit tests). */
  find_runtime_libraries();
  dl_iterate_phdr(module_cb, self_base);
  return atomic_load(&nranges) > 0;
}

/* ---- heap blocks ---- */

bool cw_heap_tracking;

#define HEAP_TABLE 4096 /* power of two */
#define HEAP_LOG 1024   /* power of two */

struct heap_entry {
  _Atomic uintptr_t addr;
  _Atomic size_t size;
  _Atomic uintptr_t pc;
};
static struct heap_entry table[HEAP_TABLE];

/* A seqlock per entry: seq is 0 while it is written, its sequence number + 1 once complete;
 * the reader copies the fields and keeps the copy only if seq did not change meanwhile. */
struct log_entry {
  _Atomic uint64_t seq;
  _Atomic uintptr_t addr;
  _Atomic size_t size;
  _Atomic uintptr_t pc;
};
static struct log_entry heap_log[HEAP_LOG];
static _Atomic uint64_t log_next;

static size_t slot_of(uintptr_t addr) { return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 52) & (HEAP_TABLE - 1); }

void cw_heap_allocated(uintptr_t addr, size_t size, uintptr_t pc)
{
  if (!cw_candidates_program_pc(pc) || !size)
    return;
  struct heap_entry *e = &table[slot_of(addr)];
  atomic_store_explicit(&e->size, size, memory_order_relaxed);
  atomic_store_explicit(&e->pc, pc, memory_order_relaxed);
  atomic_store_explicit(&e->addr, addr, memory_order_release);
  uint64_t seq = atomic_fetch_add_explicit(&log_next, 1, memory_order_relaxed);
  struct log_entry *l = &heap_log[seq & (HEAP_LOG - 1)];
  atomic_store_explicit(&l->seq, 0, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&l->addr, addr, memory_order_relaxed);
  atomic_store_explicit(&l->size, size, memory_order_relaxed);
  atomic_store_explicit(&l->pc, pc, memory_order_relaxed);
  atomic_store_explicit(&l->seq, seq + 1, memory_order_release);
}

void cw_heap_released(uintptr_t addr)
{
  struct heap_entry *e = &table[slot_of(addr)];
  uintptr_t expected = addr;
  if (atomic_load_explicit(&e->addr, memory_order_relaxed) == addr)
    atomic_compare_exchange_strong(&e->addr, &expected, 0);
}

bool cw_heap_live(uintptr_t addr)
{
  return addr && atomic_load_explicit(&table[slot_of(addr)].addr, memory_order_acquire) == addr;
}

bool cw_heap_find(uintptr_t addr, uintptr_t *start, size_t *size, uintptr_t *pc)
{
  for (size_t i = 0; i < HEAP_TABLE; i++) {
    uintptr_t a = atomic_load_explicit(&table[i].addr, memory_order_acquire);
    size_t s = atomic_load_explicit(&table[i].size, memory_order_relaxed);
    if (a && addr >= a && addr - a < s) {
      *start = a;
      *size = s;
      *pc = atomic_load_explicit(&table[i].pc, memory_order_relaxed);
      return true;
    }
  }
  return false;
}

size_t cw_heap_new_blocks(uint64_t *cursor, struct cw_heap_block *out, size_t max)
{
  uint64_t end = atomic_load_explicit(&log_next, memory_order_acquire);
  if (end - *cursor > HEAP_LOG)
    *cursor = end - HEAP_LOG; /* the oldest ones were overwritten */
  size_t n = 0;
  for (; *cursor < end && n < max; (*cursor)++) {
    struct log_entry *l = &heap_log[*cursor & (HEAP_LOG - 1)];
    if (atomic_load_explicit(&l->seq, memory_order_acquire) != *cursor + 1)
      continue;
    out[n] = (struct cw_heap_block){atomic_load_explicit(&l->addr, memory_order_relaxed),
                                    atomic_load_explicit(&l->size, memory_order_relaxed),
                                    atomic_load_explicit(&l->pc, memory_order_relaxed)};
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&l->seq, memory_order_relaxed) == *cursor + 1)
      n++;
  }
  return n;
}
