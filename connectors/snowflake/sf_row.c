/* sf_row.c — see sf_row.h. */
#include "sf_row.h"

#include "conv_util.h"
#include "json_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct sf_buf *b, size_t add)
{
    if (b->len + add <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + add)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort(); /* as jansson's and the worker's other allocations on the record path */
    b->p = p;
    b->cap = cap;
}

void sf_buf_put(struct sf_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void sf_buf_free(struct sf_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void sf_buf_int(struct sf_buf *b, int64_t v)
{
    reserve(b, 21);
    b->len += cd_int_text(b->p + b->len, v);
}

int sf_buf_str(struct sf_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson */
    const unsigned char *s = (const unsigned char *)str, *end = s + n;
    size_t start = b->len;
    reserve(b, n + 2);
    b->p[b->len++] = '"';
    while (s < end) {
        const unsigned char *run = s;
        while (s < end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s > run)
            sf_buf_put(b, (const char *)run, (size_t)(s - run));
        if (s == end)
            break;
        if (*s >= 0x80) {
            int k = cd_utf8_len(s, end);
            if (!k) {
                b->len = start;
                return -1;
            }
            sf_buf_put(b, (const char *)s, (size_t)k);
            s += k;
            continue;
        }
        char esc[6] = {'\\', 0};
        size_t en = 2;
        switch (*s) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*s >> 4];
            esc[5] = hex[*s & 15];
            en = 6;
        }
        sf_buf_put(b, esc, en);
        s++;
    }
    sf_buf_put(b, "\"", 1);
    return 0;
}

/* printf's %.Ng, shortened to the fewest digits that read back as v, in jansson's spelling:
 * a ".0" when it would read as an integer, no '+' or leading zeros in the exponent. */
static size_t format_slow(char *out, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (!strpbrk(out, ".eE"))
        strcat(out, ".0");
    char *e = strchr(out, 'e');
    if (e) {
        char *d = e + 1, *s = e + 1;
        if (*s == '-')
            *d++ = *s++;
        else if (*s == '+')
            s++;
        while (*s == '0' && s[1])
            s++;
        memmove(d, s, strlen(s) + 1);
    }
    return strlen(out);
}

size_t sf_format_double(char *out, double v)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    double a = fabs(v);
    /* The fewest decimals k such that m / 10^k reads back as a, m an integer below 2^53: the
     * division of two exact doubles rounds as strtod does, so the check is exact. */
    for (int k = 0; k < 18 && a < 9007199254740992.0 / pow10[k]; k++) {
        double m = nearbyint(a * pow10[k]);
        if (m / pow10[k] != a)
            continue;
        uint64_t u = (uint64_t)m, div = (uint64_t)pow10[k];
        char *o = out;
        if (signbit(v))
            *o++ = '-';
        o += cd_int_text(o, (int64_t)(u / div)); /* below 2^53 */
        *o++ = '.';
        if (k == 0)
            *o++ = '0';
        for (int i = k - 1; i >= 0; i--) {
            o[i] = (char)('0' + (u % 10));
            u /= 10;
        }
        o += k;
        *o = 0;
        return (size_t)(o - out);
    }
    return format_slow(out, v);
}

int sf_buf_json(struct sf_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        sf_buf_put(b, "{", 1);
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                sf_buf_put(b, ",", 1);
            first = 0;
            if (sf_buf_str(b, k, strlen(k)))
                return -1;
            sf_buf_put(b, ":", 1);
            if (sf_buf_json(b, x))
                return -1;
        }
        sf_buf_put(b, "}", 1);
        return 0;
    }
    case JSON_ARRAY:
        sf_buf_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sf_buf_put(b, ",", 1);
            if (sf_buf_json(b, json_array_get(v, i)))
                return -1;
        }
        sf_buf_put(b, "]", 1);
        return 0;
    case JSON_STRING:
        return sf_buf_str(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        sf_buf_int(b, (int64_t)json_integer_value(v));
        return 0;
    case JSON_REAL: {
        char num[40];
        size_t n = sf_format_double(num, json_real_value(v));
        sf_buf_put(b, num, n);
        return 0;
    }
    case JSON_TRUE:
        sf_buf_put(b, "true", 4);
        return 0;
    case JSON_FALSE:
        sf_buf_put(b, "false", 5);
        return 0;
    default:
        sf_buf_put(b, "null", 4);
        return 0;
    }
}
