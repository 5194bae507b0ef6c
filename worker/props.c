/* props.c — see props.h */
#include "props.h"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads one logical line (joining continuations) starting at *pos. Returns a malloc'd
 * string with escapes still in it, or NULL at end of input. */
static char *logical_line(const char *t, size_t len, size_t *pos)
{
    if (*pos >= len)
        return NULL;
    char *out = malloc(len - *pos + 1);
    size_t n = 0;
    int skip_ws = 1; /* leading whitespace is skipped, also after a continuation */
    while (*pos < len) {
        char c = t[(*pos)++];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && *pos < len && t[*pos] == '\n')
                (*pos)++;
            /* count trailing backslashes: odd means continuation */
            size_t bs = 0;
            while (bs < n && out[n - 1 - bs] == '\\')
                bs++;
            if (bs % 2 == 1) {
                n--;
                skip_ws = 1;
                continue;
            }
            break;
        }
        if (skip_ws && (c == ' ' || c == '\t' || c == '\f'))
            continue;
        skip_ws = 0;
        out[n++] = c;
    }
    out[n] = 0;
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Unescapes s[0..n) into a new string. */
static char *unescape(const char *s, size_t n)
{
    char *o = malloc(n * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            o[j++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 't')
            o[j++] = '\t';
        else if (c == 'n')
            o[j++] = '\n';
        else if (c == 'r')
            o[j++] = '\r';
        else if (c == 'f')
            o[j++] = '\f';
        else if (c == 'u' && i + 4 < n + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0 &&
                 hexval(s[i + 3]) >= 0 && hexval(s[i + 4]) >= 0) {
            unsigned cp = (unsigned)(hexval(s[i + 1]) << 12 | hexval(s[i + 2]) << 8 |
                                     hexval(s[i + 3]) << 4 | hexval(s[i + 4]));
            j += put_utf8(o + j, cp);
            i += 4;
        } else
            o[j++] = c;
    }
    o[j] = 0;
    return o;
}

static void parse_line(json_t *out, const char *line)
{
    if (!*line || *line == '#' || *line == '!')
        return;
    size_t n = strlen(line), k = 0;
    while (k < n) {
        if (line[k] == '\\') {
            k += 2;
            continue;
        }
        if (line[k] == '=' || line[k] == ':' || line[k] == ' ' || line[k] == '\t' || line[k] == '\f')
            break;
        k++;
    }
    if (k > n)
        k = n;
    size_t v = k;
    while (v < n && (line[v] == ' ' || line[v] == '\t' || line[v] == '\f'))
        v++;
    if (v < n && (line[v] == '=' || line[v] == ':'))
        v++;
    while (v < n && (line[v] == ' ' || line[v] == '\t' || line[v] == '\f'))
        v++;
    char *key = unescape(line, k);
    char *val = unescape(line + v, n - v);
    json_t *jv = json_string(val); /* NULL when not UTF-8: keep the bytes as they are */
    json_object_set_new(out, key, jv ? jv : json_stringn_nocheck(val, strlen(val)));
    free(key);
    free(val);
}

json_t *props_parse(const char *text, size_t len)
{
    json_t *out = json_object();
    size_t pos = 0;
    char *line;
    while ((line = logical_line(text, len, &pos))) {
        parse_line(out, line);
        free(line);
    }
    return out;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %m", path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static json_t *load_json(const char *text, size_t len, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j) {
        snprintf(err, errlen, "%s: invalid JSON at line %d column %d: %s", path, je.line,
                 je.column, je.text);
        return NULL;
    }
    json_t *conf = json_object_get(j, "config");
    json_t *out;
    if (json_is_object(conf)) {
        out = cfg_stringify(conf, err, errlen);
        const char *name = json_string_value(json_object_get(j, "name"));
        if (out && name && !json_object_get(out, "name"))
            json_object_set_new(out, "name", json_string(name));
    } else
        out = cfg_stringify(j, err, errlen);
    json_decref(j);
    return out;
}

json_t *props_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = read_file(path, &len, err, errlen);
    if (!text)
        return NULL;
    size_t pl = strlen(path);
    json_t *out = (pl > 5 && !strcmp(path + pl - 5, ".json"))
                      ? load_json(text, len, path, err, errlen)
                      : props_parse(text, len);
    free(text);
    return out;
}
