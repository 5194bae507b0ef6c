/* jdbc_pg.c — the Postgres backend (libpq). Insert mode streams rows with COPY ... FROM STDIN
 * (text format), one COPY and transaction for consecutive batches (pg_copy_open, _append,
 * _finish). Upsert COPYs a segment of 64 rows or more into a temp stage table and moves
 * it with one INSERT ... SELECT ... ON CONFLICT (see "staged upsert"); smaller segments, and
 * the row-by-row search for a refused row, use multi-row INSERT ... ON CONFLICT prepared per
 * chunk size. Update and delete send one prepared statement per row in pipeline mode. One
 * transaction per batch otherwise, with the exactly-once offsets upserted into connectd_offsets
 * before COMMIT. A batch of one staged upsert segment goes as one query (pg_send) whose
 * outcome is read while the task maps the next batch (pg_collect), as is the COMMIT of a COPY
 * left open. */
#include "jdbc.h"

#include "log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_PIPELINE_MAX 256

struct pg_stmt {
    char *key;
    char name[24];   /* empty: no statement, only a verdict */
    int stage;       /* a stage table pg_temp.<name>, not a prepared statement */
    unsigned filled; /* stage: the transaction (pg_state.xact) that copied rows into it */
    int unique;      /* verdict of pg_key_unique for the key columns of its key */
    struct pg_stmt *next;
};

struct pg_state {
    PGconn *c;
    unsigned next_stmt;
    unsigned xact; /* counts the batch transactions begun */
    int off_prepared;
    int can_stage; /* upsert, and the user may create temp tables */
    struct jdbc_buf copy;
    const char **vals; /* parameter pointers, reused */
    size_t capvals;
    char *fly_table; /* table of the batch sent by pg_send, for its error message */
    int copying;     /* a COPY left open by pg_copy_open is in progress */
};

static PGconn *pgc(struct jdbc_task *j)
{
    return ((struct pg_state *)j->db)->c;
}

static int oom(struct jdbc_task *j)
{
    snprintf(j->err, sizeof(j->err), "out of memory");
    return JDBC_E_OTHER;
}

/* Classifies a failed result and copies the message into j->err. */
static int pg_fail(struct jdbc_task *j, PGresult *r, const char *what)
{
    struct pg_state *s = j->db;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(s->c);
    snprintf(j->err, sizeof(j->err), "%s%s%s", what ? what : "", what ? ": " : "", msg);
    size_t n = strlen(j->err);
    while (n && (j->err[n - 1] == '\n' || j->err[n - 1] == ' '))
        j->err[--n] = 0;
    jdbc_err_scrub(j);
    if (PQstatus(s->c) == CONNECTION_BAD || !st)
        return JDBC_E_CONN;
    if (!strncmp(st, "08", 2) || !strncmp(st, "57P", 3) || !strncmp(st, "53", 2) ||
        !strncmp(st, "58", 2))
        return JDBC_E_CONN;
    if (!strncmp(st, "22", 2) || !strncmp(st, "23", 2) || !strcmp(st, "42804"))
        return JDBC_E_DATA;
    return JDBC_E_OTHER;
}

/* Runs sql with text parameters; expects status want. */
static int pg_run(struct jdbc_task *j, const char *sql, int n, const char *const *vals,
                  ExecStatusType want, PGresult **out)
{
    PGresult *r = n ? PQexecParams(pgc(j), sql, n, NULL, vals, NULL, NULL, 0) : PQexec(pgc(j), sql);
    if (PQresultStatus(r) != want) {
        int rc = pg_fail(j, r, NULL);
        PQclear(r);
        return rc;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return JDBC_OK;
}

/* Sets can_stage: whether the user may create the temp tables of the staged upsert (the
 * TEMPORARY privilege, which PUBLIC has unless an administrator revoked it). */
static int pg_can_stage(struct jdbc_task *j)
{
    PGresult *r = NULL;
    int rc = pg_run(j, "SELECT has_database_privilege(current_database(), 'TEMPORARY')", 0,
                    NULL, PGRES_TUPLES_OK, &r);
    if (rc)
        return rc;
    struct pg_state *s = j->db;
    s->can_stage = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!s->can_stage)
        task_log(j->t, LOG_INFO, "no TEMPORARY privilege on the database: upserts use "
                                 "multi-row INSERT instead of a temp stage table");
    return JDBC_OK;
}

static int pg_connect(struct jdbc_task *j)
{
    const struct jdbc_url *u = &j->url;
    const char *keys[64], *vals[64];
    char port[16], opts[600];
    int n = 0;
#define KV(k, v)                                                                                   \
    do {                                                                                           \
        const char *v_ = (v);                                                                      \
        if (v_ && n < 60) {                                                                        \
            keys[n] = (k);                                                                         \
            vals[n++] = v_;                                                                        \
        }                                                                                          \
    } while (0)
    KV("host", u->host);
    if (u->port) {
        snprintf(port, sizeof(port), "%d", u->port);
        KV("port", port);
    }
    KV("dbname", u->db);
    KV("user", *j->user ? j->user : NULL);
    KV("password", *j->password ? j->password : NULL);
    int has_timeout = 0, has_app = 0;
    PQconninfoOption *defs = PQconndefaults();
    for (int i = 0; i < u->nparams; i++) {
        const char *k = u->keys[i], *v = u->vals[i];
        if (!strcasecmp(k, "user") || !strcasecmp(k, "password"))
            continue;
        if (!strcasecmp(k, "ssl")) {
            if (!strcasecmp(v, "true"))
                KV("sslmode", "require");
            continue;
        }
        if (!strcasecmp(k, "connectTimeout") || !strcasecmp(k, "connect_timeout")) {
            KV("connect_timeout", v);
            has_timeout = 1;
            continue;
        }
        if (!strcasecmp(k, "ApplicationName") || !strcasecmp(k, "application_name")) {
            KV("application_name", v);
            has_app = 1;
            continue;
        }
        if (!strcasecmp(k, "currentSchema")) {
            snprintf(opts, sizeof(opts), "-c search_path=%s", v);
            KV("options", opts);
            continue;
        }
        int known = 0;
        for (PQconninfoOption *o = defs; o && o->keyword; o++)
            if (!strcmp(o->keyword, k))
                known = 1;
        if (known)
            KV(k, v);
        else
            task_log(j->t, LOG_DEBUG, "connection.url parameter '%s' ignored", k);
    }
    if (!has_timeout)
        KV("connect_timeout", "10");
    if (!has_app)
        KV("application_name", "connectd");
    keys[n] = vals[n] = NULL;
#undef KV
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    PQconninfoFree(defs);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char where[512];
        snprintf(j->err, sizeof(j->err), "cannot connect to Postgres at %s: %s",
                 jdbc_url_target(u, where, sizeof(where)), c ? PQerrorMessage(c) : "out of memory");
        size_t l = strlen(j->err);
        while (l && j->err[l - 1] == '\n')
            j->err[--l] = 0;
        jdbc_err_scrub(j);
        PQfinish(c);
        return JDBC_E_CONN;
    }
    struct pg_state *s = calloc(1, sizeof(*s));
    s->c = c;
    j->db = s;
    int rc = pg_run(j, "SET TIME ZONE 'UTC'", 0, NULL, PGRES_COMMAND_OK, NULL);
    if (!rc && j->c.eos)
        rc = pg_run(j,
                    "CREATE TABLE IF NOT EXISTS " JDBC_OFFSETS_TABLE
                    " (connector TEXT NOT NULL, topic TEXT NOT NULL, \"partition\" INTEGER NOT "
                    "NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (connector, topic, "
                    "\"partition\"))",
                    0, NULL, PGRES_COMMAND_OK, NULL);
    if (rc && rc != JDBC_E_CONN) {
        /* a concurrent CREATE TABLE IF NOT EXISTS can race; check the table is there */
        PGresult *r = NULL;
        if (!pg_run(j, "SELECT to_regclass('" JDBC_OFFSETS_TABLE "') IS NOT NULL", 0, NULL,
                    PGRES_TUPLES_OK, &r)) {
            if (PQntuples(r) && PQgetvalue(r, 0, 0)[0] == 't')
                rc = JDBC_OK;
            PQclear(r);
        }
    }
    if (!rc && j->c.insert_mode == JDBC_UPSERT)
        rc = pg_can_stage(j);
    if (rc) {
        PQfinish(c);
        free(s);
        j->db = NULL;
    }
    return rc;
}

static void stmts_free(struct jdbc_table *t)
{
    for (struct pg_stmt *p = t->stmts, *n; p; p = n) {
        n = p->next;
        free(p->key);
        free(p);
    }
    t->stmts = NULL;
}

static void pg_disconnect(struct jdbc_task *j)
{
    struct pg_state *s = j->db;
    for (struct jdbc_table *t = j->tables; t; t = t->next)
        stmts_free(t);
    PQfinish(s->c);
    free(s->fly_table);
    jdbc_buf_free(&s->copy);
    free(s->vals);
    free(s);
}

static void pg_table_forget(struct jdbc_task *j, struct jdbc_table *t)
{
    char sql[64];
    for (struct pg_stmt *p = t->stmts; p; p = p->next) {
        if (!p->name[0])
            continue;
        snprintf(sql, sizeof(sql), p->stage ? "DROP TABLE IF EXISTS pg_temp.%s" : "DEALLOCATE %s",
                 p->name);
        PQclear(PQexec(pgc(j), sql));
    }
    stmts_free(t);
}

static int pg_exec(struct jdbc_task *j, const char *sql)
{
    return pg_run(j, sql, 0, NULL, PGRES_COMMAND_OK, NULL);
}

static int pg_table_load(struct jdbc_task *j, struct jdbc_table *t)
{
    PGresult *r = NULL;
    const char *v[1] = {t->qname};
    int rc = pg_run(j,
                    "SELECT a.attname, CASE WHEN ty.typtype = 'd' THEN bt.typname ELSE ty.typname "
                    "END, a.attnotnull, c.oid IS NOT NULL FROM (SELECT to_regclass($1) AS oid) c "
                    "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT "
                    "a.attisdropped LEFT JOIN pg_type ty ON ty.oid = a.atttypid LEFT JOIN pg_type "
                    "bt ON bt.oid = ty.typbasetype ORDER BY a.attnum",
                    1, v, PGRES_TUPLES_OK, &r);
    if (rc) {
        snprintf(j->err + strlen(j->err), sizeof(j->err) - strlen(j->err),
                 " (reading columns of %s)", t->name);
        return rc;
    }
    int n = PQntuples(r);
    t->exists = n > 0 && PQgetvalue(r, 0, 3)[0] == 't';
    t->ncols = 0;
    for (int i = 0; i < n && t->exists; i++) {
        if (PQgetisnull(r, i, 0))
            continue;
        if (t->ncols == t->capcols) {
            int cap = t->capcols ? t->capcols * 2 : 16;
            struct jdbc_column *nc = realloc(t->cols, sizeof(*nc) * (size_t)cap);
            if (!nc)
                break;
            t->cols = nc;
            t->capcols = cap;
        }
        struct jdbc_column *c = &t->cols[t->ncols++];
        c->name = strdup(PQgetvalue(r, i, 0));
        c->type = jdbc_type_of_sqlname(JDBC_PG, PQgetvalue(r, i, 1), NULL);
        c->nullable = PQgetvalue(r, i, 2)[0] != 't';
    }
    PQclear(r);
    return JDBC_OK;
}

static struct pg_stmt *stmt_find(struct jdbc_table *t, const char *key)
{
    for (struct pg_stmt *p = t->stmts; p; p = p->next)
        if (!strcmp(p->key, key))
            return p;
    return NULL;
}

/* Prepared statement sql under key in table t, prepared on first use. NULL on error. */
static const char *pg_prepare(struct jdbc_task *j, struct jdbc_table *t, const char *key,
                              const struct jdbc_buf *sql, int nparams, int *rc)
{
    struct pg_state *s = j->db;
    struct pg_stmt *found = stmt_find(t, key);
    if (found)
        return found->name;
    struct pg_stmt *p = calloc(1, sizeof(*p));
    if (!p) {
        *rc = JDBC_E_OTHER;
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "cd_%u", ++s->next_stmt);
    PGresult *r = PQprepare(s->c, p->name, sql->p, nparams, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *rc = pg_fail(j, r, t->name);
        PQclear(r);
        free(p);
        return NULL;
    }
    PQclear(r);
    p->key = strdup(key);
    p->next = t->stmts;
    t->stmts = p;
    return p->name;
}

static int vals_reserve(struct pg_state *s, size_t n)
{
    if (n <= s->capvals)
        return 0;
    const char **v = realloc(s->vals, sizeof(*v) * n);
    if (!v)
        return -1;
    s->vals = v;
    s->capvals = n;
    return 0;
}

static const char *cell_str(struct jdbc_batch *b, const struct jdbc_cell *c)
{
    return c->null ? NULL : b->data.p + c->off;
}

/* COPY data goes in CopyData messages of about this size. Postgres reads each message whole
 * into a buffer that every COPY statement allocates anew and that glibc then returns to the
 * kernel: with 1 MB messages the backend page-faulted 56k-61k times per 1M rows of the JDBC
 * benchmark, with 64 KB 45k (psql's \copy sends 8 KB pieces: 5.5k in all). */
#define PG_COPY_PIECE (64 << 10)

/* Streams the live rows of a segment into the COPY in progress, in PG_COPY_PIECE pieces.
 * Returns the number of rows sent (fewer than nlive when memory or the connection failed). */
static int copy_rows(struct pg_state *s, struct jdbc_batch *b, const struct jdbc_seg *sg,
                     const int *live, int nlive)
{
    struct jdbc_buf *cb = &s->copy;
    cb->len = 0;
    int sent = 0;
    for (int k = 0; k < nlive; k++) {
        const struct jdbc_cell *c = &b->cells[b->rows[live[k]].cell0];
        for (int i = 0; i < sg->ncols; i++) {
            if (i)
                jdbc_buf_add(cb, "\t", 1);
            if (c[i].null)
                jdbc_buf_add(cb, "\\N", 2);
            else
                jdbc_copy_escape(cb, b->data.p + c[i].off, c[i].len);
        }
        if (jdbc_buf_add(cb, "\n", 1))
            break; /* out of memory: the COPY is cancelled by the caller */
        if (cb->len >= PG_COPY_PIECE || k == nlive - 1) {
            if (PQputCopyData(s->c, cb->p, (int)cb->len) != 1)
                break;
            cb->len = 0;
        }
        sent++;
    }
    if (cb->cap > (8u << 20)) /* do not keep a huge buffer around */
        jdbc_buf_free(cb);
    return sent;
}

/* COPY ... FROM STDIN for the segment's columns, into sql; into names the table (NULL = the
 * segment's). */
static int copy_sql(struct jdbc_task *j, const struct jdbc_seg *sg, const char *into,
                    struct jdbc_buf *sql)
{
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_PG, &sp, names);
    if (into)
        sp.qtable = into;
    return jdbc_sql_copy(sql, &sp);
}

/* COPY of the segment's rows (those not skipped) into into (NULL = the segment's table). On
 * a data error *bad is the row the CONTEXT line names. */
static int pg_copy(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg,
                   const char *into, int *bad)
{
    struct pg_state *s = j->db;
    int live[sg->nrows];
    int nlive = jdbc_seg_live(b, sg, live);
    if (!nlive)
        return JDBC_OK;
    struct jdbc_buf sql = {0};
    copy_sql(j, sg, into, &sql);
    int rc = pg_run(j, sql.p, 0, NULL, PGRES_COPY_IN, NULL);
    jdbc_buf_free(&sql);
    if (rc)
        return rc;
    int sent = copy_rows(s, b, sg, live, nlive);
    PQputCopyEnd(s->c, sent == nlive ? NULL : "client error");
    PGresult *r = PQgetResult(s->c);
    rc = JDBC_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_fail(j, r, sg->table->name);
        const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
        const char *line = ctx ? strstr(ctx, ", line ") : NULL;
        int ln = line ? atoi(line + 7) : 0;
        if (ln >= 1 && ln <= nlive)
            *bad = live[ln - 1];
    }
    PQclear(r);
    while ((r = PQgetResult(s->c)))
        PQclear(r);
    return rc;
}

/* Multi-row INSERT (... ON CONFLICT) in chunks; chunk of 1 in locate mode. */
static int pg_insert_rows(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg,
                          int upsert, int locate, int *bad)
{
    struct pg_state *s = j->db;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_PG, &sp, names);
    int live[sg->nrows];
    int nlive = jdbc_seg_live(b, sg, live);
    int max = jdbc_chunk_max(j, sg, locate, 32767);
    struct jdbc_buf key = {0}, sql = {0};
    int rc = JDBC_OK;
    for (int done = 0; done < nlive && !rc;) {
        int m = jdbc_chunk_rows(nlive - done, max);
        jdbc_seg_key(&key, upsert ? 'U' : 'I', m, sg);
        sql.len = 0;
        sp.nrows = m;
        jdbc_sql_insert(&sql, &sp, upsert);
        const char *name = pg_prepare(j, sg->table, key.p, &sql, m * sg->ncols, &rc);
        if (!name)
            break;
        if (vals_reserve(s, (size_t)m * (size_t)sg->ncols)) {
            rc = JDBC_E_OTHER;
            break;
        }
        for (int r = 0; r < m; r++) {
            const struct jdbc_cell *c = &b->cells[b->rows[live[done + r]].cell0];
            for (int i = 0; i < sg->ncols; i++)
                s->vals[r * sg->ncols + i] = cell_str(b, &c[i]);
        }
        PGresult *res = PQexecPrepared(s->c, name, m * sg->ncols, s->vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = pg_fail(j, res, sg->table->name);
            if (m == 1)
                *bad = live[done];
        }
        PQclear(res);
        done += m;
    }
    jdbc_buf_free(&key);
    jdbc_buf_free(&sql);
    return rc;
}

/* ---- staged upsert ----
 * A large upsert segment is COPYed into a temp table shaped like its columns (the stage),
 * then moved into the table with one INSERT ... SELECT ... ON CONFLICT, inside the batch's
 * transaction. COPY text costs both sides less CPU than binding 3000 x 10 parameters (a
 * bench run, 1M vitals rows, each batch waited for: connectd 5.8 -> 3.9 s CPU, Postgres
 * 6.9 -> 5.8 s), and above all a batch of one segment then fits one query, COPY + INSERT ...
 * SELECT + offsets, that can stay in flight like insert mode's (pg_send).
 * The stage is ON COMMIT DELETE ROWS, so each batch finds it empty; a rolled back batch
 * empties it too; a second segment using it in the same batch TRUNCATEs it first. Its
 * columns have the table's types at creation (CREATE TABLE AS ... WITH NO DATA), without
 * NOT NULL or other constraints: a value its type refuses fails the COPY, a NULL in a NOT
 * NULL column the INSERT; either way the refused row is then located row by row as before.
 * It is dropped with the table's statements whenever the table changes (auto.evolve, a
 * failure that re-reads the metadata), lost with the connection, and made again on use. */

/* Smaller upsert segments use the multi-row INSERT. Measured with libpq on this 2-core box
 * (10 columns, one transaction per batch): 1-16 rows take Postgres 0.27-0.38 ms that way but
 * 0.5-0.65 ms staged even as one query (the stage's truncation at commit, an extra statement),
 * and batches that small mean the sink keeps up, so there is no mapping to overlap. From 64
 * rows on, staging in flight wins end to end: with batch.size=64, 81k -> 126k rows/s. */
#define PG_STAGE_MIN_ROWS 64

/* Whether the segment goes through a stage: an upsert of PG_STAGE_MIN_ROWS live rows or
 * more, not in the row-by-row search, when the user may create temp tables. */
static int pg_staged(const struct jdbc_task *j, const struct jdbc_batch *b,
                     const struct jdbc_seg *sg, int locate)
{
    if (locate || j->c.insert_mode != JDBC_UPSERT || sg->op != JDBC_OP_WRITE ||
        !((const struct pg_state *)j->db)->can_stage)
        return 0;
    int nlive = 0;
    for (int k = 0; k < sg->nrows && nlive < PG_STAGE_MIN_ROWS; k++)
        nlive += !b->rows[sg->rows[k]].skip;
    return nlive >= PG_STAGE_MIN_ROWS;
}

/* Creates, if not there yet, the stage of the segment's columns and prepares the statement
 * that moves its rows into the table. Runs outside the batch's transaction: a CREATE rolled
 * back with a failed batch would leave the stage cached but gone. */
static int pg_stage_ready(struct jdbc_task *j, struct jdbc_seg *sg)
{
    struct pg_state *s = j->db;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_PG, &sp, names);
    struct jdbc_buf key = {0}, sql = {0};
    char stage[48];
    int rc = JDBC_OK;
    jdbc_seg_key(&key, 'S', 0, sg);
    struct pg_stmt *p = stmt_find(sg->table, key.p);
    if (!p) {
        p = calloc(1, sizeof(*p));
        char *k = p ? strdup(key.p) : NULL;
        if (!k) {
            free(p);
            rc = oom(j);
            goto out;
        }
        snprintf(p->name, sizeof(p->name), "cd_stage_%u", ++s->next_stmt);
        snprintf(stage, sizeof(stage), "pg_temp.%s", p->name);
        jdbc_sql_stage_create(&sql, &sp, stage);
        PGresult *r = PQexec(s->c, sql.p);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(j, r, sg->table->name);
            PQclear(r);
            free(k);
            free(p);
            goto out;
        }
        PQclear(r);
        p->key = k;
        p->stage = 1;
        p->next = sg->table->stmts;
        sg->table->stmts = p;
    }
    snprintf(stage, sizeof(stage), "pg_temp.%s", p->name);
    sql.len = 0;
    jdbc_sql_upsert_from(&sql, &sp, stage);
    key.p[0] = 'M';
    pg_prepare(j, sg->table, key.p, &sql, 0, &rc);
out:
    jdbc_buf_free(&key);
    jdbc_buf_free(&sql);
    return rc;
}

/* The stages of the batch's staged segments, ready before its transaction begins. */
static int pg_stages_ready(struct jdbc_task *j, struct jdbc_batch *b, int locate)
{
    int rc = JDBC_OK;
    for (int i = 0; i < b->nsegs && !rc; i++)
        if (pg_staged(j, b, &b->segs[i], locate))
            rc = pg_stage_ready(j, &b->segs[i]);
    return rc;
}

/* The segment's stage as made by pg_stage_ready (NULL when not made), its qualified name into
 * stage, and into *move the prepared statement that moves its rows into the table. */
static struct pg_stmt *stage_of(struct jdbc_seg *sg, char *stage, size_t n, struct pg_stmt **move)
{
    struct jdbc_buf key = {0};
    jdbc_seg_key(&key, 'S', 0, sg);
    struct pg_stmt *st = stmt_find(sg->table, key.p);
    key.p[0] = 'M';
    *move = stmt_find(sg->table, key.p);
    jdbc_buf_free(&key);
    if (st)
        snprintf(stage, n, "pg_temp.%s", st->name);
    return st;
}

/* Upserts the segment through its stage (made ready by pg_stages_ready). A refused row is not
 * named here (*bad stays -1): the row-by-row search finds it with the INSERT's message. */
static int pg_upsert_staged(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg)
{
    struct pg_state *s = j->db;
    char stage[48], sql[80];
    struct pg_stmt *mv, *st = stage_of(sg, stage, sizeof(stage), &mv);
    if (!st || !mv) {
        snprintf(j->err, sizeof(j->err), "stage of table %s missing", sg->table->name);
        return JDBC_E_OTHER;
    }
    int rc = JDBC_OK, ignored;
    if (st->filled == s->xact) { /* an earlier segment of this batch used it */
        snprintf(sql, sizeof(sql), "TRUNCATE %s", stage);
        rc = pg_exec(j, sql);
    }
    st->filled = s->xact;
    if (!rc)
        rc = pg_copy(j, b, sg, stage, &ignored);
    if (rc)
        return rc;
    PGresult *r = PQexecPrepared(s->c, mv->name, 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_fail(j, r, sg->table->name);
    PQclear(r);
    return rc;
}

/* One prepared UPDATE or DELETE per row, sent in pipeline mode. */
static int pg_rowwise(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg, int del,
                      int *bad)
{
    struct pg_state *s = j->db;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_PG, &sp, names);
    int nonpk = 0;
    for (int i = 0; i < sg->ncols; i++)
        nonpk += !sg->is_pk[i];
    if (!del && !nonpk)
        return JDBC_OK; /* nothing to update */
    struct jdbc_buf key = {0}, sql = {0};
    jdbc_seg_key(&key, del ? 'D' : 'P', 1, sg);
    if (del)
        jdbc_sql_delete(&sql, &sp);
    else
        jdbc_sql_update(&sql, &sp);
    int rc = JDBC_OK;
    const char *name = pg_prepare(j, sg->table, key.p, &sql, sg->ncols, &rc);
    jdbc_buf_free(&key);
    jdbc_buf_free(&sql);
    if (!name)
        return rc;
    if (vals_reserve(s, (size_t)sg->ncols))
        return JDBC_E_OTHER;
    for (int k0 = 0; k0 < sg->nrows && !rc; k0 += PG_PIPELINE_MAX) {
        int k1 = k0 + PG_PIPELINE_MAX < sg->nrows ? k0 + PG_PIPELINE_MAX : sg->nrows;
        if (!PQenterPipelineMode(s->c))
            return pg_fail(j, NULL, sg->table->name);
        int sent[PG_PIPELINE_MAX], ns = 0;
        for (int k = k0; k < k1; k++) {
            struct jdbc_row *row = &b->rows[sg->rows[k]];
            if (row->skip)
                continue;
            const struct jdbc_cell *c = &b->cells[row->cell0];
            for (int i = 0; i < sg->ncols; i++)
                s->vals[i] = cell_str(b, &c[i]);
            if (!PQsendQueryPrepared(s->c, name, sg->ncols, s->vals, NULL, NULL, 0))
                break;
            sent[ns++] = sg->rows[k];
        }
        PQpipelineSync(s->c);
        int idx = 0;
        for (;;) {
            PGresult *r = PQgetResult(s->c);
            if (!r) {
                if (PQstatus(s->c) == CONNECTION_BAD || idx > ns + 1) {
                    rc = rc ? rc : pg_fail(j, NULL, sg->table->name);
                    break;
                }
                idx++; /* end of one query's results */
                continue;
            }
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                break;
            }
            if (st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED && !rc) {
                rc = pg_fail(j, r, sg->table->name);
                if (idx < ns)
                    *bad = sent[idx];
            }
            PQclear(r);
            if (PQstatus(s->c) == CONNECTION_BAD) {
                rc = JDBC_E_CONN;
                break;
            }
        }
        if (PQstatus(s->c) != CONNECTION_BAD)
            PQexitPipelineMode(s->c);
        if (!rc && ns < k1 - k0) {
            int skipped = 0;
            for (int k = k0; k < k1; k++)
                skipped += b->rows[sg->rows[k]].skip;
            if (ns + skipped < k1 - k0)
                rc = pg_fail(j, NULL, sg->table->name);
        }
    }
    return rc;
}

static int pg_offsets_write(struct jdbc_task *j)
{
    struct pg_state *s = j->db;
    if (!s->off_prepared) {
        PGresult *r = PQprepare(s->c, "cd_offsets",
                                "INSERT INTO " JDBC_OFFSETS_TABLE
                                " (connector, topic, \"partition\", next_offset) VALUES "
                                "($1, $2, $3, $4) ON CONFLICT (connector, topic, \"partition\") "
                                "DO UPDATE SET next_offset = EXCLUDED.next_offset",
                                4, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            int rc = pg_fail(j, r, JDBC_OFFSETS_TABLE);
            PQclear(r);
            return rc;
        }
        PQclear(r);
        s->off_prepared = 1;
    }
    for (int i = 0; i < j->pending->cnt; i++) {
        char part[16], off[24];
        snprintf(part, sizeof(part), "%d", j->pending->elems[i].partition);
        snprintf(off, sizeof(off), "%lld", (long long)j->pending->elems[i].offset);
        const char *v[4] = {task_connector_name(j->t), j->pending->elems[i].topic, part, off};
        PGresult *r = PQexecPrepared(s->c, "cd_offsets", 4, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            int rc = pg_fail(j, r, JDBC_OFFSETS_TABLE);
            PQclear(r);
            return rc;
        }
        PQclear(r);
    }
    return JDBC_OK;
}

/* Appends the exactly-once offsets upsert of l with literal values (pg_send cannot bind
 * parameters in a multi-statement query). */
static int offsets_sql(struct jdbc_task *j, struct jdbc_buf *q,
                       const rd_kafka_topic_partition_list_t *l)
{
    char *conn = PQescapeLiteral(pgc(j), task_connector_name(j->t),
                                 strlen(task_connector_name(j->t)));
    int rc = conn ? 0 : -1;
    jdbc_buf_printf(q, "INSERT INTO " JDBC_OFFSETS_TABLE
                       " (connector, topic, \"partition\", next_offset) VALUES ");
    for (int i = 0; i < l->cnt && !rc; i++) {
        char *topic = PQescapeLiteral(pgc(j), l->elems[i].topic, strlen(l->elems[i].topic));
        rc = topic ? jdbc_buf_printf(q, "%s(%s, %s, %d, %lld)", i ? ", " : "", conn, topic,
                                     l->elems[i].partition, (long long)l->elems[i].offset)
                   : -1;
        PQfreemem(topic);
    }
    PQfreemem(conn);
    if (!rc)
        rc = jdbc_buf_printf(q, " ON CONFLICT (connector, topic, \"partition\") DO UPDATE SET "
                                "next_offset = EXCLUDED.next_offset");
    return rc;
}

/* The query pg_send sends for segment sg: "COPY stage FROM STDIN; INSERT INTO t SELECT ...
 * FROM stage ON CONFLICT ..." (the stage made ready first, outside any transaction). Returns
 * JDBC_OK or an error class. */
static int send_sql(struct jdbc_task *j, struct jdbc_seg *sg, struct jdbc_buf *sql)
{
    int rc = pg_stage_ready(j, sg);
    if (rc)
        return rc;
    char stage[48];
    struct pg_stmt *mv, *st = stage_of(sg, stage, sizeof(stage), &mv);
    if (!st) { /* pg_stage_ready made it */
        snprintf(j->err, sizeof(j->err), "stage of table %s missing", sg->table->name);
        return JDBC_E_OTHER;
    }
    st->filled = ++((struct pg_state *)j->db)->xact;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_PG, &sp, names);
    copy_sql(j, sg, stage, sql);
    jdbc_buf_str(sql, "; ");
    return jdbc_sql_upsert_from(sql, &sp, stage) ? oom(j) : JDBC_OK;
}

/* Sends sql, whose statements before its COPY ... FROM STDIN (if any) return no rows (BEGIN),
 * and waits until Postgres takes COPY data. JDBC_OK, or an error class with no result left. */
static int pg_copy_query(struct jdbc_task *j, const char *sql, const char *table)
{
    struct pg_state *s = j->db;
    if (!PQsendQuery(s->c, sql))
        return pg_fail(j, NULL, table);
    free(s->fly_table);
    s->fly_table = strdup(table);
    PGresult *r;
    while ((r = PQgetResult(s->c)) && PQresultStatus(r) == PGRES_COMMAND_OK)
        PQclear(r);
    if (PQresultStatus(r) == PGRES_COPY_IN) {
        PQclear(r);
        return JDBC_OK;
    }
    int rc = pg_fail(j, r, table); /* e.g. the table is gone */
    PQclear(r);
    while ((r = PQgetResult(s->c)))
        PQclear(r);
    return rc;
}

/* Starts writing a batch of one upsert segment without waiting for Postgres: one query,
 * "COPY stage ...; INSERT ... SELECT FROM stage ...; [INSERT INTO connectd_offsets ...]",
 * which Postgres runs as one implicit transaction (a failure of any part undoes all). The
 * rows are streamed and pg_collect reads the outcome later, so that Postgres stores them
 * while the task maps the next batch. */
static int pg_send(struct jdbc_task *j, struct jdbc_batch *b)
{
    struct pg_state *s = j->db;
    struct jdbc_seg *sg = &b->segs[0];
    int *live = malloc(sizeof(*live) * (size_t)(sg->nrows ? sg->nrows : 1));
    if (!live)
        return oom(j);
    int nlive = jdbc_seg_live(b, sg, live);
    struct jdbc_buf sql = {0};
    int rc = send_sql(j, sg, &sql);
    if (!rc && j->c.eos && j->pending->cnt &&
        (jdbc_buf_str(&sql, "; ") || offsets_sql(j, &sql, j->pending)))
        rc = oom(j);
    if (!rc)
        rc = pg_copy_query(j, sql.p, sg->table->name);
    jdbc_buf_free(&sql);
    if (rc) {
        free(live);
        return rc;
    }
    int sent = copy_rows(s, b, sg, live, nlive);
    free(live);
    if (PQputCopyEnd(s->c, sent == nlive ? NULL : "client error") != 1)
        return pg_fail(j, NULL, sg->table->name);
    return JDBC_OK;
}

/* Upsert when the batch is big enough for the stage (see PG_STAGE_MIN_ROWS); smaller ones are
 * written with the multi-row INSERT and waited for. */
static int pg_can_send(const struct jdbc_task *j, const struct jdbc_batch *b)
{
    return pg_staged(j, b, &b->segs[0], 0);
}

/* Reads every result of the query sent (of the statements of fly_table's write); the first
 * that failed decides. */
static int pg_results(struct jdbc_task *j)
{
    struct pg_state *s = j->db;
    int rc = JDBC_OK;
    PGresult *r;
    while ((r = PQgetResult(s->c))) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(j, r, s->fly_table);
        PQclear(r);
    }
    if (!rc && PQstatus(s->c) == CONNECTION_BAD)
        rc = pg_fail(j, NULL, s->fly_table);
    return rc;
}

/* Leaves a failed COPY or transaction so that the connection takes the next query (a COPY
 * left open and its transaction are rolled back). j->err is kept. */
static void pg_abandon(struct jdbc_task *j)
{
    struct pg_state *s = j->db;
    PGresult *r;
    if (s->copying && PQputCopyEnd(s->c, "abandoned by the sink") == 1)
        while ((r = PQgetResult(s->c)))
            PQclear(r);
    s->copying = 0;
    PGTransactionStatusType ts = PQtransactionStatus(s->c);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        char keep[sizeof(j->err)];
        memcpy(keep, j->err, sizeof(keep));
        PQclear(PQexec(s->c, "ROLLBACK"));
        memcpy(j->err, keep, sizeof(keep));
    }
}

/* Streams the batch's rows into the COPY that pg_copy_open left open. */
static int pg_copy_append(struct jdbc_task *j, struct jdbc_batch *b)
{
    struct pg_state *s = j->db;
    struct jdbc_seg *sg = &b->segs[0];
    int *live = malloc(sizeof(*live) * (size_t)(sg->nrows ? sg->nrows : 1));
    int nlive = live ? jdbc_seg_live(b, sg, live) : 0;
    int sent = live ? copy_rows(s, b, sg, live, nlive) : -1;
    free(live);
    if (sent == nlive)
        return JDBC_OK;
    int rc = sent < 0 || PQstatus(s->c) == CONNECTION_OK ? oom(j) : pg_fail(j, NULL, s->fly_table);
    pg_abandon(j);
    return rc;
}

/* Whether name is one of the segment's key columns. */
static int seg_key_named(const struct jdbc_seg *sg, const char *name)
{
    for (int i = 0; i < sg->ncols; i++)
        if (sg->is_pk[i] && !strcmp(sg->table->cols[sg->cols[i]].name, name))
            return 1;
    return 0;
}

/* Whether one index of r's rows (index oid, column name; by index) has exactly the segment's
 * key columns. */
static int key_matches_index(const struct jdbc_seg *sg, PGresult *r)
{
    int nkeys = 0;
    for (int i = 0; i < sg->ncols; i++)
        nkeys += sg->is_pk[i] != 0;
    int n = PQntuples(r);
    for (int first = 0, end; first < n; first = end) {
        int hits = 0;
        for (end = first; end < n && !strcmp(PQgetvalue(r, end, 0), PQgetvalue(r, first, 0));
             end++)
            hits += seg_key_named(sg, PQgetvalue(r, end, 1));
        if (nkeys && hits == nkeys && end - first == nkeys)
            return 1;
    }
    return 0;
}

/* Whether the segment's key columns are exactly those of a unique index of its table, one
 * that ON CONFLICT (key columns) takes: valid, not deferred, on plain columns, not partial.
 * 1 or 0 (cached until the table's metadata is read again), else an error class. */
static int pg_key_unique(struct jdbc_task *j, struct jdbc_seg *sg)
{
    struct jdbc_buf key = {0};
    jdbc_seg_key(&key, 'K', 0, sg);
    if (!key.p)
        return oom(j);
    struct pg_stmt *p = stmt_find(sg->table, key.p);
    if (p) {
        jdbc_buf_free(&key);
        return p->unique;
    }
    PGresult *r = NULL;
    const char *v[1] = {sg->table->qname};
    int rc = pg_run(j,
                    "SELECT i.indexrelid, a.attname FROM pg_index i CROSS JOIN LATERAL "
                    "unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = "
                    "to_regclass($1) AND i.indisunique AND i.indimmediate AND i.indisvalid AND "
                    "i.indpred IS NULL AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts "
                    "ORDER BY 1",
                    1, v, PGRES_TUPLES_OK, &r);
    if (rc) {
        jdbc_buf_free(&key);
        return rc;
    }
    int unique = key_matches_index(sg, r);
    PQclear(r);
    p = calloc(1, sizeof(*p));
    if (!p) {
        jdbc_buf_free(&key);
        return oom(j);
    }
    p->key = key.p; /* the buffer's string, now the entry's */
    p->unique = unique;
    p->next = sg->table->stmts;
    sg->table->stmts = p;
    return unique;
}

/* A COPY of the batch's one insert segment, left open for more batches; after BEGIN when the
 * exactly-once offsets go into the same transaction. An upsert (see "optimistic upsert" in
 * jdbc.c) only when pg_key_unique says so. */
static int pg_copy_open(struct jdbc_task *j, struct jdbc_batch *b)
{
    struct pg_state *s = j->db;
    struct jdbc_seg *sg = &b->segs[0];
    if (j->c.insert_mode == JDBC_UPSERT) {
        int rc = pg_key_unique(j, sg);
        if (rc != 1)
            return rc ? rc : JDBC_DECLINE;
    }
    /* Without offsets to store (exactly-once), the COPY is the whole transaction: sent alone,
     * Postgres commits it as soon as its rows end, without waiting for a COMMIT from us. */
    struct jdbc_buf sql = {0};
    int rc = (j->c.eos && jdbc_buf_str(&sql, "BEGIN; ")) || copy_sql(j, sg, NULL, &sql)
                 ? oom(j)
                 : JDBC_OK;
    if (!rc)
        rc = pg_copy_query(j, sql.p, sg->table->name);
    jdbc_buf_free(&sql);
    if (rc) {
        pg_abandon(j); /* BEGIN may have run */
        return rc;
    }
    s->copying = 1;
    return pg_copy_append(j, b);
}

/* Ends the open COPY. A COPY that is its own transaction commits then, and pg_collect reads
 * the outcome. Otherwise this reads the COPY's outcome (Postgres has stored the rows streamed
 * before by then, so this waits about as long as the last batch takes it), then sends the
 * offsets and COMMIT without waiting. */
static int pg_copy_finish(struct jdbc_task *j, const rd_kafka_topic_partition_list_t *offsets)
{
    struct pg_state *s = j->db;
    s->copying = 0;
    if (PQputCopyEnd(s->c, NULL) != 1) {
        int rc = pg_fail(j, NULL, s->fly_table);
        pg_abandon(j);
        return rc;
    }
    if (!j->c.eos)
        return JDBC_OK; /* a COPY sent alone: its end commits, collect reads the outcome */
    int rc = pg_results(j);
    struct jdbc_buf sql = {0};
    if (!rc && offsets && offsets->cnt &&
        (offsets_sql(j, &sql, offsets) || jdbc_buf_str(&sql, "; ")))
        rc = oom(j);
    if (!rc && jdbc_buf_str(&sql, "COMMIT"))
        rc = oom(j);
    if (!rc && !PQsendQuery(s->c, sql.p))
        rc = pg_fail(j, NULL, s->fly_table);
    jdbc_buf_free(&sql);
    if (rc)
        pg_abandon(j);
    return rc;
}

/* The outcome of pg_send's query: JDBC_OK, JDBC_BUSY when !block and Postgres is not done,
 * else an error class with j->err set (the transaction is rolled back). */
static int pg_collect(struct jdbc_task *j, int block)
{
    struct pg_state *s = j->db;
    if (!block && (!PQconsumeInput(s->c) || PQisBusy(s->c)))
        return PQstatus(s->c) == CONNECTION_BAD ? pg_fail(j, NULL, s->fly_table) : JDBC_BUSY;
    int rc = pg_results(j);
    if (rc)
        pg_abandon(j); /* pg_copy_finish's COMMIT did not run: its transaction is open */
    return rc;
}

static int pg_write(struct jdbc_task *j, struct jdbc_batch *b, int locate, int *bad)
{
    *bad = -1;
    int rc = pg_stages_ready(j, b, locate);
    if (rc)
        return rc;
    rc = pg_run(j, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL);
    ((struct pg_state *)j->db)->xact++;
    for (int i = 0; i < b->nsegs && !rc; i++) {
        struct jdbc_seg *sg = &b->segs[i];
        if (sg->op == JDBC_OP_DELETE)
            rc = pg_rowwise(j, b, sg, 1, bad);
        else if (j->c.insert_mode == JDBC_UPDATE)
            rc = pg_rowwise(j, b, sg, 0, bad);
        else if (pg_staged(j, b, sg, locate))
            rc = pg_upsert_staged(j, b, sg);
        else if (j->c.insert_mode == JDBC_UPSERT)
            rc = pg_insert_rows(j, b, sg, 1, locate, bad);
        else if (locate)
            rc = pg_insert_rows(j, b, sg, 0, 1, bad);
        else
            rc = pg_copy(j, b, sg, NULL, bad);
    }
    if (!rc && j->c.eos && !locate)
        rc = pg_offsets_write(j);
    if (!rc && !locate)
        return pg_run(j, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL);
    pg_abandon(j); /* rolls back, keeping j->err */
    return rc;
}

static int pg_offsets_load(struct jdbc_task *j, rd_kafka_topic_partition_list_t *out)
{
    PGresult *r = NULL;
    const char *v[1] = {task_connector_name(j->t)};
    int rc = pg_run(j,
                    "SELECT topic, \"partition\", next_offset FROM " JDBC_OFFSETS_TABLE
                    " WHERE connector = $1",
                    1, v, PGRES_TUPLES_OK, &r);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        rd_kafka_topic_partition_list_add(out, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)))
            ->offset = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    PQclear(r);
    return JDBC_OK;
}

const struct jdbc_backend jdbc_pg_backend = {
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .table_load = pg_table_load,
    .exec = pg_exec,
    .write = pg_write,
    .offsets_load = pg_offsets_load,
    .table_forget = pg_table_forget,
    .can_send = pg_can_send,
    .send = pg_send,
    .collect = pg_collect,
    .copy_open = pg_copy_open,
    .copy_append = pg_copy_append,
    .copy_finish = pg_copy_finish,
};
