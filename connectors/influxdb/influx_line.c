/* influx_line.c — record value → InfluxDB line protocol, and reading InfluxDB's replies.
 * See influx_line.h. */
#define _GNU_SOURCE
#include "influx_line.h"

#include "conv_util.h"
#include "json_parse.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void influx_buf_add(struct influx_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort(); /* out of memory: nothing sensible is left to do */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_str(struct influx_buf *b, const char *s)
{
    influx_buf_add(b, s, strlen(s));
}

void influx_buf_free(struct influx_buf *b)
{
    free(b->p);
    *b = (struct influx_buf){0};
}

/* Bit k of special[c] is set when c needs a backslash in escaping kind k. */
static const unsigned char special[256] = {
    [','] = 1 << INFLUX_ESC_MEASUREMENT | 1 << INFLUX_ESC_KEY,
    [' '] = 1 << INFLUX_ESC_MEASUREMENT | 1 << INFLUX_ESC_KEY,
    ['='] = 1 << INFLUX_ESC_KEY,
    ['"'] = 1 << INFLUX_ESC_STRING,
    ['\\'] = 1 << INFLUX_ESC_STRING,
};

void influx_escape(struct influx_buf *b, const char *s, size_t n, enum influx_esc kind)
{
    const unsigned char bit = (unsigned char)(1 << kind);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(special[(unsigned char)s[i]] & bit))
            continue;
        influx_buf_add(b, s + start, i - start);
        influx_buf_add(b, "\\", 1);
        start = i;
    }
    influx_buf_add(b, s + start, n - start);
}

/* ---------------- values ---------------- */

/* Shortest text that reads back as the same double (72.5, not 72.500000000000000). */
static void format_double(char *out, size_t n, double v)
{
    snprintf(out, n, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, n, "%.17g", v);
}

/* Looks a field up by name: an exact key first, then a dotted path into nested objects. */
static json_t *lookup(json_t *obj, const char *path)
{
    json_t *v = json_object_get(obj, path);
    if (v || !strchr(path, '.'))
        return v;
    char *copy = strdup(path), *save = NULL;
    v = obj;
    for (char *p = strtok_r(copy, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, p) : NULL;
    free(copy);
    return v;
}

/* Text of a scalar for a tag value or measurement name; -1 for objects, arrays and null. */
static int scalar_text(json_t *v, char *num, size_t numlen, const char **s, size_t *n)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *s = json_string_value(v);
        *n = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        cd_int_text(num, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        format_double(num, numlen, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        snprintf(num, numlen, "%s", json_is_true(v) ? "true" : "false");
        break;
    default:
        return -1;
    }
    *s = num;
    *n = strlen(num);
    return 0;
}

/* A name InfluxDB cannot store as given: a newline ends the line, and a trailing backslash
 * would escape the separator after it. */
static const char *unrepresentable(const char *s, size_t n)
{
    if (memchr(s, '\n', n) || memchr(s, '\r', n))
        return "contains a line break";
    if (n && s[n - 1] == '\\')
        return "ends with a backslash";
    return NULL;
}

/* ---------------- names in use ---------------- */

#define MAX_USED 64

/* Field paths that are not fields: tag fields, the time field, measurement placeholders. */
struct used {
    const char *name[MAX_USED];
    size_t len[MAX_USED];
    size_t n;
};

static void used_add(struct used *u, const char *name, size_t len)
{
    if (u->n < MAX_USED) {
        u->name[u->n] = name;
        u->len[u->n++] = len;
    }
}

static int used_has(const struct used *u, const char *name, size_t len)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->len[i] == len && !memcmp(u->name[i], name, len))
            return 1;
    return 0;
}

/* ---------------- measurement ---------------- */

static int measurement(const struct influx_map *m, const char *topic, json_t *value,
                       struct influx_buf *name, struct used *used, char *err, size_t errlen)
{
    const char *f = m->measurement_fmt && *m->measurement_fmt ? m->measurement_fmt : "${topic}";
    while (*f) {
        const char *open = strstr(f, "${"), *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            buf_str(name, f);
            break;
        }
        influx_buf_add(name, f, (size_t)(open - f));
        size_t plen = (size_t)(close - open - 2);
        if (plen == 5 && !strncmp(open + 2, "topic", 5)) {
            buf_str(name, topic);
        } else if (plen > 6 && !strncmp(open + 2, "value.", 6)) {
            char *path = strndup(open + 8, plen - 6), num[64];
            const char *s;
            size_t n;
            json_t *v = lookup(value, path);
            int bad = !v || scalar_text(v, num, sizeof(num), &s, &n);
            if (bad)
                snprintf(err, errlen, "measurement.name.format: the value has no field '%s' "
                         "holding a name", path);
            else
                influx_buf_add(name, s, n);
            free(path);
            if (bad)
                return -1;
            used_add(used, open + 8, plen - 6);
        } else {
            influx_buf_add(name, open, (size_t)(close - open + 1)); /* not ours: literal */
        }
        f = close + 1;
    }
    if (!name->len) {
        snprintf(err, errlen, "the measurement name is empty");
        return -1;
    }
    const char *why = unrepresentable(name->p, name->len);
    if (!why && name->p[0] == '#')
        why = "starts with '#' (a comment in line protocol)";
    if (why) {
        snprintf(err, errlen, "measurement name '%s' %s", name->p, why);
        return -1;
    }
    return 0;
}

/* ---------------- tags ---------------- */

static int add_tag(struct influx_buf *out, const char *key, size_t klen, json_t *v, char *err,
                   size_t errlen)
{
    char num[64];
    const char *s;
    size_t n;
    if (json_is_null(v))
        return 0;
    if (scalar_text(v, num, sizeof(num), &s, &n)) {
        snprintf(err, errlen, "tag '%.*s' is not a scalar", (int)klen, key);
        return -1;
    }
    if (!n || !klen)
        return 0; /* InfluxDB has no empty tags: a missing tag is the same thing */
    const char *why = unrepresentable(key, klen);
    if (why || (why = unrepresentable(s, n))) {
        snprintf(err, errlen, "tag '%.*s' %s", (int)klen, key, why);
        return -1;
    }
    influx_buf_add(out, ",", 1);
    influx_escape(out, key, klen, INFLUX_ESC_KEY);
    influx_buf_add(out, "=", 1);
    influx_escape(out, s, n, INFLUX_ESC_KEY);
    return 0;
}

static int tags(const struct influx_map *m, json_t *value, struct influx_buf *out,
                struct used *used, char *err, size_t errlen)
{
    for (size_t i = 0; i < m->n_tag_fields; i++) {
        const char *name = m->tag_fields[i];
        json_t *v = lookup(value, name);
        used_add(used, name, strlen(name));
        if (v && add_tag(out, name, strlen(name), v, err, errlen))
            return -1;
    }
    json_t *map = json_object_get(value, "tags"); /* Confluent's shape: a map of tags */
    if (json_is_object(map)) {
        const char *k;
        json_t *v;
        used_add(used, "tags", 4);
        json_object_foreach(map, k, v) if (add_tag(out, k, strlen(k), v, err, errlen)) return -1;
    }
    return 0;
}

/* ---------------- fields ---------------- */

struct fields_ctx {
    struct influx_buf *out;
    struct influx_buf path; /* flattened name of the current field */
    const struct used *used;
    size_t count;
    char *err;
    size_t errlen;
};

static int add_field(struct fields_ctx *c, json_t *v)
{
    char num[64];
    if (json_is_null(v) || used_has(c->used, c->path.p, c->path.len))
        return 0;
    const char *why = c->path.len ? unrepresentable(c->path.p, c->path.len) : "is empty";
    if (why) { /* InfluxDB would refuse the whole point: say why here, before sending it */
        snprintf(c->err, c->errlen, "field name '%s' %s", c->path.p, why);
        return -1;
    }
    influx_buf_add(c->out, c->count++ ? "," : " ", 1);
    influx_escape(c->out, c->path.p, c->path.len, INFLUX_ESC_KEY);
    influx_buf_add(c->out, "=", 1);
    switch (json_typeof(v)) {
    case JSON_STRING:
        influx_buf_add(c->out, "\"", 1);
        influx_escape(c->out, json_string_value(v), json_string_length(v), INFLUX_ESC_STRING);
        influx_buf_add(c->out, "\"", 1);
        return 0;
    case JSON_INTEGER: {
        size_t len = cd_int_text(num, (int64_t)json_integer_value(v));
        num[len] = 'i';
        influx_buf_add(c->out, num, len + 1);
        return 0;
    }
    case JSON_REAL:
        format_double(num, sizeof(num), json_real_value(v));
        break;
    default:
        snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
        break;
    }
    buf_str(c->out, num);
    return 0;
}

/* Adds every scalar under v; objects and arrays are flattened with '.' (a.b, list.0). */
static int add_fields(struct fields_ctx *c, json_t *v)
{
    if (c->path.len && used_has(c->used, c->path.p, c->path.len))
        return 0; /* a tag, the time or the measurement: not a field */
    if (!json_is_object(v) && !json_is_array(v))
        return add_field(c, v);
    size_t base = c->path.len;
    const char *k;
    size_t idx;
    json_t *child;
    char num[32];
    if (json_is_object(v)) {
        json_object_foreach(v, k, child)
        {
            if (base)
                influx_buf_add(&c->path, ".", 1);
            buf_str(&c->path, k);
            int rc = add_fields(c, child);
            c->path.len = base;
            if (rc)
                return -1;
        }
    } else {
        json_array_foreach(v, idx, child)
        {
            snprintf(num, sizeof(num), "%s%zu", base ? "." : "", idx);
            buf_str(&c->path, num);
            int rc = add_fields(c, child);
            c->path.len = base;
            if (rc)
                return -1;
        }
    }
    if (c->path.p)
        c->path.p[base] = 0;
    return 0;
}

static int fields(json_t *value, const struct used *used, struct influx_buf *out, char *err,
                  size_t errlen)
{
    struct fields_ctx c = {.out = out, .used = used, .err = err, .errlen = errlen};
    influx_buf_add(&c.path, "", 0);
    int rc = add_fields(&c, value);
    influx_buf_free(&c.path);
    if (!rc && !c.count) {
        snprintf(err, errlen, "the record has no fields to write (InfluxDB needs at least one)");
        rc = -1;
    }
    return rc;
}

/* ---------------- time ---------------- */

/* Nanoseconds per unit of an epoch number of this magnitude: s, ms, us or ns. Seconds reach
 * the year 5138 before they look like milliseconds. */
static int64_t epoch_scale(double magnitude)
{
    return magnitude < 1e11 ? 1000000000 : magnitude < 1e14 ? 1000000 : magnitude < 1e17 ? 1000 : 1;
}

/* InfluxDB keeps times as int64 ns: 1677-09-21 to 2262-04-11. */
#define NS_LIMIT 9.2e18

int influx_epoch_int_to_ns(int64_t v, int64_t *ns)
{
    int64_t scale = epoch_scale(fabs((double)v));
    if (fabs((double)v) * (double)scale >= NS_LIMIT)
        return -1;
    *ns = v * scale;
    return 0;
}

int influx_epoch_to_ns(double v, int64_t *ns)
{
    int64_t scale = epoch_scale(fabs(v));
    if (!isfinite(v) || fabs(v) * (double)scale >= NS_LIMIT)
        return -1;
    double whole = trunc(v); /* integer part exactly, so ms and us keep every digit */
    *ns = (int64_t)whole * scale + (int64_t)llround((v - whole) * (double)scale);
    return 0;
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return 0;
}

int influx_iso8601_to_ns(const char *s, int64_t *ns)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    int64_t frac = 0;
    if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d))
        return -1;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
            return -1;
        if (*s == ':' && (s++, digits(&s, 2, &sec)))
            return -1;
        if (*s == '.' || *s == ',') {
            int64_t scale = 100000000;
            for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
                frac += scale * (*s - '0');
        }
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&s, 2, &oh))
                return -1;
            if (*s == ':')
                s++;
            if (*s && digits(&s, 2, &om))
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    double secs = (double)timegm(&tm) - off;
    if (fabs(secs) * 1e9 >= NS_LIMIT)
        return -1;
    *ns = ((int64_t)secs) * 1000000000LL + frac;
    return 0;
}

static int event_time(const struct influx_map *m, json_t *value, int64_t record_ts_ms,
                      int64_t *ns, int *has, char *err, size_t errlen)
{
    *has = 1;
    if (!m->time_field || !*m->time_field) {
        *has = record_ts_ms >= 0;
        *ns = record_ts_ms * 1000000;
        return 0;
    }
    json_t *v = lookup(value, m->time_field);
    if (json_is_integer(v) && !influx_epoch_int_to_ns(json_integer_value(v), ns))
        return 0;
    if (json_is_real(v) && !influx_epoch_to_ns(json_real_value(v), ns))
        return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long n = strtoll(s, &end, 10);
        if (*s && !*end ? !influx_epoch_int_to_ns(n, ns) : !influx_iso8601_to_ns(s, ns))
            return 0;
    }
    snprintf(err, errlen, "event.time.fieldname: field '%s' %s", m->time_field,
             v ? "is not an epoch number or ISO-8601 time that InfluxDB can store "
                 "(1677-09-21 to 2262-04-11)"
               : "is missing");
    return -1;
}

/* Ends the line from start: its time when it has one; a failed line (rc != 0) is taken out
 * again. Returns rc. */
static int line_end(struct influx_buf *out, size_t start, int rc, int has_time, int64_t ns)
{
    if (rc) {
        out->len = start;
        if (out->p)
            out->p[start] = 0;
    } else if (has_time) {
        char num[32] = " ";
        influx_buf_add(out, num, 1 + cd_int_text(num + 1, ns));
    }
    return rc;
}

int influx_line_encode(const struct influx_map *m, const char *topic, json_t *value,
                       int64_t record_ts_ms, struct influx_buf *out, char *err, size_t errlen)
{
    struct influx_buf name = {0};
    struct used used = {.n = 0};
    size_t start = out->len;
    int64_t ns = 0;
    int has_time = 0;
    if (!json_is_object(value)) {
        snprintf(err, errlen, "the record value is %s, not a struct or map",
                 value ? "a scalar or array" : "null");
        return -1;
    }
    if (m->time_field && *m->time_field)
        used_add(&used, m->time_field, strlen(m->time_field));
    int failed = measurement(m, topic, value, &name, &used, err, errlen) ||
                 event_time(m, value, record_ts_ms, &ns, &has_time, err, errlen);
    if (!failed) {
        influx_escape(out, name.p, name.len, INFLUX_ESC_MEASUREMENT);
        failed = tags(m, value, out, &used, err, errlen) || fields(value, &used, out, err, errlen);
    }
    influx_buf_free(&name);
    return line_end(out, start, failed ? -1 : 0, has_time, ns);
}

/* ---------------- schemaless JSON straight from its bytes ---------------- */

/* The text format_double prints for the double a JSON real (no exponent: the scanner refuses
 * those) reads as, into num (room for 64). A real of at most 15 significant digits that %.15g
 * prints in fixed notation (10^-4 <= |v| < 10^15) prints as its own digits with trailing
 * fraction zeros dropped (15 digits survive text -> double -> text), so only the others pay
 * for strtod and printf. */
static void real_text(const char *s, size_t n, char *num)
{
    const char *dot = memchr(s, '.', n), *ip = s + (*s == '-');
    size_t flen = dot ? (size_t)(s + n - dot - 1) : 0;
    while (flen && dot[flen] == '0')
        flen--;
    size_t ilen = dot ? (size_t)(dot - ip) : 0, lead = 0;
    if (dot && ilen == 1 && *ip == '0')
        while (lead < flen && dot[1 + lead] == '0')
            lead++;
    int zero_ip = ilen == 1 && *ip == '0';
    size_t sig = zero_ip ? flen - lead : ilen + flen;
    if (dot && ilen <= 15 && sig <= 15 && (!zero_ip || lead <= 3 || !flen)) {
        size_t len = (size_t)(dot - s);
        memcpy(num, s, len);
        if (flen) {
            memcpy(num + len, dot, flen + 1);
            len += flen + 1;
        }
        num[len] = 0;
        return;
    }
    char text[64];
    snprintf(text, sizeof(text), "%.*s", (int)n, s);
    format_double(num, 64, strtod(text, NULL));
}

#define FAST_MEMBERS 32

/* A flat object's members, as the scanner found them. */
struct fast_obj {
    struct cd_jmember m[FAST_MEMBERS];
    size_t n;
};

/* -1 when the text is not a flat object of at most FAST_MEMBERS members with plain, distinct,
 * non-empty keys. */
static int fast_scan(struct fast_obj *o, const char *raw, size_t len)
{
    struct cd_jscan sc;
    int rc = -1;
    o->n = 0;
    if (cd_jscan_start(&sc, raw, len))
        return -1;
    while (o->n < FAST_MEMBERS && (rc = cd_jscan_next(&sc, &o->m[o->n])) == 1) {
        const struct cd_jmember *m = &o->m[o->n];
        if (m->key_esc || !m->key_len)
            return -1;
        for (size_t i = 0; i < o->n; i++)
            if (o->m[i].key_len == m->key_len && !memcmp(o->m[i].key, m->key, m->key_len))
                return -1;
        o->n++;
    }
    return o->n < FAST_MEMBERS && rc == 0 ? 0 : -1;
}

static const struct cd_jmember *fast_get(const struct fast_obj *o, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < o->n; i++)
        if (o->m[i].key_len == len && !memcmp(o->m[i].key, name, len))
            return &o->m[i];
    return NULL;
}

/* A scalar's text as scalar_text gives it: decoded strings (into *tmp when escaped, freed by
 * the caller), numbers as their value prints. */
static void fast_text(const struct cd_jmember *m, char *num, char **tmp, const char **s,
                      size_t *n)
{
    *s = num;
    switch (m->kind) {
    case CDJ_STRING:
        if (m->val_esc) {
            *tmp = malloc(m->val_len + 1);
            *n = cd_json_unescape(*tmp, m->val, m->val_len);
            *s = *tmp;
        } else {
            *s = m->val;
            *n = m->val_len;
        }
        return;
    case CDJ_REAL:
        real_text(m->val, m->val_len, num);
        break;
    case CDJ_INT: /* at most 18 digits; JSON allows -0, which reads as 0 */
        if (m->val_len == 2 && !memcmp(m->val, "-0", 2)) {
            *n = 1;
            memcpy(num, "0", 2);
            return;
        }
        memcpy(num, m->val, m->val_len);
        num[m->val_len] = 0;
        *n = m->val_len;
        return;
    default: /* true or false: the literal itself */
        *s = m->val;
        *n = m->val_len;
        return;
    }
    *n = strlen(num);
}

static int fast_tags(const struct influx_map *m, const struct fast_obj *o,
                     struct influx_buf *out)
{
    for (size_t i = 0; i < m->n_tag_fields; i++) {
        const struct cd_jmember *t = fast_get(o, m->tag_fields[i]);
        if (!t || t->kind == CDJ_NULL)
            continue;
        char num[64], *tmp = NULL;
        const char *s;
        size_t n;
        fast_text(t, num, &tmp, &s, &n);
        int bad = n && (unrepresentable(t->key, t->key_len) || unrepresentable(s, n));
        if (n && !bad) {
            influx_buf_add(out, ",", 1);
            influx_escape(out, t->key, t->key_len, INFLUX_ESC_KEY);
            influx_buf_add(out, "=", 1);
            influx_escape(out, s, n, INFLUX_ESC_KEY);
        }
        free(tmp);
        if (bad)
            return -1; /* the usual path words the error */
    }
    return 0;
}

static int fast_fields(const struct fast_obj *o, const struct used *used,
                       struct influx_buf *out)
{
    size_t count = 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct cd_jmember *f = &o->m[i];
        if (f->kind == CDJ_NULL || used_has(used, f->key, f->key_len))
            continue;
        if (!f->key_len || unrepresentable(f->key, f->key_len))
            return -1; /* the usual path words the error */
        influx_buf_add(out, count++ ? "," : " ", 1);
        influx_escape(out, f->key, f->key_len, INFLUX_ESC_KEY);
        char num[64], *tmp = NULL;
        const char *s;
        size_t n;
        fast_text(f, num, &tmp, &s, &n);
        if (f->kind == CDJ_STRING) {
            influx_buf_add(out, "=\"", 2);
            influx_escape(out, s, n, INFLUX_ESC_STRING);
            influx_buf_add(out, "\"", 1);
        } else {
            influx_buf_add(out, "=", 1);
            influx_buf_add(out, s, n);
            if (f->kind == CDJ_INT)
                influx_buf_add(out, "i", 1);
        }
        free(tmp);
    }
    return count ? 0 : -1;
}

/* The event time of the fast path: the record's, or an integer epoch field. */
static int fast_time(const struct influx_map *m, const struct fast_obj *o, int64_t record_ts_ms,
                     int64_t *ns, int *has)
{
    *has = 1;
    if (!m->time_field || !*m->time_field) {
        *has = record_ts_ms >= 0;
        *ns = record_ts_ms * 1000000;
        return 0;
    }
    const struct cd_jmember *t = fast_get(o, m->time_field);
    if (!t || t->kind != CDJ_INT)
        return -1;
    int64_t v = 0; /* at most 18 digits: no overflow */
    for (size_t i = t->val[0] == '-'; i < t->val_len; i++)
        v = v * 10 + (t->val[i] - '0');
    return influx_epoch_int_to_ns(t->val[0] == '-' ? -v : v, ns);
}

int influx_line_encode_json(const struct influx_map *m, const char *topic, const char *raw,
                            size_t len, int64_t record_ts_ms, struct influx_buf *out)
{
    struct fast_obj o;
    struct used used = {.n = 0};
    struct influx_buf name = {0};
    char err[256];
    size_t start = out->len;
    int64_t ns = 0;
    int has_time = 0;
    if ((m->measurement_fmt && strstr(m->measurement_fmt, "${value.")) ||
        fast_scan(&o, raw, len) || fast_time(m, &o, record_ts_ms, &ns, &has_time))
        return 1;
    if (m->time_field && *m->time_field)
        used_add(&used, m->time_field, strlen(m->time_field));
    for (size_t i = 0; i < m->n_tag_fields; i++)
        used_add(&used, m->tag_fields[i], strlen(m->tag_fields[i]));
    int failed = measurement(m, topic, NULL, &name, &used, err, sizeof(err));
    if (!failed) {
        influx_escape(out, name.p, name.len, INFLUX_ESC_MEASUREMENT);
        failed = fast_tags(m, &o, out) || fast_fields(&o, &used, out);
    }
    influx_buf_free(&name);
    return line_end(out, start, failed, has_time, ns);
}
