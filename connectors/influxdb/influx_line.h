/* influx_line.h — InfluxDB line protocol: turning a record value into one line, and reading
 * InfluxDB's replies (which lines it rejected, how long to wait). Pure code, no I/O.
 *
 * Line: measurement[,tag=value...] field=value[,field=value...] [timestamp in ns]
 * Escaping as InfluxDB specifies: measurement `,` and space; tag keys, tag values and field
 * keys `,` `=` and space; string field values `"` and `\`. */
#ifndef CD_INFLUX_LINE_H
#define CD_INFLUX_LINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialised = empty. */
struct influx_buf {
    char *p;
    size_t len, cap;
};

void influx_buf_add(struct influx_buf *b, const char *s, size_t n);
void influx_buf_free(struct influx_buf *b);

enum influx_esc {
    INFLUX_ESC_MEASUREMENT, /* , and space */
    INFLUX_ESC_KEY,         /* tag key, tag value, field key: , = and space */
    INFLUX_ESC_STRING,      /* string field value (without the quotes): " and \ */
};

/* Appends s[0..n) escaped for kind. */
void influx_escape(struct influx_buf *b, const char *s, size_t n, enum influx_esc kind);

/* How a record value becomes a point. Strings are borrowed from the caller. */
struct influx_map {
    const char *measurement_fmt;   /* ${topic} and ${value.<field>} placeholders */
    const char *const *tag_fields; /* values of these fields become tags */
    size_t n_tag_fields;
    const char *time_field; /* NULL or "" = the Kafka record timestamp */
};

/* Encodes one record value (a JSON object: a Connect struct or map) as one line, without a
 * newline, appended to out. record_ts_ms is the Kafka timestamp (-1 = none: the server's
 * time). Returns 0, or -1 with a message in err and out unchanged. */
int influx_line_encode(const struct influx_map *m, const char *topic, json_t *value,
                       int64_t record_ts_ms, struct influx_buf *out, char *err, size_t errlen);

/* The same line from a record value's JSON text (schemaless JsonConverter), without building
 * a tree: for a flat object of strings, numbers, booleans and nulls whose time, if any, is an
 * integer epoch field, and a measurement name without ${value.} placeholders. Returns 0 with
 * the line appended; 1 when it leaves the record to influx_line_encode (out unchanged): that
 * includes every record the usual path would refuse, so errors keep their one wording. */
int influx_line_encode_json(const struct influx_map *m, const char *topic, const char *raw,
                            size_t len, int64_t record_ts_ms, struct influx_buf *out);

/* An epoch number in s, ms, us or ns (told apart by magnitude) → ns. Returns 0, or -1 when
 * the time is outside what InfluxDB stores (int64 ns). */
int influx_epoch_int_to_ns(int64_t v, int64_t *ns);
int influx_epoch_to_ns(double v, int64_t *ns); /* fractions too: 1700000000.5 s */
/* ISO-8601 date-time (2026-01-01T10:00:00.123Z, with an offset, or without zone = UTC;
 * also a date alone) → ns since the epoch. Returns 0, -1 when not such a time or out of
 * InfluxDB's range. */
int influx_iso8601_to_ns(const char *s, int64_t *ns);

/* Which of the lines InfluxDB rejected, from the error text of a 400/422 reply (see
 * influx_error_text). It finds lines named in "unable to parse '<line>': ..." and lines whose
 * field the reply calls a type conflict ("input field \"f\" on measurement \"m\" is type T",
 * which names no line). lines[i] (lens[i] bytes) are the batch's lines as sent; rejected[i]
 * is set to 1 for each rejected one. Returns how many were newly marked. */
size_t influx_find_rejected(const char *text, const char *const *lines, const size_t *lens,
                            size_t n, unsigned char *rejected);

/* The reply's error text: the "error"/"message" member of a JSON body, else the body.
 * Returns a malloc'd string (caller frees). */
char *influx_error_text(const char *body, size_t len);

/* Retry-After value (delay-seconds) → ms; -1 when absent or not a number. */
int64_t influx_retry_after_ms(const char *value);

#endif
