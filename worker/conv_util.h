/* conv_util.h — helpers shared by the converters and transforms. */
#ifndef CD_CONV_UTIL_H
#define CD_CONV_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DECIMAL_LOGICAL "org.apache.kafka.connect.data.Decimal"
#define DATE_LOGICAL "org.apache.kafka.connect.data.Date"
#define TIME_LOGICAL "org.apache.kafka.connect.data.Time"
#define TIMESTAMP_LOGICAL "org.apache.kafka.connect.data.Timestamp"

/* Standard base64 with padding; decode also takes the URL-safe alphabet. malloc'd results;
 * decode returns NULL on a character outside the alphabet. */
char *b64_encode(const unsigned char *in, size_t n, size_t *outlen);
unsigned char *b64_decode(const char *in, size_t n, size_t *outlen);

/* Connect Decimal: a big-endian two's complement unscaled integer plus a scale.
 * decimal_from_bytes gives its plain text ("-12.34"); decimal_to_bytes the reverse (digits
 * beyond scale are dropped). malloc'd; decimal_to_bytes returns -1 on malformed text. */
char *decimal_from_bytes(const unsigned char *b, size_t n, int scale);
int decimal_to_bytes(const char *text, int scale, unsigned char **out, size_t *outlen);

/* Compact JSON like Jackson writes it: object keys in order, UTF-8 kept as is, reals in
 * their shortest round-trip form with ".0" for integral values (98.6, 72.0; jansson would
 * print 98.599999999999994). malloc'd, *len set. */
char *json_compact(const json_t *v, size_t *len);

/* Decimal text of v into out (at least 21 bytes), NUL-terminated, as %lld would write it;
 * returns its length. snprintf cost a tenth of a record encoder's time. */
size_t cd_int_text(char *out, int64_t v);

/* Java's Double.toString (72.0, 72.5, 1.0E10): shortest digits that read back, ".0" for
 * integral values, E notation outside [1e-3, 1e7). */
void java_double(double v, char *out, size_t n);
/* The same without the fast path for values with few decimals (the tests compare them). */
void java_double_general(double v, char *out, size_t n);

#endif
