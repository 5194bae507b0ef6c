/* influx_reply.c — reading InfluxDB's write replies: the error text, which lines of the batch
 * it rejected, and Retry-After. See influx_line.h. */
#define _GNU_SOURCE
#include "influx_line.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *influx_error_text(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "error"));
    if (!msg)
        msg = json_string_value(json_object_get(j, "message"));
    char *out = msg ? strdup(msg) : strndup(body, len);
    json_decref(j);
    return out;
}

/* Index of the next byte of s[i..n) that is in stops and not escaped by a backslash. */
static size_t scan_to(const char *s, size_t i, size_t n, const char *stops)
{
    while (i < n && !strchr(stops, s[i])) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        i++;
    }
    return i;
}

/* 1 when the escaped text s[0..n) unescapes (backslash before one of specials) to want. */
static int unescaped_equals(const char *s, size_t n, const char *specials, const char *want,
                            size_t wlen)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        if (s[i] == '\\' && i + 1 < n && strchr(specials, s[i + 1]))
            i++;
        if (j >= wlen || s[i] != want[j])
            return 0;
    }
    return j == wlen;
}

/* InfluxDB's name of the type of a field value as written in line protocol. */
static const char *value_type(const char *v, size_t n)
{
    if (n && v[0] == '"')
        return "string";
    if (n && (v[0] == 't' || v[0] == 'T' || v[0] == 'f' || v[0] == 'F'))
        return "boolean";
    if (n && v[n - 1] == 'i')
        return "integer";
    if (n && v[n - 1] == 'u')
        return "unsigned";
    return "float";
}

/* The type of field f in the line when the line is of measurement m, else NULL. */
static const char *line_field_type(const char *line, size_t n, const char *m, size_t mlen,
                                   const char *f, size_t flen)
{
    size_t i = scan_to(line, 0, n, ", ");
    if (!unescaped_equals(line, i, ", ", m, mlen))
        return NULL;
    i = scan_to(line, i, n, " ") + 1; /* past the tags */
    while (i < n) {
        size_t key = i, eq = scan_to(line, i, n, "=");
        size_t v = eq + 1, end;
        if (v < n && line[v] == '"') {
            for (end = v + 1; end < n && line[end] != '"'; end++)
                if (line[end] == '\\')
                    end++;
            end++;
        } else {
            end = scan_to(line, v, n, ", ");
        }
        if (end > n)
            end = n;
        if (unescaped_equals(line + key, eq - key, ",= ", f, flen))
            return value_type(line + v, end - v);
        if (end >= n || line[end] != ',')
            return NULL;
        i = end + 1;
    }
    return NULL;
}

/* Copies the word at s (letters only) into out. */
static void word(const char *s, char *out, size_t n)
{
    size_t l = 0;
    while (s && l < n - 1 && isalpha((unsigned char)s[l])) {
        out[l] = s[l];
        l++;
    }
    out[l] = 0;
}

/* Lines named in "unable to parse '<line>': reason". */
static size_t find_unparsable(const char *text, const char *const *lines, const size_t *lens,
                              size_t n, unsigned char *rejected)
{
    static const char marker[] = "unable to parse '";
    size_t found = 0;
    for (const char *p = strstr(text, marker); p; p = strstr(p + 1, marker)) {
        const char *q = p + sizeof(marker) - 1;
        size_t rest = strlen(q);
        for (size_t i = 0; i < n; i++)
            if (!rejected[i] && lens[i] + 2 <= rest && !memcmp(q, lines[i], lens[i]) &&
                q[lens[i]] == '\'' && q[lens[i] + 1] == ':') {
                rejected[i] = 1;
                found++;
            }
    }
    return found;
}

/* Lines holding the field named in 'input field "f" on measurement "m" is type T, already
 * exists as type E': every line of m whose f is not of type E (InfluxDB names only the first
 * conflicting point's type, but drops them all). */
static size_t find_type_conflicts(const char *text, const char *const *lines,
                                  const size_t *lens, size_t n, unsigned char *rejected)
{
    static const char m1[] = "input field \"", m2[] = "\" on measurement \"",
                      m3[] = "\" is type ", m4[] = "already exists as type ";
    size_t found = 0;
    for (const char *p = strstr(text, m1); p; p = strstr(p + 1, m1)) {
        const char *f = p + sizeof(m1) - 1, *fe = strstr(f, m2);
        const char *m = fe ? fe + sizeof(m2) - 1 : NULL, *me = m ? strstr(m, m3) : NULL;
        if (!me)
            break;
        char input[16], existing[16];
        const char *e = strstr(me, m4);
        word(me + sizeof(m3) - 1, input, sizeof(input));
        word(e ? e + sizeof(m4) - 1 : NULL, existing, sizeof(existing));
        for (size_t i = 0; i < n; i++) {
            const char *type = rejected[i] ? NULL
                                           : line_field_type(lines[i], lens[i], m,
                                                             (size_t)(me - m), f,
                                                             (size_t)(fe - f));
            if (type && (*existing ? strcmp(type, existing) : !strcmp(type, input))) {
                rejected[i] = 1;
                found++;
            }
        }
    }
    return found;
}

size_t influx_find_rejected(const char *text, const char *const *lines, const size_t *lens,
                            size_t n, unsigned char *rejected)
{
    return find_unparsable(text, lines, lens, n, rejected) +
           find_type_conflicts(text, lines, lens, n, rejected);
}

int64_t influx_retry_after_ms(const char *value)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    char *end;
    long long secs = strtoll(value, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end != value && !*end && secs >= 0)
        return secs * 1000;
    struct tm tm = {0}; /* an HTTP-date: Wed, 21 Oct 2026 07:28:00 GMT */
    const char *rest = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!rest)
        return -1;
    long long delta = (long long)timegm(&tm) - (long long)time(NULL);
    return delta > 0 ? delta * 1000 : 0;
}
