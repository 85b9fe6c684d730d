/* concwatch-symbolizer: out-of-process address symbolizer.
 *
 * The runtime inside the target process must not call the program's malloc
 * while it reports, so it writes raw addresses to this helper over a pipe and
 * reads the names back, the way sanitizers use llvm-symbolizer.
 *
 * Protocol (line based, stdin -> stdout, exactly one answer line per request
 * line, flushed after each answer):
 *
 *   C <module-path> 0x<addr>   ->  <function>\t<file>\t<line>\t<column>
 *                                  [\t<function>\t<file>\t<line>\t<column>]...
 *       When addr is in inlined code, one group per function, innermost first:
 *       the inlined functions, then the function they were inlined into, each
 *       with the place of the call into the group before it.
 *   D <module-path> 0x<addr>   ->  <symbol>\t<offset-in-symbol>\t<symbol-size>
 *
 * <addr> is a link-time virtual address inside <module-path> (load bias
 * already removed; for return addresses, already minus one).  The path is
 * everything between the first and the last space, so it may contain spaces.
 * Unknown parts are "??" (names, files) or 0 (numbers).  A malformed request
 * gets the answer "??".  At EOF the program exits with status 0.
 */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNKNOWN "??"

/* One opened ELF file.  Each module gets its own Dwfl session placed at its
 * link-time addresses, so modules never overlap and no bias is applied. */
struct module {
    struct module *next;
    char *path;
    Dwfl *dwfl;
    Dwfl_Module *mod; /* NULL when the file could not be opened */
};

static struct module *module_cache;
static bool verbose;

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    /* Looks in the file itself, next to it (.gnu_debuglink), in .debug/,
     * and under /usr/lib/debug (by build-id and by debuglink). */
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* ---- module cache ------------------------------------------------------ */

/* For ET_DYN, base 0 with add_p_vaddr=true places the file at its own
 * p_vaddr; ET_EXEC ignores base.  Either way Dwfl addresses are the
 * link-time virtual addresses, exactly what the runtime sends. */
static Dwfl_Module *report_at_link_addresses(Dwfl *dwfl, const char *path)
{
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, path, path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    return mod;
}

static struct module *open_module(const char *path)
{
    struct module *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->path = strdup(path)) == NULL) {
        perror("concwatch-symbolizer");
        exit(1);
    }
    m->dwfl = dwfl_begin(&offline_callbacks);
    if (m->dwfl != NULL)
        m->mod = report_at_link_addresses(m->dwfl, path);
    if (m->mod == NULL && verbose)
        fprintf(stderr, "concwatch-symbolizer: %s: %s\n", path, dwfl_errmsg(-1));
    return m;
}

/* Returns the cached module for PATH, opening it on first use.  Failed opens
 * are cached too, so a bad path costs (and reports) only once. */
static Dwfl_Module *find_module(const char *path)
{
    for (struct module *m = module_cache; m != NULL; m = m->next)
        if (strcmp(m->path, path) == 0)
            return m->mod;
    struct module *m = open_module(path);
    m->next = module_cache;
    module_cache = m;
    return m->mod;
}

static void close_all_modules(void)
{
    while (module_cache != NULL) {
        struct module *m = module_cache;
        module_cache = m->next;
        if (m->dwfl != NULL)
            dwfl_end(m->dwfl);
        free(m->path);
        free(m);
    }
}

/* ---- code addresses ---------------------------------------------------- */

/* The compilation unit covering ADDR.  libdw 0.188 finds CUs only through
 * .debug_aranges, which clang does not emit by default, so fall back to
 * asking every CU whether it covers ADDR. */
static Dwarf_Die *find_cu(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
    if (cu != NULL)
        return cu;
    while ((cu = dwfl_module_nextcu(mod, cu, bias)) != NULL)
        if (dwarf_haspc(cu, addr - *bias) > 0)
            return cu;
    return NULL;
}

/* One function of an answer: inlined functions come with the place they
 * were called from in the function around them. */
struct code_location {
    const char *function, *file;
    int line, column;
};

#define MAX_INLINE_DEPTH 16

/* Source file number `index` of the CU, for DW_AT_call_file. */
static const char *cu_file(Dwarf_Die *cu, Dwarf_Word index)
{
    Dwarf_Files *files;
    size_t count;
    if (dwarf_getsrcfiles(cu, &files, &count) != 0 || index >= count)
        return NULL;
    return dwarf_filesrc(files, index, NULL, NULL);
}

static int attr_int(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute attr;
    Dwarf_Word value;
    if (dwarf_attr(die, name, &attr) == NULL || dwarf_formudata(&attr, &value) != 0)
        return 0;
    return (int)value;
}

/* The chain of functions at ADDR, innermost first: out[0] gets the name of
 * the innermost (possibly inlined) function; out[k+1] the function around
 * out[k], with the call site of out[k] as its position. Positions of out[0]
 * are left to the line table. Returns how many entries it filled. */
static bool is_function_scope(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

static int inline_chain(Dwarf_Die *cu, Dwarf_Addr cu_addr, struct code_location *out, int max)
{
    Dwarf_Die *scopes = NULL;
    int count = dwarf_getscopes(cu, cu_addr, &scopes);
    int first = 0;
    while (first < count && !is_function_scope(&scopes[first]))
        first++;
    if (first < count && dwarf_tag(&scopes[first]) == DW_TAG_inlined_subroutine) {
        /* dwarf_getscopes continues from an inlined instance into the scopes
         * of its abstract definition; the physical nesting (which function it
         * was inlined into) comes from the DIE tree itself. */
        Dwarf_Die *nested = NULL;
        int n = dwarf_getscopes_die(&scopes[first], &nested);
        if (n > 0) {
            free(scopes);
            scopes = nested;
            count = n;
            first = 0;
        }
    }
    int n = 0;
    for (int i = first; i < count && n < max; i++) {
        if (!is_function_scope(&scopes[i]))
            continue;
        int tag = dwarf_tag(&scopes[i]);
        /* dwarf_diename follows DW_AT_abstract_origin / DW_AT_specification. */
        out[n].function = dwarf_diename(&scopes[i]);
        n++;
        if (tag == DW_TAG_subprogram)
            break;
        if (n < max) { /* where this inlined copy was called from */
            out[n] = (struct code_location){NULL, NULL, 0, 0};
            Dwarf_Attribute attr;
            Dwarf_Word file;
            if (dwarf_attr(&scopes[i], DW_AT_call_file, &attr) != NULL &&
                dwarf_formudata(&attr, &file) == 0)
                out[n].file = cu_file(cu, file);
            out[n].line = attr_int(&scopes[i], DW_AT_call_line);
            out[n].column = attr_int(&scopes[i], DW_AT_call_column);
        }
    }
    free(scopes);
    return n;
}

/* The ELF symbol containing ADDR, for code without debug info. */
static const char *code_symbol_name(Dwfl_Module *mod, Dwarf_Addr addr)
{
    GElf_Off offset;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
    int type = name != NULL ? GELF_ST_TYPE(sym.st_info) : STT_NOTYPE;
    if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
        return NULL;
    return name;
}

/* File names come from libdw already joined with their directory entry, and
 * directory 0 is the compilation directory: they are as absolute as the
 * compiler recorded them (relative only under -fdebug-prefix-map and the
 * like), so there is nothing left to join. */
static void source_position(Dwarf_Die *cu, Dwarf_Addr cu_addr, struct code_location *where)
{
    Dwarf_Line *line = dwarf_getsrc_die(cu, cu_addr);
    if (line == NULL || (where->file = dwarf_linesrc(line, NULL, NULL)) == NULL)
        return;
    dwarf_lineno(line, &where->line);
    dwarf_linecol(line, &where->column);
}

/* Fills out[] (see inline_chain) and returns the number of entries, at
 * least 1. */
static int locate_code(Dwfl_Module *mod, Dwarf_Addr addr, struct code_location *out)
{
    int n = 0;
    out[0] = (struct code_location){NULL, NULL, 0, 0};
    Dwarf_Addr bias;
    Dwarf_Die *cu = find_cu(mod, addr, &bias);
    if (cu != NULL) {
        n = inline_chain(cu, addr - bias, out, MAX_INLINE_DEPTH);
        out[0].file = NULL;
        out[0].line = out[0].column = 0;
        source_position(cu, addr - bias, &out[0]);
    }
    if (n == 0) {
        out[0].function = code_symbol_name(mod, addr);
        n = 1;
    }
    return n;
}

/* Names and paths go on a TAB-separated line: keep TABs out of them. */
static void put_field(const char *s)
{
    if (s == NULL || s[0] == '\0')
        s = UNKNOWN;
    for (; *s != '\0'; s++)
        putchar(*s == '\t' || *s == '\n' ? ' ' : *s);
}

/* Symbol names without a version suffix: a variable copy-relocated into the
 * executable is "stderr@GLIBC_2.2.5" in its .symtab. */
static void put_symbol(const char *name)
{
    char plain[256];
    if (name != NULL && strchr(name, '@') != NULL && name[0] != '@') {
        snprintf(plain, sizeof(plain), "%.*s", (int)strcspn(name, "@"), name);
        name = plain;
    }
    put_field(name);
}

static void put_location(const struct code_location *where)
{
    int line = where->file != NULL && where->line > 0 ? where->line : 0;
    int column = where->file != NULL && where->column > 0 ? where->column : 0;
    put_symbol(where->function);
    putchar('\t');
    put_field(where->file);
    printf("\t%d\t%d", line, column);
}

static void answer_code(const char *path, Dwarf_Addr addr)
{
    struct code_location chain[MAX_INLINE_DEPTH] = {{NULL, NULL, 0, 0}};
    int n = 1;
    Dwfl_Module *mod = find_module(path);
    if (mod != NULL)
        n = locate_code(mod, addr, chain);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            putchar('\t');
        put_location(&chain[i]);
    }
    putchar('\n');
}

/* ---- data addresses ---------------------------------------------------- */

static bool is_data_symbol(const GElf_Sym *sym, GElf_Word shndx)
{
    int type = GELF_ST_TYPE(sym->st_info);
    if (shndx == SHN_UNDEF)
        return false;
    return type == STT_OBJECT || type == STT_COMMON || type == STT_NOTYPE;
}

static bool symbol_contains(GElf_Addr start, GElf_Xword size, GElf_Addr addr)
{
    if (size == 0)
        return addr == start;
    return addr >= start && addr - start < size;
}

/* How well a symbol names the bytes it covers: a sized object beats a
 * sizeless linker marker such as __bss_start, a global beats a local alias. */
static int symbol_rank(const GElf_Sym *sym)
{
    return (sym->st_size > 0) * 4 + (GELF_ST_TYPE(sym->st_info) == STT_OBJECT) * 2 +
           (GELF_ST_BIND(sym->st_info) != STB_LOCAL);
}

/* Symbol covering ADDR.  Nested symbols: the one starting closest to ADDR;
 * symbols starting at the same place: the best ranked. */
static const char *data_symbol(Dwfl_Module *mod, GElf_Addr addr, GElf_Addr *start,
                               GElf_Xword *size)
{
    const char *best = NULL;
    int best_rank = -1;
    int count = dwfl_module_getsymtab(mod);
    for (int i = 1; i < count; i++) {
        GElf_Sym sym;
        GElf_Addr value;
        GElf_Word shndx;
        const char *name =
            dwfl_module_getsym_info(mod, i, &sym, &value, &shndx, NULL, NULL);
        if (name == NULL || name[0] == '\0' || !is_data_symbol(&sym, shndx) ||
            !symbol_contains(value, sym.st_size, addr))
            continue;
        int rank = symbol_rank(&sym);
        if (best == NULL || value > *start || (value == *start && rank > best_rank)) {
            best = name;
            *start = value;
            *size = sym.st_size;
            best_rank = rank;
        }
    }
    return best;
}

static void answer_data(const char *path, GElf_Addr addr)
{
    const char *name = NULL;
    GElf_Addr start = 0;
    GElf_Xword size = 0;
    Dwfl_Module *mod = find_module(path);
    if (mod != NULL)
        name = data_symbol(mod, addr, &start, &size);
    put_symbol(name);
    printf("\t%" PRIu64 "\t%" PRIu64 "\n", name != NULL ? (uint64_t)(addr - start) : 0,
           name != NULL ? (uint64_t)size : 0);
}

/* ---- request loop ------------------------------------------------------ */

/* Splits "K <path> 0x<addr>" in place.  Returns false if malformed. */
static bool parse_request(char *line, char *kind, char **path, uint64_t *addr)
{
    char *last_space = strrchr(line, ' ');
    if (line[0] == '\0' || line[1] != ' ' || last_space <= line + 2)
        return false;
    char *end;
    *kind = line[0];
    *path = line + 2;
    *last_space = '\0';
    *addr = strtoull(last_space + 1, &end, 16);
    return end != last_space + 1 && *end == '\0';
}

static void handle_request(char *line)
{
    char kind;
    char *path;
    uint64_t addr;
    if (!parse_request(line, &kind, &path, &addr))
        puts(UNKNOWN);
    else if (kind == 'C')
        answer_code(path, addr);
    else if (kind == 'D')
        answer_data(path, addr);
    else
        puts(UNKNOWN);
    fflush(stdout);
}

int main(void)
{
    verbose = getenv("CONCWATCH_SYMBOLIZER_VERBOSE") != NULL;
    /* Never block a report on network downloads of debug info unless asked. */
    if (getenv("CONCWATCH_SYMBOLIZER_DEBUGINFOD") == NULL)
        unsetenv("DEBUGINFOD_URLS");

    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, stdin)) >= 0) {
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
            line[--length] = '\0';
        handle_request(line);
    }
    free(line);
    close_all_modules();
    return 0;
}
