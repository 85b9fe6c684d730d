#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/alloc.h"

void cw_buf_append(struct cw_buf *b, const char *s, size_t n)
{
  CW_GROW(b->data, b->cap, b->len + n + 1);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void cw_buf_puts(struct cw_buf *b, const char *s) { cw_buf_append(b, s, strlen(s)); }

void cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
{
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof small) {
    cw_buf_append(b, small, (size_t)n);
    return;
  }
  CW_GROW(b->data, b->cap, b->len + (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void cw_buf_json_string(struct cw_buf *b, const char *s)
{
  if (!s) {
    cw_buf_puts(b, "null");
    return;
  }
  cw_buf_puts(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      cw_buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      cw_buf_puts(b, "\\n");
    else if (*p == '\t')
      cw_buf_puts(b, "\\t");
    else if (*p < 0x20)
      cw_buf_printf(b, "\\u%04x", *p);
    else
      cw_buf_append(b, (const char *)p, 1);
  }
  cw_buf_puts(b, "\"");
}

void cw_buf_free(struct cw_buf *b)
{
  cw_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
