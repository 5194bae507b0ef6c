/* smt_datefmt.c — the subset of java.text.SimpleDateFormat the timestamp transforms need,
 * always in UTC (TimestampConverter and TimestampRouter set the UTC zone).
 *
 * Letters: G y Y M L d D E u a H k K h m s S z Z X, 'quoted text' and '' for a quote.
 * Numeric fields directly followed by another numeric field parse a fixed number of digits
 * (the letter count), as SimpleDateFormat does for "yyyyMMdd". */
#include "smt_util.h"
#include "conv_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const months[] = {"January", "February", "March",     "April",
                                     "May",     "June",     "July",      "August",
                                     "September", "October", "November", "December"};
static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                   "Friday", "Saturday", "Sunday"};

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

struct tm_utc {
    int64_t year;
    int month, day, hour, minute, second, milli, yday, wday; /* wday 1 = Monday */
};

static void breakdown(int64_t ms, struct tm_utc *t)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    civil_from_days(days, &t->year, &t->month, &t->day);
    t->hour = (int)(rem / 3600000);
    t->minute = (int)(rem / 60000 % 60);
    t->second = (int)(rem / 1000 % 60);
    t->milli = (int)(rem % 1000);
    t->yday = (int)(days - days_from_civil(t->year, 1, 1)) + 1;
    t->wday = (int)(((days % 7) + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday */
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1 when the field starting at p (a run of one letter) is numeric: "MM" is, "MMM" is not. */
static int numeric_field(const char *p)
{
    int count = 1;
    while (*p && p[count] == *p)
        count++;
    if (*p == 'M' || *p == 'L')
        return count <= 2;
    return *p && strchr("yYdDuHkKhmsS", *p) != NULL;
}

/* Copies the quoted text after an opening quote at *p to out (when n > 0) and moves *p past
 * the closing quote; '' inside is one quote. Returns the number of chars written. */
static size_t quoted(const char **p, char *out, size_t n)
{
    const char *q = *p + 1;
    size_t o = 0;
    while (*q) {
        if (*q == '\'' && q[1] == '\'') {
            if (o + 1 < n)
                out[o++] = '\'';
            q += 2;
        } else if (*q == '\'') {
            q++;
            break;
        } else {
            if (o + 1 < n)
                out[o++] = *q;
            q++;
        }
    }
    if (n)
        out[o < n ? o : n - 1] = '\0';
    *p = q;
    return o;
}

int smt_datefmt_check(const char *pattern, char *err, size_t errlen)
{
    for (const char *p = pattern; *p; p++) {
        if (*p == '\'') {
            const char *q = p + 1;
            while (*q && !(*q == '\'' && q[1] != '\''))
                q += *q == '\'' ? 2 : 1;
            if (!*q) {
                snprintf(err, errlen, "Unterminated quote in pattern %s", pattern);
                return -1;
            }
            p = q;
        } else if (is_letter(*p) && !strchr("GyYMLdDEuaHkKhmsSzZX", *p)) {
            snprintf(err, errlen, "Illegal pattern character '%c'", *p);
            return -1;
        }
    }
    return 0;
}

static size_t put(char *out, size_t o, size_t n, const char *s)
{
    while (*s && o + 1 < n)
        out[o++] = *s++;
    return o;
}

/* v as %0*lld would write it, without printf (TimestampRouter formats every record). */
static size_t put_num(char *out, size_t o, size_t n, int64_t v, int width)
{
    char digits[24], buf[48];
    size_t len = cd_int_text(digits, v), k = 0;
    const char *d = digits;
    if (width > 20)
        width = 20;
    if (*d == '-') {
        buf[k++] = *d++;
        len--;
    }
    while ((int)(k + len) < width)
        buf[k++] = '0';
    memcpy(buf + k, d, len + 1);
    return put(out, o, n, buf);
}

static size_t put_name(char *out, size_t o, size_t n, const char *name, int count)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%.*s", count >= 4 ? 15 : 3, name);
    return put(out, o, n, buf);
}

/* One pattern field of count letters c. */
static size_t format_field(char c, int count, const struct tm_utc *t, char *out, size_t o,
                           size_t n)
{
    switch (c) {
    case 'G':
        return put(out, o, n, t->year > 0 ? "AD" : "BC");
    case 'y':
    case 'Y':
        return count == 2 ? put_num(out, o, n, t->year % 100, 2) : put_num(out, o, n, t->year, count);
    case 'M':
    case 'L':
        return count >= 3 ? put_name(out, o, n, months[t->month - 1], count)
                          : put_num(out, o, n, t->month, count);
    case 'd':
        return put_num(out, o, n, t->day, count);
    case 'D':
        return put_num(out, o, n, t->yday, count);
    case 'E':
        return put_name(out, o, n, days[t->wday - 1], count);
    case 'u':
        return put_num(out, o, n, t->wday, count);
    case 'a':
        return put(out, o, n, t->hour < 12 ? "AM" : "PM");
    case 'H':
        return put_num(out, o, n, t->hour, count);
    case 'k':
        return put_num(out, o, n, t->hour ? t->hour : 24, count);
    case 'K':
        return put_num(out, o, n, t->hour % 12, count);
    case 'h':
        return put_num(out, o, n, t->hour % 12 ? t->hour % 12 : 12, count);
    case 'm':
        return put_num(out, o, n, t->minute, count);
    case 's':
        return put_num(out, o, n, t->second, count);
    case 'S':
        return put_num(out, o, n, t->milli, count);
    case 'z':
        return put(out, o, n, count >= 4 ? "Coordinated Universal Time" : "UTC");
    case 'Z':
        return put(out, o, n, "+0000");
    case 'X':
        return put(out, o, n, "Z");
    }
    return o;
}

void smt_datefmt_format(const char *pattern, int64_t ms, char *out, size_t n)
{
    struct tm_utc t;
    size_t o = 0;
    breakdown(ms, &t);
    for (const char *p = pattern; *p && o + 1 < n;) {
        if (*p == '\'') {
            if (p[1] == '\'') {
                out[o++] = '\'';
                p += 2;
                continue;
            }
            o += quoted(&p, out + o, n - o);
        } else if (is_letter(*p)) {
            int count = 1;
            while (p[count] == *p)
                count++;
            o = format_field(*p, count, &t, out, o, n);
            p += count;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

int64_t smt_datefmt_period_ms(const char *pattern)
{
    int64_t period = 86400000; /* date fields change at midnight UTC */
    for (const char *p = pattern; *p; p++) {
        int64_t f = 0;
        if (*p == '\'') {
            quoted(&p, NULL, 0);
            p--; /* quoted() leaves p past the closing quote */
            continue;
        }
        switch (*p) {
        case 'a': f = 43200000; break;
        case 'H': case 'k': case 'K': case 'h': f = 3600000; break;
        case 'm': f = 60000; break;
        case 's': f = 1000; break;
        case 'S': f = 1; break;
        }
        if (f && f < period)
            period = f;
    }
    return period;
}

/* Reads digits: exactly width of them when width > 0, else as many as there are. */
static int parse_digits(const char **s, int width, int64_t *v)
{
    const char *p = *s;
    int neg = 0;
    if (*p == '-' && width <= 0) {
        neg = 1;
        p++;
    }
    int64_t x = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && (width <= 0 || n < width)) {
        x = x * 10 + (*p++ - '0');
        n++;
    }
    if (!n || (width > 0 && n != width))
        return -1;
    *v = neg ? -x : x;
    *s = p;
    return 0;
}

static int parse_name(const char **s, const char *const *names, int count, int64_t *v)
{
    for (int i = 0; i < count; i++) {
        size_t full = strlen(names[i]);
        if (!strncasecmp(*s, names[i], full)) {
            *s += full;
            *v = i + 1;
            return 0;
        }
    }
    for (int i = 0; i < count; i++)
        if (!strncasecmp(*s, names[i], 3)) {
            *s += 3;
            *v = i + 1;
            return 0;
        }
    return -1;
}

/* Parses a zone: Z, UTC, GMT, or +hh[:]mm / +hh. Sets *offset_ms. */
static int parse_zone(const char **s, int64_t *offset_ms)
{
    const char *p = *s;
    *offset_ms = 0;
    if (*p == 'Z') {
        *s = p + 1;
        return 0;
    }
    if (!strncmp(p, "UTC", 3) || !strncmp(p, "GMT", 3))
        p += 3;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int64_t h, m = 0;
        p++;
        if (parse_digits(&p, 2, &h))
            return -1;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)*p) && parse_digits(&p, 2, &m))
            return -1;
        *offset_ms = sign * (h * 3600000 + m * 60000);
    } else if (p == *s) {
        return -1;
    }
    *s = p;
    return 0;
}

struct parsed {
    int64_t year, month, day, yday, hour, minute, second, milli, offset;
    int pm, have_pm, hour12, have_yday;
};

static int parse_field(char c, int count, int width, const char **s, struct parsed *t)
{
    int64_t v = 0;
    switch (c) {
    case 'G':
        if (strncasecmp(*s, "AD", 2) && strncasecmp(*s, "BC", 2))
            return -1;
        *s += 2;
        return 0;
    case 'M':
    case 'L':
        if (isdigit((unsigned char)**s))
            return parse_digits(s, width, &t->month);
        return parse_name(s, months, 12, &t->month);
    case 'E':
        return parse_name(s, days, 7, &v);
    case 'a':
        if (!strncasecmp(*s, "AM", 2) || !strncasecmp(*s, "PM", 2)) {
            t->pm = toupper((unsigned char)**s) == 'P';
            t->have_pm = 1;
            *s += 2;
            return 0;
        }
        return -1;
    case 'z':
    case 'Z':
    case 'X':
        return parse_zone(s, &t->offset);
    }
    const char *start = *s;
    if (parse_digits(s, width, &v))
        return -1;
    switch (c) {
    case 'y':
    case 'Y':
        /* Two digits for "yy" fall in the century window SimpleDateFormat uses. */
        t->year = count <= 2 && *s - start == 2 ? (v < 70 ? 2000 + v : 1900 + v) : v;
        break;
    case 'd':
        t->day = v;
        break;
    case 'D':
        t->yday = v;
        t->have_yday = 1;
        break;
    case 'H':
        t->hour = v;
        break;
    case 'k':
        t->hour = v == 24 ? 0 : v;
        break;
    case 'K':
    case 'h':
        t->hour = v % 12;
        t->hour12 = 1;
        break;
    case 'm':
        t->minute = v;
        break;
    case 's':
        t->second = v;
        break;
    case 'S':
        t->milli = v;
        break;
    }
    return 0;
}

int smt_datefmt_parse(const char *pattern, const char *text, int64_t *ms)
{
    struct parsed t = {.year = 1970, .month = 1, .day = 1};
    const char *s = text;
    for (const char *p = pattern; *p;) {
        if (*p == '\'') {
            if (p[1] == '\'') {
                if (*s++ != '\'')
                    return -1;
                p += 2;
                continue;
            }
            char lit[256];
            size_t len = quoted(&p, lit, sizeof(lit));
            if (len >= sizeof(lit) || strncmp(s, lit, len))
                return -1;
            s += len;
        } else if (is_letter(*p)) {
            int count = 1;
            while (p[count] == *p)
                count++;
            /* Adjacent numeric fields have fixed widths. */
            int width = numeric_field(p + count) ? count : 0;
            if (parse_field(*p, count, width, &s, &t))
                return -1;
            p += count;
        } else {
            if (*s != *p)
                return -1;
            s++;
            p++;
        }
    }
    if (t.hour12 && t.have_pm && t.pm)
        t.hour += 12;
    int64_t days = t.have_yday ? days_from_civil(t.year, 1, 1) + t.yday - 1
                               : days_from_civil(t.year, 1, 1);
    if (!t.have_yday) {
        /* Lenient like SimpleDateFormat: month and day overflow into the next ones. */
        int64_t y = t.year + (t.month - 1) / 12, m = (t.month - 1) % 12 + 1;
        days = days_from_civil(y, m, 1) + t.day - 1;
    }
    *ms = days * 86400000 + t.hour * 3600000 + t.minute * 60000 + t.second * 1000 + t.milli -
          t.offset;
    return 0;
}
