/* jdbc_sql.c — SQL text: identifier quoting, table names, COPY escaping, column types and the
 * statement builders. Values never appear here: they travel as parameters or COPY data. */
#include "jdbc.h"

#include "conv_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jdbc_buf_grow(struct jdbc_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int jdbc_buf_str(struct jdbc_buf *b, const char *s)
{
    return jdbc_buf_add(b, s, strlen(s));
}

int jdbc_buf_int(struct jdbc_buf *b, long long v)
{
    char tmp[24];
    return jdbc_buf_add(b, tmp, cd_int_text(tmp, v));
}

int jdbc_buf_printf(struct jdbc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || jdbc_buf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void jdbc_buf_free(struct jdbc_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

int jdbc_ident_plain_n(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i && ((c >= '0' && c <= '9') || c == '$'))))
            return 0;
    }
    return n > 0;
}

int jdbc_ident_plain(const char *name)
{
    return jdbc_ident_plain_n(name, strlen(name));
}

int jdbc_ident_folded_is(const char *name, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((unsigned char)name[i] != (c >= 'A' && c <= 'Z' ? c + 32 : c))
            return 0; /* also at name's NUL, as s has none */
    }
    return name[n] == '\0' && jdbc_ident_plain_n(s, n);
}

int jdbc_sql_ident(struct jdbc_buf *b, enum jdbc_dialect d, int quote, const char *name)
{
    if (!quote && jdbc_ident_plain(name))
        return jdbc_buf_str(b, name);
    char q = d == JDBC_PG ? '"' : '`';
    size_t n = strlen(name);
    if (jdbc_buf_reserve(b, 2 * n + 2))
        return -1;
    char *w = b->p + b->len;
    *w++ = q;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == q)
            *w++ = q;
        *w++ = name[i];
    }
    *w++ = q;
    b->len = (size_t)(w - b->p);
    b->p[b->len] = 0;
    return 0;
}

/* Postgres's NAMEDATALEN - 1, and MySQL's limit in characters (Identifier Length Limits). */
#define PG_NAME_MAX 63
#define MYSQL_NAME_MAX 64

int jdbc_ident_check(enum jdbc_dialect d, const char *name, char *why, size_t n)
{
    size_t len = strlen(name), chars = 0;
    int astral = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        chars += (c & 0xC0) != 0x80;
        astral |= c >= 0xF0; /* a 4-byte UTF-8 sequence: beyond U+FFFF */
    }
    if (!len)
        snprintf(why, n, "is empty");
    else if (d == JDBC_PG && len > PG_NAME_MAX)
        snprintf(why, n, "is %zu bytes long, and Postgres cuts names to %d bytes", len,
                 PG_NAME_MAX);
    else if (d == JDBC_MYSQL && chars > MYSQL_NAME_MAX)
        snprintf(why, n, "is %zu characters long, and MySQL allows %d", chars, MYSQL_NAME_MAX);
    else if (d == JDBC_MYSQL && name[len - 1] == ' ')
        snprintf(why, n, "ends with a space, which MySQL does not allow");
    else if (d == JDBC_MYSQL && astral)
        snprintf(why, n, "holds a character beyond U+FFFF, which MySQL does not allow in names");
    else
        return 0;
    return -1;
}

/* Appends fmt[from..to) with ${topic} expanded. */
static void expand(struct jdbc_buf *b, const char *fmt, size_t from, size_t to, const char *topic)
{
    static const char tok[] = "${topic}";
    for (size_t i = from; i < to;) {
        if (i + sizeof(tok) - 1 <= to && !strncmp(fmt + i, tok, sizeof(tok) - 1)) {
            jdbc_buf_str(b, topic);
            i += sizeof(tok) - 1;
        } else
            jdbc_buf_add(b, fmt + i++, 1);
    }
}

char *jdbc_table_name(const char *fmt, const char *topic)
{
    struct jdbc_buf b = {0};
    expand(&b, fmt, 0, strlen(fmt), topic);
    if (!b.p)
        return strdup("");
    return b.p;
}

void jdbc_table_split(const char *fmt, const char *topic, char **schema, char **table)
{
    static const char tok[] = "${topic}";
    size_t n = strlen(fmt), dot = n;
    for (size_t i = 0; i < n;) {
        if (!strncmp(fmt + i, tok, sizeof(tok) - 1)) {
            i += sizeof(tok) - 1;
            continue;
        }
        if (fmt[i] == '.')
            dot = i;
        i++;
    }
    struct jdbc_buf s = {0}, t = {0};
    if (dot < n) {
        expand(&s, fmt, 0, dot, topic);
        expand(&t, fmt, dot + 1, n, topic);
        *schema = s.p ? s.p : strdup("");
    } else {
        expand(&t, fmt, 0, n, topic);
        *schema = NULL;
    }
    *table = t.p ? t.p : strdup("");
}

int jdbc_copy_escape(struct jdbc_buf *b, const char *s, size_t len)
{
    /* the escaped form of each byte that needs one; most text has none, and its runs of plain
     * bytes are copied whole */
    static const char esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r',
                                  [0] = '0'}; /* \0: LOAD DATA only; Postgres text has no NUL */
    if (jdbc_buf_reserve(b, 2 * len))
        return -1;
    char *w = b->p + b->len;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !esc[*p])
            p++;
        memcpy(w, run, (size_t)(p - run));
        w += p - run;
        if (p < end) {
            *w++ = '\\';
            *w++ = esc[*p++];
        }
    }
    b->len = (size_t)(w - b->p);
    b->p[b->len] = 0;
    return 0;
}

const char *jdbc_sql_type(enum jdbc_dialect d, enum jdbc_type t, int is_key, int scale, char *tmp,
                          size_t tmplen)
{
    int pg = d == JDBC_PG;
    switch (t) {
    case JT_INT8:
        return pg ? "SMALLINT" : "TINYINT";
    case JT_INT16:
        return "SMALLINT";
    case JT_INT32:
        return pg ? "INTEGER" : "INT";
    case JT_INT64:
        return "BIGINT";
    case JT_FLOAT32:
        return pg ? "REAL" : "FLOAT";
    case JT_FLOAT64:
        return pg ? "DOUBLE PRECISION" : "DOUBLE";
    case JT_BOOL:
        return "BOOLEAN";
    case JT_BYTES:
        return pg ? "BYTEA" : is_key ? "VARBINARY(255)" : "LONGBLOB";
    case JT_DECIMAL:
        if (pg)
            return "DECIMAL";
        snprintf(tmp, tmplen, "DECIMAL(65,%d)", scale < 0 ? 0 : scale > 30 ? 30 : scale);
        return tmp;
    case JT_DATE:
        return "DATE";
    case JT_TIME:
        return pg ? "TIME" : "TIME(3)";
    case JT_TIMESTAMP:
        return pg ? "TIMESTAMP" : "DATETIME(3)";
    case JT_JSON:
        return pg ? "JSONB" : "JSON";
    case JT_STRING:
    default:
        return pg ? "TEXT" : is_key ? "VARCHAR(255)" : "LONGTEXT";
    }
}

static int param(struct jdbc_buf *b, enum jdbc_dialect d, int n)
{
    return d == JDBC_PG ? jdbc_buf_printf(b, "$%d", n) : jdbc_buf_add(b, "?", 1);
}

static int col_list(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    jdbc_buf_add(b, "(", 1);
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            jdbc_buf_add(b, ",", 1);
        jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
    }
    return jdbc_buf_add(b, ")", 1);
}

/* Postgres: ON CONFLICT (pk) DO UPDATE SET c=EXCLUDED.c..., or DO NOTHING when every column
 * is a key column. */
static void on_conflict(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    int k = 0, nonpk = 0;
    jdbc_buf_str(b, " ON CONFLICT (");
    for (int i = 0; i < s->ncols; i++)
        if (s->is_pk[i]) {
            if (k++)
                jdbc_buf_add(b, ",", 1);
            jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
        }
    jdbc_buf_str(b, ") DO ");
    for (int i = 0; i < s->ncols; i++)
        if (!s->is_pk[i]) {
            jdbc_buf_str(b, nonpk++ ? "," : "UPDATE SET ");
            jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
            jdbc_buf_str(b, "=EXCLUDED.");
            jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
        }
    if (!nonpk)
        jdbc_buf_str(b, "NOTHING");
}

int jdbc_sql_insert(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, int upsert)
{
    jdbc_buf_printf(b, "INSERT INTO %s ", s->qtable);
    col_list(b, s);
    jdbc_buf_str(b, " VALUES ");
    int n = 1;
    for (int r = 0; r < s->nrows; r++) {
        jdbc_buf_str(b, r ? ",(" : "(");
        for (int i = 0; i < s->ncols; i++) {
            if (i)
                jdbc_buf_add(b, ",", 1);
            param(b, s->dialect, n++);
        }
        jdbc_buf_add(b, ")", 1);
    }
    if (!upsert)
        return b->p ? 0 : -1;
    int nonpk = 0;
    if (s->dialect == JDBC_PG) {
        on_conflict(b, s);
    } else {
        jdbc_buf_str(b, " ON DUPLICATE KEY UPDATE ");
        for (int i = 0; i < s->ncols; i++)
            if (!s->is_pk[i]) {
                if (nonpk++)
                    jdbc_buf_add(b, ",", 1);
                jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
                jdbc_buf_str(b, "=VALUES(");
                jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
                jdbc_buf_add(b, ")", 1);
            }
        for (int i = 0; !nonpk && i < s->ncols; i++)
            if (s->is_pk[i]) { /* nothing to update: a no-op assignment */
                jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
                jdbc_buf_add(b, "=", 1);
                jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
                nonpk = 1;
            }
    }
    return b->p ? 0 : -1;
}

/* WHERE k1=$a AND k2=$b; placeholders numbered by column position on Postgres, in pk order
 * on MySQL (the executor binds non-pk values first, then pk values). */
static void where_pk(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    int k = 0;
    jdbc_buf_str(b, " WHERE ");
    for (int i = 0; i < s->ncols; i++)
        if (s->is_pk[i]) {
            if (k++)
                jdbc_buf_str(b, " AND ");
            jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
            jdbc_buf_add(b, "=", 1);
            param(b, s->dialect, i + 1);
        }
}

int jdbc_sql_update(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    int k = 0;
    jdbc_buf_printf(b, "UPDATE %s SET ", s->qtable);
    for (int i = 0; i < s->ncols; i++)
        if (!s->is_pk[i]) {
            if (k++)
                jdbc_buf_add(b, ",", 1);
            jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
            jdbc_buf_add(b, "=", 1);
            param(b, s->dialect, i + 1);
        }
    where_pk(b, s);
    return b->p ? 0 : -1;
}

int jdbc_sql_delete(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    jdbc_buf_printf(b, "DELETE FROM %s", s->qtable);
    where_pk(b, s);
    return b->p ? 0 : -1;
}

int jdbc_sql_copy(struct jdbc_buf *b, const struct jdbc_stmt_spec *s)
{
    jdbc_buf_printf(b, "COPY %s ", s->qtable);
    col_list(b, s);
    jdbc_buf_str(b, " FROM STDIN");
    return b->p ? 0 : -1;
}

int jdbc_sql_stage_create(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, const char *stage)
{
    jdbc_buf_printf(b, "CREATE TEMP TABLE %s ON COMMIT DELETE ROWS AS SELECT ", stage);
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            jdbc_buf_add(b, ",", 1);
        jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
    }
    jdbc_buf_printf(b, " FROM %s WITH NO DATA", s->qtable);
    return b->p ? 0 : -1;
}

int jdbc_sql_upsert_from(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, const char *stage)
{
    jdbc_buf_printf(b, "INSERT INTO %s ", s->qtable);
    col_list(b, s);
    jdbc_buf_str(b, " SELECT ");
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            jdbc_buf_add(b, ",", 1);
        jdbc_sql_ident(b, s->dialect, s->quote, s->cols[i]);
    }
    jdbc_buf_printf(b, " FROM %s", stage);
    on_conflict(b, s);
    return b->p ? 0 : -1;
}
