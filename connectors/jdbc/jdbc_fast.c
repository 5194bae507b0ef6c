/* jdbc_fast.c — schemaless JSON records straight from their bytes to row cells.
 *
 * The usual path turns each value into a jansson tree, the tree into fields, and the fields
 * into cells; for the flat objects every seed produces that was most of the sink's CPU. Here
 * the runtime leaves the value unconverted (lazy_json_values) and one pass over its bytes
 * (cd_jscan) writes the cells, when the record is plain: a flat object whose every field
 * already has a column of a type that takes the value as it is. Anything else (a new field, a
 * value that needs widening or a format, nested values, escapes in keys, duplicate keys,
 * pk.mode=record_key) returns 1 and takes the usual path, which then does exactly what it did
 * before. The cells are byte-for-byte what jdbc_render writes, except for reals, whose JSON
 * text is passed on as it is: the database reads it into the same double as the shortest
 * form jdbc_render would print (both parse correctly rounded). */
#include "jdbc.h"

#include "conv_util.h"
#include "json_parse.h"

#include <string.h>

#define FAST_MAX_FIELDS 64

/* One row being built: its cells in field order. */
struct fast_row {
    int n;
    int cols[FAST_MAX_FIELDS], pks[FAST_MAX_FIELDS];
    struct jdbc_cell cells[FAST_MAX_FIELDS];
};

static unsigned char tolower_ascii(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* name (a column's, NUL-ended) is the column of the n bytes at s (a JSON key: no NUL), as
 * col_is in jdbc.c decides: MySQL's names ignore case, and Postgres folds unquoted names. A
 * loop, not strncmp: names are short and this runs for every field. */
static int name_is(const struct jdbc_task *j, const char *name, const char *s, size_t n)
{
    int fold = j->url.dialect == JDBC_MYSQL;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)name[i], b = (unsigned char)s[i];
        if (a != b && (!fold || tolower_ascii(a) != tolower_ascii(b)))
            return !fold && !j->c.quote && jdbc_ident_folded_is(name, s, n);
    }
    return name[n] == '\0' || (!fold && !j->c.quote && jdbc_ident_folded_is(name, s, n));
}

static int list_has(char *const *l, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (!strncmp(l[i], s, len) && l[i][len] == '\0')
            return 1;
    return 0;
}

/* Column of table t named s, trying the one the k-th field matched last time first. */
static int col_of(const struct jdbc_task *j, struct jdbc_table *t, int k, const char *s,
                  size_t n)
{
    int *hint = k < (int)(sizeof(t->hint) / sizeof(t->hint[0])) ? &t->hint[k] : NULL;
    if (hint && *hint < t->ncols && name_is(j, t->cols[*hint].name, s, n))
        return *hint;
    for (int i = 0; i < t->ncols; i++)
        if (name_is(j, t->cols[i].name, s, n)) {
            if (hint)
                *hint = i;
            return i;
        }
    return -1;
}

/* Appends the cell text of member m for a column of type ct, as jdbc_render would write it.
 * 0, 1 when this path does not take the pair, -1 when memory is short. */
static int fast_text(struct jdbc_task *j, struct jdbc_buf *d, enum jdbc_type ct,
                     const struct cd_jmember *m)
{
    int pg = j->url.dialect == JDBC_PG;
    switch (m->kind) {
    case CDJ_STRING:
        if (ct != JT_STRING && ct != JT_OTHER && ct != JT_DATE && ct != JT_TIME &&
            ct != JT_TIMESTAMP)
            return 1;
        if (!m->val_esc)
            return jdbc_buf_add(d, m->val, m->val_len);
        if (jdbc_buf_reserve(d, m->val_len))
            return -1;
        d->len += cd_json_unescape(d->p + d->len, m->val, m->val_len);
        return 0;
    case CDJ_INT:
        if (!jdbc_type_is_int(ct) && ct != JT_FLOAT32 && ct != JT_FLOAT64 && ct != JT_DECIMAL &&
            ct != JT_OTHER)
            return 1;
        if (m->val_len == 2 && m->val[0] == '-' && m->val[1] == '0')
            return jdbc_buf_add(d, "0", 1); /* -0 is the integer 0 */
        return jdbc_buf_add(d, m->val, m->val_len);
    case CDJ_REAL:
        return ct == JT_FLOAT64 ? jdbc_buf_add(d, m->val, m->val_len) : 1;
    case CDJ_TRUE:
    case CDJ_FALSE:
        if (ct != JT_BOOL)
            return 1;
        return jdbc_buf_str(d, m->kind == CDJ_TRUE ? (pg ? "t" : "1") : (pg ? "f" : "0"));
    default:
        return 1;
    }
}

/* Adds a cell for column ci (pk flag is_pk) holding member m: 0, 1 = not taken, -1 = memory. */
static int fast_cell(struct jdbc_task *j, struct jdbc_table *t, struct fast_row *row, int ci,
                     int is_pk, const struct cd_jmember *m)
{
    struct jdbc_buf *d = &j->batch.data;
    if (row->n == FAST_MAX_FIELDS)
        return 1;
    for (int i = 0; i < row->n; i++)
        if (row->cols[i] == ci)
            return 1; /* a duplicate key: the usual path keeps the last one */
    struct jdbc_cell *c = &row->cells[row->n];
    c->off = (uint32_t)d->len;
    c->null = m->kind == CDJ_NULL;
    c->binary = 0;
    if (!c->null) {
        int rc = fast_text(j, d, t->cols[ci].type, m);
        if (rc)
            return rc;
    }
    c->len = (uint32_t)(d->len - c->off);
    if (jdbc_buf_add(d, "", 1)) /* NUL after each cell, as batch_add */
        return -1;
    row->cols[row->n] = ci;
    row->pks[row->n++] = is_pk;
    return 0;
}

/* pk.mode=kafka: the topic, partition and offset cells come first. */
static int fast_kafka_cells(struct jdbc_task *j, struct jdbc_table *t, struct fast_row *row,
                            const struct cd_record *r)
{
    char num[2][24];
    cd_int_text(num[0], r->partition); /* per record: no printf */
    cd_int_text(num[1], r->offset);
    for (int i = 0; i < 3; i++) {
        const char *name = j->c.npk == 3 ? j->c.pk_fields[i] : jdbc_kafka_pk_names[i];
        int ci = col_of(j, t, i, name, strlen(name));
        if (ci < 0)
            return 1;
        enum jdbc_type ct = t->cols[ci].type;
        struct cd_jmember m = {.kind = i ? CDJ_INT : CDJ_STRING,
                               .val = i ? num[i - 1] : r->topic};
        m.val_len = strlen(m.val);
        if ((i ? !jdbc_type_is_int(ct) : ct != JT_STRING && ct != JT_OTHER))
            return 1;
        int rc = fast_cell(j, t, row, ci, 1, &m);
        if (rc)
            return rc;
    }
    return 0;
}

/* The cells of the value's fields, in the order the usual path gives them. */
static int fast_value_cells(struct jdbc_task *j, struct jdbc_table *t, struct fast_row *row,
                            const struct cd_record *r)
{
    const struct jdbc_conf *c = &j->c;
    struct cd_jscan sc;
    struct cd_jmember m;
    int rc, k = row->n, pk_side = c->pk_mode == JDBC_PK_RECORD_VALUE, npk = 0;
    if (cd_jscan_start(&sc, r->raw_value, r->raw_value_len))
        return 1;
    while ((rc = cd_jscan_next(&sc, &m)) == 1) {
        if (m.key_esc)
            return 1;
        int pk = pk_side && (!c->npk || list_has(c->pk_fields, c->npk, m.key, m.key_len));
        if (!pk && c->ninclude && !list_has(c->include, c->ninclude, m.key, m.key_len))
            continue;
        int ci = col_of(j, t, k++, m.key, m.key_len);
        if ((ci < 0 && m.kind != CDJ_NULL) || (pk && m.kind == CDJ_NULL))
            return 1; /* a new column, or a null key field: the usual path says what to do */
        if (ci < 0)
            continue; /* a null without a column yet */
        if ((rc = fast_cell(j, t, row, ci, pk, &m)))
            return rc;
        npk += pk;
    }
    if (rc < 0 || (pk_side && c->npk && npk != c->npk))
        return 1; /* not plain JSON, or a pk field missing: the usual path has the error */
    return 0;
}

/* record_value: pk fields first, in their record order, as jdbc_record_fields does. */
static void fast_pk_first(struct fast_row *row)
{
    struct fast_row out;
    out.n = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < row->n; i++)
            if (row->pks[i] == pass) {
                out.cols[out.n] = row->cols[i];
                out.pks[out.n] = row->pks[i];
                out.cells[out.n++] = row->cells[i];
            }
    *row = out;
}

int jdbc_fast_row(struct jdbc_task *j, struct cd_record *r)
{
    if (r->value_pending != 1 || j->c.pk_mode == JDBC_PK_RECORD_KEY)
        return 1;
    struct jdbc_table *t;
    int rc = jdbc_table_get(j, r->topic, &t);
    if (rc)
        return rc;
    if (!t->exists || t->bad_name)
        return 1; /* table_fit creates it, or rejects the record */
    struct fast_row row;
    size_t data0 = j->batch.data.len;
    row.n = 0;
    rc = j->c.pk_mode == JDBC_PK_KAFKA ? fast_kafka_cells(j, t, &row, r) : 0;
    if (!rc)
        rc = fast_value_cells(j, t, &row, r);
    if (!rc && j->c.pk_mode == JDBC_PK_RECORD_VALUE)
        fast_pk_first(&row);
    if (!rc && row.n && !jdbc_batch_place(j, t, r, JDBC_OP_WRITE, row.cols, row.pks,
                                          row.cells, row.n))
        return 0;
    j->batch.data.len = data0;
    if (rc > 0 || (!rc && !row.n))
        return 1;
    snprintf(j->err, sizeof(j->err), "out of memory");
    return JDBC_E_OTHER;
}
