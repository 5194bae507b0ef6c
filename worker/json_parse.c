/* json_parse.c — see json_parse.h. A recursive-descent parser over the input bytes; strings
 * without escapes are handed to jansson straight from the input, the others are decoded into
 * one scratch buffer reused for the whole document. */
#include "json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jp {
    const unsigned char *start, *p, *end;
    int flags;
    int depth;
    json_error_t *err;
    char *scratch; /* decoded string, reused */
    size_t cap, len;
};

static void fail(struct jp *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct jp *j, const char *fmt, ...)
{
    json_error_t *e = j->err;
    if (!e || e->text[0])
        return; /* keep the first, innermost message */
    int line = 1, col = 1;
    for (const unsigned char *c = j->start; c < j->p && c < j->end; c++) {
        if (*c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    e->line = line;
    e->column = col;
    e->position = (int)(j->p - j->start);
    snprintf(e->source, sizeof(e->source), "<buffer>");
}

static void skip_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

int cd_utf8_len(const unsigned char *s, const unsigned char *end)
{
    int n;
    uint32_t cp;
    if (*s >= 0xC2 && *s <= 0xDF) {
        n = 2;
        cp = *s & 0x1F;
    } else if (*s >= 0xE0 && *s <= 0xEF) {
        n = 3;
        cp = *s & 0x0F;
    } else if (*s >= 0xF0 && *s <= 0xF4) {
        n = 4;
        cp = *s & 0x07;
    } else {
        return 0;
    }
    if (end - s < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int scratch_put(struct jp *j, const void *s, size_t n)
{
    if (!n)
        return 0;
    if (j->len + n > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n)
            cap *= 2;
        char *b = realloc(j->scratch, cap);
        if (!b)
            return -1;
        j->scratch = b;
        j->cap = cap;
    }
    memcpy(j->scratch + j->len, s, n);
    j->len += n;
    return 0;
}

static int hex4(const unsigned char *s, const unsigned char *end, uint32_t *out)
{
    if (end - s < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (c | 0x20) - 'a' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Writes code point cp as UTF-8 into b (room for 4); returns the length. */
static size_t utf8_encode(uint32_t cp, unsigned char *b)
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = 0xC0 | (cp >> 6);
        b[1] = 0x80 | (cp & 0x3F);
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = 0xE0 | (cp >> 12);
        b[1] = 0x80 | ((cp >> 6) & 0x3F);
        b[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    b[0] = 0xF0 | (cp >> 18);
    b[1] = 0x80 | ((cp >> 12) & 0x3F);
    b[2] = 0x80 | ((cp >> 6) & 0x3F);
    b[3] = 0x80 | (cp & 0x3F);
    return 4;
}

static int put_utf8(struct jp *j, uint32_t cp)
{
    unsigned char b[4];
    return scratch_put(j, b, utf8_encode(cp, b));
}

/* \uXXXX at j->p (just after the backslash-u), with a surrogate pair when there is one. */
static int unicode_escape(struct jp *j)
{
    uint32_t cp, lo;
    if (hex4(j->p, j->end, &cp) < 0) {
        fail(j, "invalid escape");
        return -1;
    }
    j->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(j, "invalid Unicode '\\u%04X'", (unsigned)cp);
        return -1;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
            hex4(j->p + 2, j->end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
            fail(j, "invalid Unicode '\\u%04X'", (unsigned)cp);
            return -1;
        }
        j->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0 && !(j->flags & CD_JSON_ALLOW_NUL)) {
        fail(j, "\\u0000 is not allowed without JSON_ALLOW_NUL");
        return -1;
    }
    return put_utf8(j, cp);
}

static int escape(struct jp *j)
{
    static const char plain[] = "\"\\/bfnrt", made[] = "\"\\/\b\f\n\r\t";
    if (j->p >= j->end) {
        fail(j, "premature end of input in string");
        return -1;
    }
    unsigned char c = *j->p++;
    if (c == 'u')
        return unicode_escape(j);
    const char *at = c ? strchr(plain, c) : NULL;
    if (!at) {
        j->p--;
        fail(j, "invalid escape");
        return -1;
    }
    return scratch_put(j, &made[at - plain], 1);
}

/* One character of a string body at j->p that is not a quote: copied or decoded into the
 * scratch buffer when copying is on. Returns 1 at the closing quote, 0 to go on, -1 on error. */
static int string_char(struct jp *j, int copy)
{
    if (j->p >= j->end) {
        fail(j, "premature end of input in string");
        return -1;
    }
    unsigned char c = *j->p;
    if (c == '"')
        return 1;
    if (c == '\\') {
        j->p++;
        return escape(j);
    }
    if (c < 0x20) {
        fail(j, "control character 0x%x in string", c);
        return -1;
    }
    int n = 1;
    if (c >= 0x80 && !(n = cd_utf8_len(j->p, j->end))) {
        fail(j, "invalid UTF-8 in string");
        return -1;
    }
    if (copy && scratch_put(j, j->p, n) < 0)
        return -1;
    j->p += n;
    return 0;
}

/* Past the printable ASCII at p other than quote and backslash: most of a typical string,
 * which then needs no per-character call. */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
    /* eight bytes at a time while none is a quote, a backslash, a control character or
     * non-ASCII (the tests may flag a plain byte after one that is not, never miss one) */
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t v, q, b;
        memcpy(&v, p, 8);
        q = v ^ (ones * '"');
        b = v ^ (ones * '\\');
        if ((v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high)
            break;
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* The string at j->p (on its opening quote). *s points into the input when it holds no escape,
 * else into the scratch buffer (valid until the next string). */
static int parse_string(struct jp *j, const char **s, size_t *n)
{
    const unsigned char *body = ++j->p;
    int rc = 0;
    while ((j->p = plain_run(j->p, j->end)) < j->end && *j->p != '\\' &&
           (rc = string_char(j, 0)) == 0)
        ;
    if (rc < 0)
        return -1;
    if (j->p >= j->end) {
        fail(j, "premature end of input in string");
        return -1;
    }
    if (*j->p == '"') {
        *s = (const char *)body;
        *n = (size_t)(j->p++ - body);
        return 0;
    }
    j->len = 0;
    if (scratch_put(j, body, (size_t)(j->p - body)) < 0)
        return -1;
    while ((rc = string_char(j, 1)) == 0)
        ;
    if (rc < 0)
        return -1;
    j->p++;
    *s = j->scratch ? j->scratch : "";
    *n = j->len;
    return 0;
}

static int digits(struct jp *j)
{
    const unsigned char *d = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > d;
}

static json_t *integer(struct jp *j, const unsigned char *s, const unsigned char *e)
{
    int neg = *s == '-';
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (const unsigned char *d = s + neg; d < e; d++) {
        unsigned dig = *d - '0';
        if (v > (limit - dig) / 10) {
            j->p = s;
            fail(j, neg ? "too big negative integer" : "too big integer");
            return NULL;
        }
        v = v * 10 + dig;
    }
    if (neg)
        return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v);
    return json_integer((json_int_t)v);
}

static json_t *real(struct jp *j, const unsigned char *s, const unsigned char *e)
{
    char small[64], *text = small;
    size_t n = (size_t)(e - s);
    if (n >= sizeof(small) && !(text = malloc(n + 1)))
        return NULL;
    memcpy(text, s, n);
    text[n] = '\0';
    errno = 0;
    double v = strtod(text, NULL);
    if (text != small)
        free(text);
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) {
        j->p = s;
        fail(j, "real number overflow");
        return NULL;
    }
    return json_real(v);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static json_t *parse_number(struct jp *j)
{
    const unsigned char *s = j->p;
    int is_real = 0;
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!digits(j))
        goto bad;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j))
            goto bad;
        is_real = 1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digits(j))
            goto bad;
        is_real = 1;
    }
    if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        goto bad; /* a leading zero: 01 */
    return is_real ? real(j, s, j->p) : integer(j, s, j->p);
bad:
    j->p = s;
    fail(j, "invalid token");
    return NULL;
}

static json_t *parse_value(struct jp *j);

static int object_member(struct jp *j, json_t *obj)
{
    const char *k;
    size_t kn;
    if (j->p >= j->end || *j->p != '"') {
        fail(j, "string or '}' expected");
        return -1;
    }
    if (parse_string(j, &k, &kn) < 0)
        return -1;
    char *owned = NULL;
    if (k == j->scratch && !(k = owned = malloc(kn ? kn : 1)))
        return -1;
    if (owned)
        memcpy(owned, j->scratch, kn);
    int rc = -1;
    if (memchr(k, '\0', kn)) {
        fail(j, "NUL byte in object key not supported");
        goto out;
    }
    skip_ws(j);
    if (j->p >= j->end || *j->p != ':') {
        fail(j, "':' expected");
        goto out;
    }
    j->p++;
    json_t *v = parse_value(j);
    if (v)
        rc = json_object_setn_new_nocheck(obj, k, kn, v);
out:
    free(owned);
    return rc;
}

static json_t *parse_object(struct jp *j)
{
    json_t *obj = json_object();
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return obj;
    }
    for (;;) {
        if (!obj || object_member(j, obj) < 0)
            break;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            skip_ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return obj;
        }
        fail(j, "'}' expected");
        break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(struct jp *j)
{
    json_t *arr = json_array();
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return arr;
    }
    for (;;) {
        json_t *v = arr ? parse_value(j) : NULL;
        if (!v || json_array_append_new(arr, v) < 0)
            break;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return arr;
        }
        fail(j, "']' expected");
        break;
    }
    json_decref(arr);
    return NULL;
}

static json_t *word(struct jp *j, const char *w, size_t n, json_t *v)
{
    if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, w, n)) {
        j->p += n;
        return v;
    }
    fail(j, "invalid token");
    return NULL;
}

static json_t *parse_scalar(struct jp *j)
{
    const char *s;
    size_t n;
    switch (*j->p) {
    case '"':
        if (parse_string(j, &s, &n) < 0)
            return NULL;
        return json_stringn_nocheck(s, n);
    case 't':
        return word(j, "true", 4, json_true());
    case 'f':
        return word(j, "false", 5, json_false());
    case 'n':
        return word(j, "null", 4, json_null());
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(j);
    }
    fail(j, "invalid token");
    return NULL;
}

static json_t *parse_value(struct jp *j)
{
    skip_ws(j);
    if (j->p >= j->end) {
        fail(j, "unexpected end of input");
        return NULL;
    }
    if (++j->depth > JSON_PARSER_MAX_DEPTH) {
        fail(j, "maximum parsing depth reached");
        return NULL;
    }
    json_t *v;
    if (*j->p == '{')
        v = parse_object(j);
    else if (*j->p == '[')
        v = parse_array(j);
    else
        v = parse_scalar(j);
    j->depth--;
    return v;
}

json_t *cd_json_parse(const char *buf, size_t len, int flags, json_error_t *err)
{
    struct jp j = {.start = (const unsigned char *)buf, .p = (const unsigned char *)buf,
                   .end = (const unsigned char *)buf + len, .flags = flags, .err = err};
    if (err)
        memset(err, 0, sizeof(*err));
    if (!buf)
        j.end = j.p;
    json_t *v = parse_value(&j);
    if (v) {
        skip_ws(&j);
        if (j.p != j.end) {
            fail(&j, "end of file expected");
            json_decref(v);
            v = NULL;
        }
    }
    if (!v && err && !err->text[0])
        fail(&j, "out of memory");
    free(j.scratch);
    return v;
}

/* ---------------- the flat-object scanner (json_parse.h) ---------------- */

static void scan_ws(struct cd_jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* A string body from s->p (just past the opening quote) up to and past its closing quote;
 * *esc set when it holds escapes. -1 on what cd_json_parse refuses and on \u0000 and \u
 * surrogates, which the caller leaves to it. */
static int scan_string(struct cd_jscan *s, const char **body, size_t *n, int *esc)
{
    const unsigned char *b = s->p;
    *esc = 0;
    for (;;) {
        s->p = plain_run(s->p, s->end);
        if (s->p >= s->end)
            return -1;
        unsigned char c = *s->p;
        if (c == '"')
            break;
        if (c == '\\') {
            *esc = 1;
            if (s->end - s->p < 2)
                return -1;
            c = s->p[1];
            if (c == 'u') {
                uint32_t cp;
                if (hex4(s->p + 2, s->end, &cp) < 0 || cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                    return -1;
                s->p += 6;
            } else if (c && strchr("\"\\/bfnrt", c)) {
                s->p += 2;
            } else {
                return -1;
            }
            continue;
        }
        int len = c >= 0x80 ? cd_utf8_len(s->p, s->end) : 0;
        if (!len)
            return -1; /* a control character or invalid UTF-8 */
        s->p += len;
    }
    *body = (const char *)b;
    *n = (size_t)(s->p++ - b);
    return 0;
}

static int scan_number(struct cd_jscan *s, struct cd_jmember *m)
{
    const unsigned char *b = s->p, *d;
    if (*s->p == '-')
        s->p++;
    d = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    size_t nd = (size_t)(s->p - d);
    if (!nd || (nd > 1 && *d == '0'))
        return -1;
    m->kind = CDJ_INT;
    if (s->p < s->end && *s->p == '.') {
        const unsigned char *f = ++s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        if (s->p == f)
            return -1;
        m->kind = CDJ_REAL;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
        return -1;
    m->val = (const char *)b;
    m->val_len = (size_t)(s->p - b);
    if (m->kind == CDJ_INT ? nd > 18 : m->val_len > 40)
        return -1;
    return 0;
}

static int scan_word(struct cd_jscan *s, struct cd_jmember *m, const char *w, enum cd_jkind k)
{
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
        return -1;
    m->kind = k;
    m->val = (const char *)s->p;
    m->val_len = n;
    s->p += n;
    return 0;
}

static int scan_value(struct cd_jscan *s, struct cd_jmember *m)
{
    m->val_esc = 0;
    switch (s->p < s->end ? *s->p : 0) {
    case '"':
        s->p++;
        m->kind = CDJ_STRING;
        return scan_string(s, &m->val, &m->val_len, &m->val_esc);
    case 't':
        return scan_word(s, m, "true", CDJ_TRUE);
    case 'f':
        return scan_word(s, m, "false", CDJ_FALSE);
    case 'n':
        return scan_word(s, m, "null", CDJ_NULL);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return scan_number(s, m);
    default:
        return -1; /* nested, or not JSON */
    }
}

int cd_jscan_start(struct cd_jscan *s, const void *buf, size_t len)
{
    s->p = buf;
    s->end = s->p + (buf ? len : 0);
    s->started = 0;
    scan_ws(s);
    if (s->p >= s->end || *s->p != '{')
        return -1;
    s->p++;
    return 0;
}

int cd_jscan_next(struct cd_jscan *s, struct cd_jmember *m)
{
    scan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        scan_ws(s);
        return s->p == s->end ? 0 : -1;
    }
    if (s->started) {
        if (s->p >= s->end || *s->p != ',')
            return -1;
        s->p++;
        scan_ws(s);
    }
    if (s->p >= s->end || *s->p != '"')
        return -1;
    s->p++;
    if (scan_string(s, &m->key, &m->key_len, &m->key_esc) < 0)
        return -1;
    scan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return -1;
    s->p++;
    scan_ws(s);
    if (scan_value(s, m) < 0)
        return -1;
    s->started = 1;
    return 1;
}

size_t cd_json_unescape(char *dst, const char *src, size_t n)
{
    static const char plain[] = "\"\\/bfnrt", made[] = "\"\\/\b\f\n\r\t";
    const char *end = src + n;
    char *w = dst;
    while (src < end) {
        if (*src != '\\') {
            *w++ = *src++;
            continue;
        }
        char c = src[1];
        if (c != 'u') {
            *w++ = made[strchr(plain, c) - plain];
            src += 2;
            continue;
        }
        uint32_t cp = 0;
        hex4((const unsigned char *)src + 2, (const unsigned char *)end, &cp);
        src += 6;
        w += utf8_encode(cp, (unsigned char *)w);
    }
    return (size_t)(w - dst);
}
