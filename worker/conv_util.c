/* conv_util.c — base64, Connect Decimal encoding and Java-style rendering shared by the
 * converters (see conv_util.h). */
#include "conv_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const unsigned char *in, size_t n, size_t *outlen)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1), *p = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        *p++ = b64[v >> 18 & 63];
        *p++ = b64[v >> 12 & 63];
        *p++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *p = '\0';
    if (outlen)
        *outlen = (size_t)(p - out);
    return out;
}

static int b64_val(int c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    if (p)
        return (int)(p - b64);
    return c == '-' ? 62 : c == '_' ? 63 : -1; /* URL-safe alphabet too */
}

unsigned char *b64_decode(const char *in, size_t n, size_t *outlen)
{
    unsigned char *out = malloc(n * 3 / 4 + 3);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '=' || in[i] == '\n' || in[i] == '\r')
            continue;
        int v = b64_val((unsigned char)in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    *outlen = o;
    return out;
}

/* Multiplies the big-endian magnitude mag[0..n) by 10 and adds d, in place. */
static void mag_mul10_add(unsigned char *mag, size_t n, int d)
{
    unsigned carry = (unsigned)d;
    for (size_t i = n; i-- > 0;) {
        unsigned v = mag[i] * 10u + carry;
        mag[i] = (unsigned char)(v & 0xff);
        carry = v >> 8;
    }
}

/* Divides the big-endian magnitude by 10 in place, returns the remainder. */
static int mag_div10(unsigned char *mag, size_t n)
{
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = rem << 8 | mag[i];
        mag[i] = (unsigned char)(v / 10);
        rem = v % 10;
    }
    return (int)rem;
}

static int mag_is_zero(const unsigned char *mag, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mag[i])
            return 0;
    return 1;
}

static void twos_negate(unsigned char *b, size_t n)
{
    unsigned carry = 1;
    for (size_t i = n; i-- > 0;) {
        unsigned v = (unsigned char)~b[i] + carry;
        b[i] = (unsigned char)(v & 0xff);
        carry = v >> 8;
    }
}

char *decimal_from_bytes(const unsigned char *b, size_t n, int scale)
{
    unsigned char *mag = malloc(n ? n : 1);
    memcpy(mag, b, n);
    int neg = n && (b[0] & 0x80);
    if (neg)
        twos_negate(mag, n);
    char *digits = malloc(n * 3 + 2);
    size_t nd = 0;
    while (!mag_is_zero(mag, n))
        digits[nd++] = (char)('0' + mag_div10(mag, n));
    free(mag);
    while ((int)nd <= scale)
        digits[nd++] = '0';
    char *out = malloc(nd + 4), *p = out;
    if (neg)
        *p++ = '-';
    for (size_t i = nd; i-- > 0;) {
        *p++ = digits[i];
        if (scale > 0 && i == (size_t)scale)
            *p++ = '.';
    }
    *p = '\0';
    free(digits);
    return out;
}

int decimal_to_bytes(const char *text, int scale, unsigned char **out, size_t *outlen)
{
    const char *p = text;
    int neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    size_t n = strlen(p) / 2 + 2;
    unsigned char *mag = calloc(n, 1);
    int frac = -1, any = 0;
    for (; *p; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        if (frac >= 0 && frac >= scale)
            continue; /* digits beyond the scale are dropped, as setScale(ROUND_DOWN) */
        mag_mul10_add(mag, n, *p - '0');
        any = 1;
        if (frac >= 0)
            frac++;
    }
    if (!any || (*p && *p != 'e' && *p != 'E')) {
        free(mag);
        return -1;
    }
    for (int f = frac < 0 ? 0 : frac; f < scale; f++)
        mag_mul10_add(mag, n, 0);
    if (neg)
        twos_negate(mag, n);
    /* Minimal two's complement: drop leading bytes that only repeat the sign. */
    size_t start = 0;
    while (start + 1 < n && ((mag[start] == 0 && !(mag[start + 1] & 0x80)) ||
                             (mag[start] == 0xff && (mag[start + 1] & 0x80))))
        start++;
    *outlen = n - start;
    *out = malloc(*outlen);
    memcpy(*out, mag + start, *outlen);
    free(mag);
    return 0;
}

/* The significant digits in %g's output g: from its first nonzero digit to its last. */
static int sig_digits(const char *g)
{
    int n = 0, last = 0;
    for (; *g && *g != 'e'; g++) {
        if (*g < '0' || *g > '9' || (*g == '0' && !n))
            continue;
        n++;
        if (*g != '0')
            last = n;
    }
    return last ? last : 1;
}

/* The fewest significant digits that read back as v (Double.toString's digits). A decimal
 * of at most 15 significant digits names one normal double, so when %.15g reads back, its
 * digits (less the trailing zeros %g drops) are the shortest; else 16 or 17 are needed. One
 * or two tries where a binary search over 1..17 took five: the search was a third of a
 * FileStream sink's CPU with doubles in its records. Subnormals have fewer digits of
 * precision, so they keep the search (reading back is monotonic in the precision). */
static int shortest_prec(double v, char *buf, size_t n)
{
    if (v != 0 && fabs(v) < DBL_MIN) {
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            snprintf(buf, n, "%.*g", mid, v);
            if (strtod(buf, NULL) == v)
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (p == 17 || strtod(buf, NULL) == v)
            break;
    }
    return sig_digits(buf);
}

/* java_double for values in [1e-3, 1e7) with at most 6 decimals (sensor readings), from an
 * integer instead of printf and strtod. With k the fewest decimals for which m = v * 10^k
 * rounds to an integer such that m / 10^k == v, the text m * 10^-k reads back as v (the
 * division and strtod both round the same exact quotient) and no shorter text does (fewer
 * decimals failed; m is unique below 2^53). Returns 0, or -1 when v is not such a value. */
static int java_double_short(double v, char *out, size_t n)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(v);
    if (!(a >= 1e-3 && a < 1e7) || n < 32)
        return -1;
    for (int k = 0; k <= 6; k++) {
        double m = nearbyint(a * p10[k]);
        if (m / p10[k] != a)
            continue;
        uint64_t u = (uint64_t)m;
        char tmp[32], *w = tmp + sizeof(tmp);
        *--w = '\0';
        if (!k)
            *--w = '0'; /* at least one decimal: "72.0" */
        for (int i = 0; i < k; i++, u /= 10)
            *--w = (char)('0' + u % 10);
        *--w = '.';
        do
            *--w = (char)('0' + u % 10);
        while (u /= 10);
        if (v < 0)
            *--w = '-';
        memcpy(out, w, (size_t)(tmp + sizeof(tmp) - w));
        return 0;
    }
    return -1;
}

void java_double(double v, char *out, size_t n)
{
    if (java_double_short(v, out, n))
        java_double_general(v, out, n);
}

void java_double_general(double v, char *out, size_t n)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char buf[320]; /* %g of a double needs at most ~25 bytes; gcc assumes up to 311 */
    int prec = shortest_prec(v, buf, sizeof(buf));
    snprintf(buf, sizeof(buf), "%.*g", prec, v);
    double a = fabs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e7)) {
        if (!strchr(buf, 'e')) /* %g kept 63521704.02 plain; Java writes 6.352170402E7 */
            snprintf(buf, sizeof(buf), "%.*e", prec > 17 ? 16 : prec - 1, v);
        char *e = strchr(buf, 'e');
        if (e) {
            int exp = atoi(e + 1);
            *e = '\0';
            snprintf(out, n, "%s%sE%d", buf, strchr(buf, '.') ? "" : ".0", exp);
            return;
        }
    }
    if (strchr(buf, 'e')) /* %g chose E notation inside Java's plain range */
        snprintf(buf, sizeof(buf), "%.1f", v);
    snprintf(out, n, "%s%s", buf, strchr(buf, '.') ? "" : ".0");
}

size_t cd_int_text(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = 0;
    return len;
}

struct jbuf {
    char *p;
    size_t len, cap;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_str(struct jbuf *b, const char *s, size_t n)
{
    jb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jb_put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (!e) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            e = esc;
        }
        jb_put(b, e, strlen(e));
    }
    jb_put(b, s + run, n - run);
    jb_put(b, "\"", 1);
}

static void jb_real(struct jbuf *b, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        jb_put(b, "null", 4); /* JSON has no NaN/Infinity */
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    jb_put(b, buf, strlen(buf));
    if (!strpbrk(buf, ".eEn"))
        jb_put(b, ".0", 2);
}

static void jb_value(struct jbuf *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        jb_put(b, "{", 1);
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                jb_put(b, ",", 1);
            first = 0;
            jb_str(b, k, strlen(k));
            jb_put(b, ":", 1);
            jb_value(b, x);
        }
        jb_put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        jb_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                jb_put(b, ",", 1);
            jb_value(b, json_array_get(v, i));
        }
        jb_put(b, "]", 1);
        break;
    case JSON_STRING:
        jb_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jb_put(b, num, cd_int_text(num, json_integer_value(v)));
        break;
    case JSON_REAL:
        jb_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        jb_put(b, "true", 4);
        break;
    case JSON_FALSE:
        jb_put(b, "false", 5);
        break;
    default:
        jb_put(b, "null", 4);
    }
}

char *json_compact(const json_t *v, size_t *len)
{
    struct jbuf b = {0};
    if (v)
        jb_value(&b, v);
    else
        jb_put(&b, "null", 4);
    *len = b.len;
    return b.p;
}
