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
 *   D <module-path> 0x<addr>   ->  <symbol>\t<offset-in-symbol>
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
#include <limits.h>
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

/* Name of the innermost function scope (an inlined instance if ADDR is in
 * inlined code) from DWARF, or NULL without debug info. */
static const char *dwarf_function_name(Dwfl_Module *mod, Dwarf_Addr addr)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
    if (cu == NULL)
        return NULL;

    Dwarf_Die *scopes = NULL;
    int count = dwarf_getscopes(cu, addr - bias, &scopes);
    const char *name = NULL;
    for (int i = 0; i < count && name == NULL; i++) {
        int tag = dwarf_tag(&scopes[i]);
        /* dwarf_diename follows DW_AT_abstract_origin / DW_AT_specification. */
        if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
            name = dwarf_diename(&scopes[i]);
    }
    free(scopes);
    return name;
}

static const char *function_name(Dwfl_Module *mod, Dwarf_Addr addr)
{
    const char *name = dwarf_function_name(mod, addr);
    if (name == NULL) {
        GElf_Off offset;
        GElf_Sym sym;
        name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
    }
    return name;
}

/* File of a line record as an absolute path when DWARF allows it. */
static const char *line_file(Dwfl_Line *line, int *lineno, int *column,
                             char *buf, size_t size)
{
    const char *file = dwfl_lineinfo(line, NULL, lineno, column, NULL, NULL);
    if (file == NULL || file[0] == '/')
        return file;
    const char *comp_dir = dwfl_line_comp_dir(line);
    if (comp_dir == NULL || comp_dir[0] == '\0')
        return file;
    snprintf(buf, size, "%s/%s", comp_dir, file);
    return buf;
}

/* Names and paths go on a TAB-separated line: keep TABs out of them. */
static void put_field(const char *s)
{
    if (s == NULL || s[0] == '\0')
        s = UNKNOWN;
    for (; *s != '\0'; s++)
        putchar(*s == '\t' || *s == '\n' ? ' ' : *s);
}

static void answer_code(const char *path, Dwarf_Addr addr)
{
    const char *function = NULL, *file = NULL;
    int lineno = 0, column = 0;
    char joined[PATH_MAX * 2];

    Dwfl_Module *mod = find_module(path);
    if (mod != NULL) {
        function = function_name(mod, addr);
        Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
        if (line != NULL)
            file = line_file(line, &lineno, &column, joined, sizeof(joined));
    }
    if (file == NULL)
        lineno = column = 0;
    put_field(function);
    putchar('\t');
    put_field(file);
    printf("\t%d\t%d\n", lineno > 0 ? lineno : 0, column > 0 ? column : 0);
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

/* Symbol covering ADDR; among aliases or nested symbols prefer the one that
 * starts closest to ADDR, then a global over a local one. */
static const char *data_symbol(Dwfl_Module *mod, GElf_Addr addr, GElf_Addr *start)
{
    const char *best = NULL;
    bool best_global = false;
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
        bool global = GELF_ST_BIND(sym.st_info) != STB_LOCAL;
        if (best == NULL || value > *start || (value == *start && global && !best_global)) {
            best = name;
            *start = value;
            best_global = global;
        }
    }
    return best;
}

static void answer_data(const char *path, GElf_Addr addr)
{
    const char *name = NULL;
    GElf_Addr start = 0;
    Dwfl_Module *mod = find_module(path);
    if (mod != NULL)
        name = data_symbol(mod, addr, &start);
    put_field(name);
    printf("\t%" PRIu64 "\n", name != NULL ? (uint64_t)(addr - start) : 0);
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
    (void)0;
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
