#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "platform.h"

struct cw_options cw_opt;

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_CHOICE };

struct opt_desc {
  const char *name;
  enum opt_type type;
  size_t offset;
  const char *def_str;
  long def_int, lo, hi;
  const char *doc;
  const char *choices; /* "a|b" for OPT_CHOICE */
};

static const struct opt_desc table[] = {
#define CW_OPT_STR(n, def, doc) {#n, OPT_STR, offsetof(struct cw_options, n), def, 0, 0, 0, doc, NULL},
#define CW_OPT_INT(n, def, l, h, doc) {#n, OPT_INT, offsetof(struct cw_options, n), NULL, def, l, h, doc, NULL},
#define CW_OPT_BOOL(n, def, doc) {#n, OPT_BOOL, offsetof(struct cw_options, n), NULL, def, 0, 1, doc, NULL},
#define CW_OPT_CHOICE(n, def, ch, doc) {#n, OPT_CHOICE, offsetof(struct cw_options, n), def, 0, 0, 0, doc, ch},
#include "options.def"
#undef CW_OPT_STR
#undef CW_OPT_INT
#undef CW_OPT_BOOL
#undef CW_OPT_CHOICE
};

const char *cw_option_name(size_t index)
{
  return index < CW_ARRAY_LEN(table) ? table[index].name : NULL;
}

static void set_defaults(struct cw_options *opts)
{
  for (size_t i = 0; i < CW_ARRAY_LEN(table); i++) {
    char *field = (char *)opts + table[i].offset;
    if (table[i].type == OPT_STR || table[i].type == OPT_CHOICE)
      *(const char **)field = table[i].def_str;
    else if (table[i].type == OPT_INT)
      *(long *)field = table[i].def_int;
    else
      *(bool *)field = table[i].def_int != 0;
  }
}

static const struct opt_desc *find_option(const char *key, size_t keylen)
{
  for (size_t i = 0; i < CW_ARRAY_LEN(table); i++)
    if (strlen(table[i].name) == keylen && memcmp(table[i].name, key, keylen) == 0)
      return &table[i];
  return NULL;
}

static bool parse_long(const char *s, long *out)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end)
    return false;
  *out = v;
  return true;
}

static bool parse_bool(const char *s, bool *out)
{
  static const char *truthy[] = {"1", "true", "yes", "on"};
  static const char *falsy[] = {"0", "false", "no", "off"};
  for (size_t i = 0; i < CW_ARRAY_LEN(truthy); i++) {
    if (!strcmp(s, truthy[i]))
      return *out = true, true;
    if (!strcmp(s, falsy[i]))
      return *out = false, true;
  }
  return false;
}

static bool is_choice(const char *choices, const char *value)
{
  size_t n = strlen(value);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !memcmp(p, value, n))
      return true;
    p += len + (bar ? 1 : 0);
  }
  return false;
}

/* Apply one "key=value" token. */
static bool apply(struct cw_options *opts, const char *tok, size_t len, char *err, size_t errlen)
{
  const char *eq = memchr(tok, '=', len);
  if (!eq) {
    snprintf(err, errlen, "concwatch: option '%.*s' in CONCWATCH_OPTIONS has no value (write key=value)",
             (int)len, tok);
    return false;
  }
  const struct opt_desc *d = find_option(tok, (size_t)(eq - tok));
  if (!d) {
    snprintf(err, errlen, "concwatch: unknown option '%.*s' in CONCWATCH_OPTIONS (CONCWATCH_OPTIONS=help lists them)",
             (int)(eq - tok), tok);
    return false;
  }
  char value[512];
  size_t vlen = len - (size_t)(eq + 1 - tok);
  if (vlen >= sizeof value) {
    snprintf(err, errlen, "concwatch: value of option '%s' is too long", d->name);
    return false;
  }
  memcpy(value, eq + 1, vlen);
  value[vlen] = 0;
  char *field = (char *)opts + d->offset;
  if (d->type == OPT_CHOICE) {
    if (!is_choice(d->choices, value)) {
      snprintf(err, errlen, "concwatch: bad value '%s' for option '%s' (expected one of %s)", value,
               d->name, d->choices);
      return false;
    }
    *(const char **)field = cw_strdup(value);
    return true;
  }
  if (d->type == OPT_STR) {
    if (!vlen) {
      snprintf(err, errlen, "concwatch: option '%s' needs a non-empty value", d->name);
      return false;
    }
    *(const char **)field = cw_strdup(value);
    return true;
  }
  if (d->type == OPT_BOOL) {
    if (parse_bool(value, (bool *)field))
      return true;
    snprintf(err, errlen, "concwatch: bad value '%s' for option '%s' (expected 0 or 1)", value, d->name);
    return false;
  }
  long v;
  if (!parse_long(value, &v) || v < d->lo || v > d->hi) {
    snprintf(err, errlen, "concwatch: bad value '%s' for option '%s' (expected an integer from %ld to %ld)",
             value, d->name, d->lo, d->hi);
    return false;
  }
  *(long *)field = v;
  return true;
}

enum cw_options_status cw_options_parse(const char *text, struct cw_options *opts, char *err,
                                        size_t errlen)
{
  set_defaults(opts);
  if (errlen)
    err[0] = 0;
  if (!text)
    return CW_OPTIONS_OK;
  const char *p = text;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
      p++;
    if (!*p)
      return CW_OPTIONS_OK;
    const char *start = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != ',')
      p++;
    size_t len = (size_t)(p - start);
    if ((len == 4 && !memcmp(start, "help", 4)) || (len == 6 && !memcmp(start, "help=1", 6)))
      return CW_OPTIONS_HELP;
    if (!apply(opts, start, len, err, errlen))
      return CW_OPTIONS_ERROR;
  }
}

void cw_options_print_help(int fd)
{
  char line[512];
  int n = snprintf(line, sizeof line, "concwatch options (CONCWATCH_OPTIONS=\"key=value key=value\"):\n");
  cw_write_all(fd, line, (size_t)n);
  for (size_t i = 0; i < CW_ARRAY_LEN(table); i++) {
    const struct opt_desc *d = &table[i];
    char def[64];
    if (d->type == OPT_STR || d->type == OPT_CHOICE)
      snprintf(def, sizeof def, "%s", d->def_str ? d->def_str : "(none)");
    else
      snprintf(def, sizeof def, "%ld", d->def_int);
    n = snprintf(line, sizeof line, "  %-28s default %-8s %s\n", d->name, def, d->doc);
    cw_write_all(fd, line, (size_t)n);
  }
}
