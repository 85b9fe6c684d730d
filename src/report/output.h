/* Where reports go: stderr or log_path for text, json= for the JSON document. Files are
 * written as findings happen and the JSON document is valid after every write. */
#ifndef CW_OUTPUT_H
#define CW_OUTPUT_H

#include <stddef.h>

void cw_output_init(void);
void cw_output_text(const char *s, size_t n);
void cw_output_json_finding(const char *object, size_t n);
/* After fork, in the child: with %p in a path, the child gets its own files. */
void cw_output_postfork_child(void);

/* Expand %p (pid) and %% in a path pattern. Exposed for the unit tests. */
void cw_output_expand_path(const char *pattern, int pid, char *out, size_t cap);

#endif
