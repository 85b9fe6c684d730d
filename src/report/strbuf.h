/* A growable string in engine memory, for building reports. */
#ifndef CW_STRBUF_H
#define CW_STRBUF_H

#include <stddef.h>

struct cw_buf {
  char *data;
  size_t len, cap;
};

void cw_buf_append(struct cw_buf *b, const char *s, size_t n);
void cw_buf_puts(struct cw_buf *b, const char *s);
void cw_buf_printf(struct cw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal (with quotes); NULL becomes null. */
void cw_buf_json_string(struct cw_buf *b, const char *s);
void cw_buf_free(struct cw_buf *b);

#endif
