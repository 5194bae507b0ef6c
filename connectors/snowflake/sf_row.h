/* sf_row.h — the Snowflake sink's JSON writer: compact JSON of a jansson value appended to a
 * growing buffer, as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes it (keys in the object's
 * order, '/' and non-ASCII as they are, invalid UTF-8 refused) except for reals, which take the
 * shortest text that reads back as the same double (40.7128, not 40.712800000000001). On the
 * sink path jansson's dump, and the printf of every real in it, cost about half the task
 * thread's CPU. */
#ifndef CD_SF_ROW_H
#define CD_SF_ROW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sf_buf {
    char *p;
    size_t len, cap;
};

void sf_buf_put(struct sf_buf *b, const char *s, size_t n);
void sf_buf_int(struct sf_buf *b, int64_t v);
/* A JSON string literal of s[0..n); -1 (nothing written) when s is not valid UTF-8. */
int sf_buf_str(struct sf_buf *b, const char *s, size_t n);
/* The JSON text of v; -1 when v holds a string that is not valid UTF-8 (b is then left with
 * part of it: the caller rolls len back). */
int sf_buf_json(struct sf_buf *b, const json_t *v);
void sf_buf_free(struct sf_buf *b);

/* Writes the JSON text of a finite double (at least 32 bytes of out); returns its length. */
size_t sf_format_double(char *out, double v);

#endif
