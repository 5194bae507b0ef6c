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

/* ---- a flat object, member by member, without building a tree ----
 * For a sink that maps schemaless JSON objects to rows itself. The scanner takes a subset of
 * what cd_json_parse takes and says -1 to everything else, so a caller that gives up on -1
 * and parses the record the usual way never accepts what the converter would refuse: an object
 * whose values are strings, numbers, true, false or null. It says -1 to nested objects and
 * arrays, to strings with \u0000 or a \u surrogate escape, to integers of more than 18 digits
 * and to reals with an exponent or more than 40 characters (so that none can overflow), and to
 * text after the object other than whitespace. Duplicate keys are the caller's to notice. */
enum cd_jkind { CDJ_STRING = 1, CDJ_INT, CDJ_REAL, CDJ_TRUE, CDJ_FALSE, CDJ_NULL };

struct cd_jmember {
    const char *key; /* the bytes between the quotes, escapes undecoded */
    size_t key_len;
    int key_esc;     /* the key holds a backslash escape */
    enum cd_jkind kind;
    const char *val; /* strings: the bytes between the quotes; else the literal's text */
    size_t val_len;
    int val_esc;     /* the string holds escapes: decode with cd_json_unescape */
};

struct cd_jscan {
    const unsigned char *p, *end;
    int started;
};

/* 0 when buf holds an object (after whitespace), -1 otherwise. */
int cd_jscan_start(struct cd_jscan *s, const void *buf, size_t len);
/* 1 with the next member in m, 0 after the last one (the text ended well), -1 as above. */
int cd_jscan_next(struct cd_jscan *s, struct cd_jmember *m);
/* Decodes a string body the scanner accepted into dst (room for n bytes: decoding never
 * grows it). Returns the decoded length. */
size_t cd_json_unescape(char *dst, const char *src, size_t n);

#endif
