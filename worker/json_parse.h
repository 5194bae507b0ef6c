/* json_parse.h — a fast JSON text → jansson tree parser for the record path.
 *
 * jansson's own parser reads through a per-character stream and a growing string buffer; on
 * the sink path it cost about 2 µs for a small record, most of the worker's CPU. This parser
 * walks the buffer directly and builds the same jansson tree in a fifth of the time. It accepts
 * exactly what json_loadb(JSON_DECODE_ANY) accepts: RFC 8259 text, valid UTF-8 only, integers
 * that fit in 64 bits (else an error, as jansson), no comments or trailing commas, nesting up
 * to JSON_PARSER_MAX_DEPTH, duplicate keys keep the last value, NUL in an object key refused. */
#ifndef CD_JSON_PARSE_H
#define CD_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

#define CD_JSON_ALLOW_NUL 1 /* strings may hold \u0000 (as jansson's JSON_ALLOW_NUL) */

/* Returns a new reference, or NULL with err's text, line, column (1-based) and position
 * (byte offset) set. */
json_t *cd_json_parse(const char *buf, size_t len, int flags, json_error_t *err);

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), 0 when invalid: overlong
 * forms, surrogates and code points above U+10FFFF are refused, as jansson does. */
int cd_utf8_len(const unsigned char *s, const unsigned char *end);

#endif
