/* Drives concwatch-symbolizer through its pipes.
 *
 *   symbolizer_test probe SYMBOLIZER FIXTURE exec|dyn DEBUG [ALIAS]
 *       DEBUG is embedded, none, debuglink (separate file) or noaranges
 *       (embedded without .debug_aranges, as clang emits it).
 *       Runs FIXTURE, which prints addresses inside itself with the expected
 *       answers (see fixtures/probe.h), turns them into link-time addresses
 *       and checks every answer.  Also checks FIXTURE's ELF type and where
 *       its debug info lives, so the test cannot pass on a mis-built
 *       fixture.  ALIAS is a copy of FIXTURE (at a path with spaces) that
 *       must give the same answers.
 *
 *   symbolizer_test robust SYMBOLIZER ELF_FILE NON_ELF_FILE
 *       Bad modules, bad requests, EOF handling, stderr discipline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANSWER_TIMEOUT_MS 10000

static int failures;

static void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("FAIL: ", stdout);
    vprintf(format, args);
    putchar('\n');
    va_end(args);
    failures++;
}

static void fatal(const char *what)
{
    printf("FATAL: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- the symbolizer process -------------------------------------------- */

struct symbolizer {
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stdout */
    FILE *errors;   /* its stderr, a temporary file */
};

static struct symbolizer start_symbolizer(const char *path, bool verbose)
{
    struct symbolizer s;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0 || (s.errors = tmpfile()) == NULL)
        fatal("pipe/tmpfile");
    s.pid = fork();
    if (s.pid < 0)
        fatal("fork");
    if (s.pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(fileno(s.errors), 2);
        close(in[1]);
        close(out[0]);
        if (verbose)
            setenv("CONCWATCH_SYMBOLIZER_VERBOSE", "1", 1);
        else
            unsetenv("CONCWATCH_SYMBOLIZER_VERBOSE");
        execl(path, path, (char *)NULL);
        _exit(126);
    }
    close(in[0]);
    close(out[1]);
    s.to_child = in[1];
    s.from_child = out[0];
    return s;
}

/* Reads one line; waits at most ANSWER_TIMEOUT_MS, which also catches a
 * symbolizer that forgets to flush. */
static bool read_line(int fd, char *buf, size_t size)
{
    size_t used = 0;
    while (used + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0)
            return false;
        char c;
        if (read(fd, &c, 1) != 1)
            return false;
        if (c == '\n')
            break;
        buf[used++] = c;
    }
    buf[used] = '\0';
    return true;
}

static bool ask(struct symbolizer *s, const char *request, char *answer, size_t size)
{
    char line[PATH_MAX + 64];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    if (write(s->to_child, line, (size_t)n) != n)
        fatal("write to symbolizer");
    /* Without an answer the conversation is out of step: stop here. */
    if (!read_line(s->from_child, answer, size)) {
        printf("FATAL: no answer within %d ms (unflushed output, crash or EOF) to '%s'\n",
               ANSWER_TIMEOUT_MS, request);
        exit(1);
    }
    return true;
}

/* Closes stdin and checks a clean exit with no further output. */
static void finish_symbolizer(struct symbolizer *s)
{
    char extra[256];
    close(s->to_child);
    ssize_t n = read(s->from_child, extra, sizeof(extra) - 1);
    if (n > 0) {
        extra[n] = '\0';
        fail("unexpected output after the last answer: '%s'", extra);
    }
    close(s->from_child);
    int status;
    if (waitpid(s->pid, &status, 0) != s->pid)
        fatal("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("symbolizer did not exit with 0 at EOF (status 0x%x)", status);
}

static char *error_output(struct symbolizer *s)
{
    static char text[8192];
    rewind(s->errors);
    size_t n = fread(text, 1, sizeof(text) - 1, s->errors);
    text[n] = '\0';
    fclose(s->errors);
    return text;
}

/* ---- checking the fixture's build -------------------------------------- */

static bool elf_has_section(Elf *elf, const char *wanted)
{
    size_t names;
    if (elf_getshdrstrndx(elf, &names) != 0)
        return false;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        const char *name = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, names, shdr.sh_name) : NULL;
        if (name != NULL && strcmp(name, wanted) == 0)
            return true;
    }
    return false;
}

static void check_fixture_build(const char *path, const char *elf_type, const char *debug)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY);
    Elf *elf = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr ehdr;
    if (elf == NULL || gelf_getehdr(elf, &ehdr) == NULL) {
        fail("%s: not readable as ELF", path);
        return;
    }
    int want_type = strcmp(elf_type, "exec") == 0 ? ET_EXEC : ET_DYN;
    if (ehdr.e_type != want_type)
        fail("%s: fixture was built as e_type %d, expected %s", path, ehdr.e_type, elf_type);

    bool has_debug = elf_has_section(elf, ".debug_info");
    bool has_link = elf_has_section(elf, ".gnu_debuglink");
    bool has_aranges = elf_has_section(elf, ".debug_aranges");
    if (strcmp(debug, "embedded") == 0 && !has_debug)
        fail("%s: fixture has no .debug_info", path);
    if (strcmp(debug, "noaranges") == 0 && (!has_debug || has_aranges))
        fail("%s: fixture should have .debug_info without .debug_aranges", path);
    if (strcmp(debug, "none") == 0 && has_debug)
        fail("%s: fixture should have no debug info", path);
    if (strcmp(debug, "debuglink") == 0 && (has_debug || !has_link))
        fail("%s: fixture should have only a .gnu_debuglink (debug_info=%d link=%d)",
             path, has_debug, has_link);
    elf_end(elf);
    close(fd);
}

/* ---- probe mode -------------------------------------------------------- */

struct probe {
    char kind[2];
    char module[PATH_MAX];
    uint64_t runtime_addr, load_bias;
    char name[256], file[PATH_MAX];
    long number;
    char extra[256];
};

static bool parse_probe(char *line, struct probe *p)
{
    char *fields[8];
    char *rest = line;
    for (int i = 0; i < 8; i++)
        if ((fields[i] = strsep(&rest, "\t")) == NULL)
            return false;
    snprintf(p->kind, sizeof(p->kind), "%s", fields[0]);
    snprintf(p->module, sizeof(p->module), "%s", fields[1]);
    p->runtime_addr = strtoull(fields[2], NULL, 16);
    p->load_bias = strtoull(fields[3], NULL, 16);
    snprintf(p->name, sizeof(p->name), "%s", fields[4]);
    snprintf(p->file, sizeof(p->file), "%s", fields[5]);
    p->number = strtol(fields[6], NULL, 10);
    snprintf(p->extra, sizeof(p->extra), "%s", fields[7]);
    return true;
}

static void check_code_answer(const struct probe *p, const char *request, char *answer)
{
    char function[256], file[PATH_MAX];
    int line, column;
    if (sscanf(answer, "%255[^\t]\t%4095[^\t]\t%d\t%d", function, file, &line, &column) != 4) {
        fail("'%s': malformed code answer '%s'", request, answer);
        return;
    }
    bool unknown_file = strcmp(p->file, "??") == 0;
    const char *want_base = unknown_file ? "??" : basename(p->file);
    if (strcmp(function, p->name) != 0 || strcmp(basename(file), want_base) != 0 ||
        line != p->number)
        fail("'%s': got '%s', want %s %s:%ld", request, answer, p->name, want_base, p->number);
    if (!unknown_file && (file[0] != '/' || column <= 0))
        fail("'%s': want an absolute file name and a column, got '%s'", request, answer);
    if (unknown_file && (strcmp(file, "??") != 0 || column != 0))
        fail("'%s': want file ?? and column 0 without debug info, got '%s'", request, answer);
    /* Inlined code: the next group names the function it was inlined into. */
    char outer[300];
    snprintf(outer, sizeof(outer), "\t%s\t", p->extra);
    bool has_outer = strstr(answer + strlen(function), outer) != NULL;
    if (strcmp(p->extra, "-") != 0 && !has_outer)
        fail("'%s': want the caller %s as the next group, got '%s'", request, p->extra, answer);
}

static void check_data_answer(const struct probe *p, const char *request, const char *answer)
{
    char want[600];
    snprintf(want, sizeof(want), "%s\t%ld\t%s", p->name, p->number, p->extra);
    if (strcmp(answer, want) != 0)
        fail("'%s': got '%s', want '%s'", request, answer, want);
}

static void check_probe(struct symbolizer *s, const struct probe *p, const char *module)
{
    char request[PATH_MAX + 64], answer[PATH_MAX + 512];
    snprintf(request, sizeof(request), "%s %s 0x%" PRIx64, p->kind, module,
             p->runtime_addr - p->load_bias);
    if (!ask(s, request, answer, sizeof(answer)))
        return;
    printf("  %-60s -> %s\n", request, answer);
    if (p->kind[0] == 'C')
        check_code_answer(p, request, answer);
    else
        check_data_answer(p, request, answer);
}

static int probe_mode(char **argv, int argc)
{
    const char *symbolizer_path = argv[2], *fixture = argv[3];
    const char *alias = argc > 6 ? argv[6] : NULL;
    char fixture_real[PATH_MAX];
    check_fixture_build(fixture, argv[4], argv[5]);
    if (realpath(fixture, fixture_real) == NULL)
        fatal(fixture);

    FILE *output = popen(fixture, "r");
    if (output == NULL)
        fatal("popen fixture");
    struct symbolizer s = start_symbolizer(symbolizer_path, false);
    char line[2 * PATH_MAX];
    int probes = 0, code = 0, data = 0;
    while (fgets(line, sizeof(line), output) != NULL) {
        struct probe p;
        line[strcspn(line, "\n")] = '\0';
        if (!parse_probe(line, &p)) {
            fail("bad fixture line '%s'", line);
            continue;
        }
        probes++;
        p.kind[0] == 'C' ? code++ : data++;
        check_probe(&s, &p, p.module);
        if (alias != NULL && strcmp(p.module, fixture_real) == 0)
            check_probe(&s, &p, alias);
    }
    if (pclose(output) != 0)
        fail("fixture %s failed", fixture);
    if (code < 3 || data < 2)
        fail("fixture printed too few probes (%d code, %d data)", code, data);
    finish_symbolizer(&s);
    const char *errors = error_output(&s);
    if (errors[0] != '\0')
        fail("symbolizer wrote to stderr without CONCWATCH_SYMBOLIZER_VERBOSE: %s", errors);
    printf("%d probes checked\n", probes);
    return failures == 0 ? 0 : 1;
}

/* ---- robust mode ------------------------------------------------------- */

static void expect(struct symbolizer *s, const char *request, const char *want)
{
    char answer[PATH_MAX];
    if (ask(s, request, answer, sizeof(answer)) && strcmp(answer, want) != 0)
        fail("'%s': got '%s', want '%s'", request, answer, want);
}

static void send_bad_requests(struct symbolizer *s, const char *elf_file,
                              const char *non_elf_file)
{
    char request[PATH_MAX + 64];
    expect(s, "C /nonexistent/libnothing.so 0x1000", "??\t??\t0\t0");
    expect(s, "D /nonexistent/libnothing.so 0x1000", "??\t0\t0");
    expect(s, "C /nonexistent/libnothing.so 0x2000", "??\t??\t0\t0");
    expect(s, "C / 0x10", "??\t??\t0\t0");
    snprintf(request, sizeof(request), "C %s 0x10", non_elf_file);
    expect(s, request, "??\t??\t0\t0");
    snprintf(request, sizeof(request), "C %s 0xffffffffff00", elf_file);
    expect(s, request, "??\t??\t0\t0");
    snprintf(request, sizeof(request), "D %s 0x0", elf_file);
    expect(s, request, "??\t0\t0");
    snprintf(request, sizeof(request), "X %s 0x10", elf_file);
    expect(s, request, "??");
    snprintf(request, sizeof(request), "C %s zzz", elf_file);
    expect(s, request, "??");
    snprintf(request, sizeof(request), "C %s", elf_file);
    expect(s, request, "??");
    expect(s, "", "??");
    expect(s, "C", "??");
}

static int count_lines_containing(const char *text, const char *needle)
{
    int count = 0;
    for (const char *line = text; *line != '\0';) {
        const char *end = strchrnul(line, '\n');
        char *hit = memmem(line, (size_t)(end - line), needle, strlen(needle));
        count += hit != NULL;
        line = *end != '\0' ? end + 1 : end;
    }
    return count;
}

static int robust_mode(char **argv)
{
    const char *symbolizer_path = argv[2];
    for (int verbose = 0; verbose <= 1; verbose++) {
        struct symbolizer s = start_symbolizer(symbolizer_path, verbose);
        send_bad_requests(&s, argv[3], argv[4]);
        finish_symbolizer(&s);
        const char *errors = error_output(&s);
        if (!verbose && errors[0] != '\0')
            fail("stderr not empty without CONCWATCH_SYMBOLIZER_VERBOSE: %s", errors);
        if (verbose && count_lines_containing(errors, "/nonexistent/libnothing.so") != 1)
            fail("verbose mode must report a bad module exactly once, stderr was: %s", errors);
    }
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 6 && strcmp(argv[1], "probe") == 0)
        return probe_mode(argv, argc);
    if (argc == 5 && strcmp(argv[1], "robust") == 0)
        return robust_mode(argv);
    fprintf(stderr, "usage: see the comment at the top of symbolizer_test.c\n");
    return 2;
}
