/* Runtime options, read once at start-up from CONCWATCH_OPTIONS ("key=value key=value"). */
#ifndef CW_OPTIONS_H
#define CW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

struct cw_options {
#define CW_OPT_STR(name, def, doc) const char *name;
#define CW_OPT_INT(name, def, lo, hi, doc) long name;
#define CW_OPT_BOOL(name, def, doc) bool name;
#define CW_OPT_CHOICE(name, def, choices, doc) const char *name;
#include "options.def"
#undef CW_OPT_STR
#undef CW_OPT_INT
#undef CW_OPT_BOOL
#undef CW_OPT_CHOICE
};

extern struct cw_options cw_opt;

enum cw_options_status { CW_OPTIONS_OK, CW_OPTIONS_ERROR, CW_OPTIONS_HELP };

/* Reset opts to the defaults, then apply `text`. On error, a one-line message naming the
 * key goes to err (NUL-terminated). Strings are copied into engine memory. */
enum cw_options_status cw_options_parse(const char *text, struct cw_options *opts, char *err,
                                        size_t errlen);

/* Write the option table (name, default, meaning) to fd: the `help` option. */
void cw_options_print_help(int fd);

/* Iterate over the option names (for the docs consistency test). NULL past the end. */
const char *cw_option_name(size_t index);

#endif
