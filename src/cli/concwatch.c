/* concwatch: run a program under the libconcwatch.so LD_PRELOAD shim.
 *
 *   concwatch [options] [--] program [args...]
 *
 * Puts the shim first in LD_PRELOAD, appends the options to
 * CONCWATCH_OPTIONS and execs the program, so the exit status is the
 * program's own.  Our own errors exit with 2 (127 if the program is not
 * found, like a shell) after a single "concwatch: ..." line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CONCWATCH_VERSION
#define CONCWATCH_VERSION "0.1.0"
#endif

#define SHIM_NAME "libconcwatch.so"
#define EXIT_USAGE 2
#define EXIT_NOT_FOUND 127

static const char usage_text[] =
    "usage: concwatch [options] [--] program [args...]\n"
    "\n"
    "Run PROGRAM with the concwatch race and deadlock detector preloaded.\n"
    "\n"
    "options:\n"
    "  --json PATH            also write the report as JSON to PATH (json=PATH)\n"
    "  --log PATH             write the text report to PATH (log_path=PATH)\n"
    "  -o, --option KEY=VALUE pass a runtime option through (repeatable)\n"
    "  -h, --help             show this help and exit\n"
    "      --version          show the version and exit\n"
    "\n"
    "The shim is " SHIM_NAME " next to this program, or $CONCWATCH_LIB.\n"
    "Options are appended to $CONCWATCH_OPTIONS; see docs/usage.md.\n";

static void die(int status, const char *format, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

static void die(int status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("concwatch: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(status);
}

static char *concat3(const char *a, const char *b, const char *c)
{
    char *s;
    if (asprintf(&s, "%s%s%s", a, b, c) < 0)
        die(EXIT_USAGE, "out of memory");
    return s;
}

/* ---- option parsing ---------------------------------------------------- */

/* Space-separated "key=value" words destined for CONCWATCH_OPTIONS. */
struct option_list {
    char *text;
};

static void add_option(struct option_list *options, const char *key_value)
{
    const char *equals = strchr(key_value, '=');
    if (equals == NULL || equals == key_value || equals[1] == '\0')
        die(EXIT_USAGE, "option must look like key=value: '%s'", key_value);
    /* The runtime splits CONCWATCH_OPTIONS at whitespace and commas. */
    if (strpbrk(key_value, " \t\n,") != NULL)
        die(EXIT_USAGE, "option must not contain spaces or commas: '%s'", key_value);
    char *old = options->text;
    options->text = concat3(old != NULL ? old : "", old != NULL ? " " : "", key_value);
    free(old);
}

/* Matches "--name VALUE" and "--name=VALUE"; advances *index past VALUE. */
static const char *flag_value(char **argv, int *index, const char *name)
{
    const char *arg = argv[*index];
    size_t length = strlen(name);
    if (strncmp(arg, name, length) != 0)
        return NULL;
    if (arg[length] == '=')
        return arg + length + 1;
    if (arg[length] != '\0')
        return NULL;
    if (argv[*index + 1] == NULL)
        die(EXIT_USAGE, "%s needs a value", name);
    return argv[++*index];
}

static void add_path_option(struct option_list *options, const char *key,
                            const char *path)
{
    char *key_value = concat3(key, "=", path);
    add_option(options, key_value);
    free(key_value);
}

/* Parses our flags; returns the index of the program name in argv. */
static int parse_flags(int argc, char **argv, struct option_list *options)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "--") == 0)
            return i + 1;
        if (arg[0] != '-' || arg[1] == '\0')
            return i; /* the program ("-" alone is a file name) */
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (strcmp(arg, "--version") == 0) {
            puts("concwatch " CONCWATCH_VERSION);
            exit(0);
        }
        if ((value = flag_value(argv, &i, "--json")) != NULL)
            add_path_option(options, "json", value);
        else if ((value = flag_value(argv, &i, "--log")) != NULL)
            add_path_option(options, "log_path", value);
        else if ((value = flag_value(argv, &i, "--option")) != NULL ||
                 (value = flag_value(argv, &i, "-o")) != NULL)
            add_option(options, value);
        else if (strncmp(arg, "-o", 2) == 0)
            add_option(options, arg + 2); /* -okey=value */
        else
            die(EXIT_USAGE, "unknown option '%s' (try 'concwatch --help')", arg);
    }
    return i;
}

/* ---- environment ------------------------------------------------------- */

/* The shim: $CONCWATCH_LIB if set, else libconcwatch.so next to us. */
static char *find_shim(void)
{
    const char *from_env = getenv("CONCWATCH_LIB");
    char candidate[PATH_MAX];
    if (from_env != NULL && from_env[0] != '\0') {
        snprintf(candidate, sizeof(candidate), "%s", from_env);
    } else {
        ssize_t n = readlink("/proc/self/exe", candidate, sizeof(candidate) - 1);
        if (n < 0)
            die(EXIT_USAGE, "cannot read /proc/self/exe: %s", strerror(errno));
        candidate[n] = '\0';
        char *slash = strrchr(candidate, '/');
        snprintf(slash + 1, sizeof(candidate) - (size_t)(slash + 1 - candidate),
                 "%s", SHIM_NAME);
    }
    /* ld.so resolves LD_PRELOAD against the program's cwd: use an absolute path. */
    char *shim = realpath(candidate, NULL);
    if (shim == NULL || access(shim, R_OK) != 0)
        die(EXIT_USAGE, "cannot find %s at %s (set CONCWATCH_LIB)", SHIM_NAME, candidate);
    /* ld.so splits LD_PRELOAD at spaces and colons. */
    if (strpbrk(shim, " :") != NULL)
        die(EXIT_USAGE, "LD_PRELOAD cannot hold a path with spaces or colons: %s", shim);
    return shim;
}

/* Sets NAME to "BEFORE<separator>AFTER", or just the one that is not empty. */
static void set_joined(const char *name, const char *before, const char *after,
                       const char *separator)
{
    char *value;
    if (before == NULL || before[0] == '\0')
        value = strdup(after);
    else if (after == NULL || after[0] == '\0')
        value = strdup(before);
    else
        value = concat3(before, separator, after);
    if (value == NULL || setenv(name, value, 1) != 0)
        die(EXIT_USAGE, "cannot set %s: %s", name, strerror(errno));
    free(value);
}

static void prepare_environment(const struct option_list *options)
{
    char *shim = find_shim();
    set_joined("LD_PRELOAD", shim, getenv("LD_PRELOAD"), ":");
    free(shim);
    /* Existing options first: ours come last, so they win. */
    if (options->text != NULL)
        set_joined("CONCWATCH_OPTIONS", getenv("CONCWATCH_OPTIONS"), options->text, " ");
}

int main(int argc, char **argv)
{
    struct option_list options = {NULL};
    int program = parse_flags(argc, argv, &options);
    if (program >= argc)
        die(EXIT_USAGE, "missing program (try 'concwatch --help')");

    prepare_environment(&options);
    execvp(argv[program], argv + program);
    if (errno == ENOENT)
        die(EXIT_NOT_FOUND, "%s: command not found", argv[program]);
    die(EXIT_USAGE, "cannot run %s: %s", argv[program], strerror(errno));
}
