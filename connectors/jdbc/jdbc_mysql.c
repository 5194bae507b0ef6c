/* jdbc_mysql.c — the MySQL/MariaDB backend (libmariadb). Insert mode uses LOAD DATA LOCAL
 * from memory, one transaction and one LOAD spanning several puts (each put adds its rows to
 * the "file" the server is reading); upsert, and insert where LOAD DATA cannot go, use
 * multi-row prepared INSERT (... ON DUPLICATE KEY UPDATE) with bound parameters, a few
 * prepared statements per table serving every batch size (jdbc_chunk_rows); update and delete
 * execute one prepared statement per row, one transaction per batch. The exactly-once offsets
 * are upserted into connectd_offsets before COMMIT. A writer thread per connection runs the
 * statements while the task maps the next batch. */
#include "jdbc.h"

#include "job_thread.h"
#include "log.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct my_stmt {
    char *key;
    MYSQL_STMT *st;
    struct my_stmt *next;
};

/* Rows of a LOAD DATA LOCAL, a piece of the "file" the server reads. */
struct my_chunk {
    struct jdbc_buf data;
    size_t pos; /* sent so far */
    struct my_chunk *next;
};

/* One LOAD DATA LOCAL statement. A batch's LOAD has one chunk and is complete (end) from the
 * start; insert mode's LOAD across puts gets a chunk per put while the writer thread sends it,
 * infile_read waiting for the next one until the task sets end. The queue, nrows, end and
 * abort are under mu. */
struct my_load {
    pthread_mutex_t mu;
    pthread_cond_t more;
    struct jdbc_buf sql;
    struct my_chunk *head, *tail; /* rows not sent yet */
    struct my_chunk *spare;       /* sent, for reuse */
    unsigned long long nrows;     /* queued in all */
    int end;                      /* no rows after the queue */
    int abort;                    /* stop: the statement fails */
    int active;                   /* its statement runs: the server may ask for the rows */
    const char *table;            /* its name, for messages */
};

/* What the writer thread does next (my_send, my_copy_open). */
enum my_job {
    JOB_WRITE,  /* a batch's whole transaction, as my_write */
    JOB_STREAM, /* insert mode across puts: START TRANSACTION, the LOAD the task feeds, the
                 * exactly-once offsets and COMMIT */
};

/* The writer thread runs one job at a time while the task maps the next batch, so that the
 * server's work and ours overlap. The task touches the connection only when no job is
 * queued or running (jdbc.c's fly_settle before anything else), so the two never use it at
 * once. */
struct my_writer {
    struct cd_job_thread *jt;
    int rc; /* the last job's outcome */
    enum my_job job;
    /* The task as the job sees it: a copy with its own err, and for JOB_WRITE the batch, for
     * both the offsets to store (pending; JOB_STREAM's are set when its rows end), so that
     * the task thread may use its own meanwhile. */
    struct jdbc_task jw;
};

struct my_state {
    MYSQL *m;
    struct my_writer *w; /* NULL when the thread could not start: writes are synchronous */
    MYSQL_STMT *off;
    MYSQL_BIND *binds;
    size_t capbinds;
    struct my_load load;
    int no_load; /* the server refused LOAD DATA LOCAL: multi-row INSERT only */
};

#define MY_LOAD_FALLBACK 1 /* my_load: write the batch with INSERT instead */

static void writer_start(struct my_state *s);
static void writer_stop(struct my_state *s);
static void load_free(struct my_load *ld);

static MYSQL *myc(struct jdbc_task *j)
{
    return ((struct my_state *)j->db)->m;
}

static int my_classify(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
        return JDBC_E_CONN;
    case ER_BAD_NULL_ERROR:
    case ER_DUP_ENTRY:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case WARN_DATA_TRUNCATED:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_DATA_TOO_LONG:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_NO_DEFAULT_FOR_FIELD:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2:
    case ER_DIVISION_BY_ZERO:
    case 4025: /* ER_CONSTRAINT_FAILED (MariaDB JSON check) */
    case 3140: /* ER_INVALID_JSON_TEXT (MySQL) */
        return JDBC_E_DATA;
    default:
        return e >= 2000 && e < 3000 ? JDBC_E_CONN : JDBC_E_OTHER;
    }
}

static int my_fail(struct jdbc_task *j, unsigned e, const char *msg, const char *what)
{
    snprintf(j->err, sizeof(j->err), "%s%s%s (error %u)", what ? what : "", what ? ": " : "",
             msg, e);
    jdbc_err_scrub(j);
    return my_classify(e);
}

static int oom(struct jdbc_task *j)
{
    snprintf(j->err, sizeof(j->err), "out of memory");
    return JDBC_E_OTHER;
}

static int my_fail_conn(struct jdbc_task *j, const char *what)
{
    return my_fail(j, mysql_errno(myc(j)), mysql_error(myc(j)), what);
}

static int my_fail_stmt(struct jdbc_task *j, MYSQL_STMT *st, const char *what)
{
    return my_fail(j, mysql_stmt_errno(st), mysql_stmt_error(st), what);
}

static int my_query(struct jdbc_task *j, const char *sql)
{
    if (mysql_real_query(myc(j), sql, strlen(sql)))
        return my_fail_conn(j, NULL);
    MYSQL_RES *r = mysql_store_result(myc(j));
    if (r)
        mysql_free_result(r);
    return JDBC_OK;
}

/* The LOAD DATA LOCAL "file": the rows of s->load, from memory; nothing for a server that
 * asks for a file at any other time. */
static int infile_init(void **ptr, const char *name, void *userdata)
{
    struct my_state *s = userdata;
    *ptr = &s->load;
    return s->load.active ? 0 : 1;
}

/* Drops the chunks sent from the head of the queue, keeping them for reuse. */
static void load_pop_sent(struct my_load *ld)
{
    while (ld->head && ld->head->pos == ld->head->data.len) {
        struct my_chunk *c = ld->head;
        ld->head = c->next;
        if (!ld->head)
            ld->tail = NULL;
        c->next = ld->spare;
        ld->spare = c;
    }
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    struct my_load *ld = ptr;
    pthread_mutex_lock(&ld->mu);
    load_pop_sent(ld);
    while (!ld->head && !ld->end && !ld->abort) {
        pthread_cond_wait(&ld->more, &ld->mu);
        load_pop_sent(ld);
    }
    int n = -1;
    if (!ld->abort) {
        struct my_chunk *c = ld->head;
        size_t k = c ? c->data.len - c->pos : 0;
        if (k > len)
            k = len;
        if (k)
            memcpy(buf, c->data.p + c->pos, k);
        if (c)
            c->pos += k;
        n = (int)k;
    }
    pthread_mutex_unlock(&ld->mu);
    return n;
}

static void infile_end(void *ptr)
{
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    snprintf(msg, len, "no data (the load was given up)");
    return 2000; /* CR_UNKNOWN_ERROR */
}

static int my_connect(struct jdbc_task *j)
{
    const struct jdbc_url *u = &j->url;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(j->err, sizeof(j->err), "out of memory");
        return JDBC_E_OTHER;
    }
    unsigned timeout = 10, rw = 120;
    my_bool on = 1;
    const char *v;
    if ((v = jdbc_url_param(u, "connectTimeout")))
        if (atoi(v) >= 1000)
            timeout = (unsigned)(atoi(v) / 1000); /* JDBC: ms */
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *sock = jdbc_url_param(u, "localSocket");
    if (!sock)
        sock = jdbc_url_param(u, "socket");
    if (!sock) {
        unsigned proto = MYSQL_PROTOCOL_TCP; /* JDBC's localhost is TCP, not the socket */
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
    }
    const char *ssl = jdbc_url_param(u, "sslMode");
    if (!ssl)
        ssl = jdbc_url_param(u, "ssl-mode");
    const char *use_ssl = jdbc_url_param(u, "useSSL");
    if (!use_ssl)
        use_ssl = jdbc_url_param(u, "useSsl");
    if ((ssl && strcasecmp(ssl, "DISABLED") && strcasecmp(ssl, "PREFERRED")) ||
        (use_ssl && !strcasecmp(use_ssl, "true"))) {
        mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
        if (ssl && !strncasecmp(ssl, "VERIFY", 6))
            mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    }
    /* LOAD DATA LOCAL for insert mode; the handler set below serves only the sink's own rows
     * from memory, whatever file a server names, so no local file can be read. */
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &on);
    if (!mysql_real_connect(m, u->host ? u->host : "localhost", *j->user ? j->user : NULL,
                            *j->password ? j->password : NULL, u->db, (unsigned)u->port, sock,
                            CLIENT_FOUND_ROWS)) {
        char where[512];
        snprintf(j->err, sizeof(j->err), "cannot connect to MySQL at %s: %s (error %u)",
                 jdbc_url_target(u, where, sizeof(where)), mysql_error(m), mysql_errno(m));
        jdbc_err_scrub(j);
        int rc = my_classify(mysql_errno(m));
        mysql_close(m);
        return rc == JDBC_E_DATA ? JDBC_E_OTHER : rc;
    }
    struct my_state *s = calloc(1, sizeof(*s));
    if (!s) {
        mysql_close(m);
        return oom(j);
    }
    s->m = m;
    pthread_mutex_init(&s->load.mu, NULL);
    pthread_cond_init(&s->load.more, NULL);
    j->db = s;
    mysql_set_local_infile_handler(m, infile_init, infile_read, infile_end, infile_error, s);
    char tz[64];
    int off = j->c.tz_offset_s < 0 ? -j->c.tz_offset_s : j->c.tz_offset_s;
    snprintf(tz, sizeof(tz), "SET time_zone = '%c%02d:%02d'", j->c.tz_offset_s < 0 ? '-' : '+',
             off / 3600, off / 60 % 60);
    int rc = my_query(j, tz);
    if (!rc && j->c.eos)
        rc = my_query(j, "CREATE TABLE IF NOT EXISTS " JDBC_OFFSETS_TABLE
                         " (connector VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL, "
                         "`partition` INT NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY "
                         "(connector, topic, `partition`)) DEFAULT CHARSET=utf8mb4 "
                         "COLLATE=utf8mb4_bin");
    if (rc) {
        mysql_close(m);
        load_free(&s->load);
        free(s);
        j->db = NULL;
    } else {
        writer_start(s);
    }
    return rc;
}

static void stmts_free(struct jdbc_table *t, int close)
{
    for (struct my_stmt *p = t->stmts, *n; p; p = n) {
        n = p->next;
        if (close)
            mysql_stmt_close(p->st);
        free(p->key);
        free(p);
    }
    t->stmts = NULL;
}

static void my_disconnect(struct jdbc_task *j)
{
    struct my_state *s = j->db;
    writer_stop(s);
    for (struct jdbc_table *t = j->tables; t; t = t->next)
        stmts_free(t, 1);
    if (s->off)
        mysql_stmt_close(s->off);
    mysql_close(s->m);
    free(s->binds);
    load_free(&s->load);
    free(s);
}

static void my_table_forget(struct jdbc_task *j, struct jdbc_table *t)
{
    stmts_free(t, 1);
}

static int my_exec(struct jdbc_task *j, const char *sql)
{
    return my_query(j, sql);
}

/* Appends 'text' escaped as a string literal (metadata lookups only, never record values). */
static void lit(struct jdbc_task *j, struct jdbc_buf *b, const char *text)
{
    size_t n = strlen(text);
    jdbc_buf_reserve(b, 2 * n + 3);
    b->p[b->len++] = '\'';
    b->len += mysql_real_escape_string(myc(j), b->p + b->len, text, (unsigned long)n);
    b->p[b->len++] = '\'';
    b->p[b->len] = 0;
}

static int my_table_load(struct jdbc_task *j, struct jdbc_table *t)
{
    struct jdbc_buf q = {0};
    jdbc_buf_str(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE FROM "
                     "information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
    if (t->schema)
        lit(j, &q, t->schema);
    else
        jdbc_buf_str(&q, "DATABASE()");
    jdbc_buf_str(&q, " AND TABLE_NAME = ");
    lit(j, &q, t->table);
    jdbc_buf_str(&q, " ORDER BY ORDINAL_POSITION");
    int rc = JDBC_OK;
    if (mysql_real_query(myc(j), q.p, q.len)) {
        rc = my_fail_conn(j, t->name);
        jdbc_buf_free(&q);
        return rc == JDBC_E_DATA ? JDBC_E_OTHER : rc;
    }
    jdbc_buf_free(&q);
    MYSQL_RES *res = mysql_store_result(myc(j));
    if (!res)
        return my_fail_conn(j, t->name);
    MYSQL_ROW row;
    t->ncols = 0;
    while ((row = mysql_fetch_row(res))) {
        if (t->ncols == t->capcols) {
            int cap = t->capcols ? t->capcols * 2 : 16;
            struct jdbc_column *nc = realloc(t->cols, sizeof(*nc) * (size_t)cap);
            if (!nc)
                break;
            t->cols = nc;
            t->capcols = cap;
        }
        struct jdbc_column *c = &t->cols[t->ncols++];
        c->name = strdup(row[0]);
        c->type = jdbc_type_of_sqlname(JDBC_MYSQL, row[1], row[2]);
        c->nullable = row[3] && !strcmp(row[3], "YES");
    }
    mysql_free_result(res);
    t->exists = t->ncols > 0;
    return JDBC_OK;
}

static MYSQL_STMT *my_prepare(struct jdbc_task *j, struct jdbc_table *t, const char *key,
                              const struct jdbc_buf *sql, int *rc)
{
    for (struct my_stmt *p = t->stmts; p; p = p->next)
        if (!strcmp(p->key, key))
            return p->st;
    MYSQL_STMT *st = mysql_stmt_init(myc(j));
    if (!st) {
        *rc = my_fail_conn(j, t->name);
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql->p, sql->len)) {
        *rc = my_fail_stmt(j, st, t->name);
        if (*rc == JDBC_E_DATA)
            *rc = JDBC_E_OTHER;
        mysql_stmt_close(st);
        return NULL;
    }
    struct my_stmt *p = calloc(1, sizeof(*p));
    p->key = strdup(key);
    p->st = st;
    p->next = t->stmts;
    t->stmts = p;
    return st;
}

static MYSQL_BIND *binds(struct my_state *s, size_t n)
{
    if (n > s->capbinds) {
        MYSQL_BIND *b = realloc(s->binds, sizeof(*b) * n);
        if (!b)
            return NULL;
        s->binds = b;
        s->capbinds = n;
    }
    memset(s->binds, 0, sizeof(*s->binds) * n);
    return s->binds;
}

static void bind_cell(MYSQL_BIND *bd, struct jdbc_batch *b, const struct jdbc_cell *c)
{
    if (c->null) {
        bd->buffer_type = MYSQL_TYPE_NULL;
        return;
    }
    bd->buffer_type = c->binary ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
    bd->buffer = b->data.p + c->off;
    bd->buffer_length = c->len;
    bd->length_value = c->len;
    bd->length = &bd->length_value;
}

static int my_run(struct jdbc_task *j, MYSQL_STMT *st, MYSQL_BIND *bd, const char *table)
{
    if (mysql_stmt_bind_param(st, bd) || mysql_stmt_execute(st))
        return my_fail_stmt(j, st, table);
    return JDBC_OK;
}

static int my_insert_rows(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg,
                          int upsert, int locate, int *bad)
{
    struct my_state *s = j->db;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_MYSQL, &sp, names);
    int live[sg->nrows];
    int nlive = jdbc_seg_live(b, sg, live);
    int max = jdbc_chunk_max(j, sg, locate, 65535);
    struct jdbc_buf key = {0}, sql = {0};
    int rc = JDBC_OK;
    for (int done = 0; done < nlive && !rc;) {
        int m = jdbc_chunk_rows(nlive - done, max);
        jdbc_seg_key(&key, upsert ? 'U' : 'I', m, sg);
        sql.len = 0;
        sp.nrows = m;
        jdbc_sql_insert(&sql, &sp, upsert);
        MYSQL_STMT *st = my_prepare(j, sg->table, key.p, &sql, &rc);
        if (!st)
            break;
        MYSQL_BIND *bd = binds(s, (size_t)m * (size_t)sg->ncols);
        if (!bd) {
            rc = JDBC_E_OTHER;
            break;
        }
        for (int r = 0; r < m; r++) {
            const struct jdbc_cell *c = &b->cells[b->rows[live[done + r]].cell0];
            for (int i = 0; i < sg->ncols; i++)
                bind_cell(&bd[r * sg->ncols + i], b, &c[i]);
        }
        rc = my_run(j, st, bd, sg->table->name);
        if (rc && m == 1)
            *bad = live[done];
        done += m;
    }
    jdbc_buf_free(&key);
    jdbc_buf_free(&sql);
    return rc;
}

/* Insert mode: the segment's rows with one LOAD DATA LOCAL from memory, which costs the server
 * a third less than multi-row INSERT. With LOCAL the server turns every row it would refuse
 * (NOT NULL, too long, bad value, duplicate key) into a warning and goes on, so any warning
 * means MY_LOAD_FALLBACK: the caller rolls back and writes the batch with INSERT, which names
 * the row. Binary cells and a server without local_infile fall back too. */

static void chunk_free(struct my_chunk *c)
{
    while (c) {
        struct my_chunk *n = c->next;
        jdbc_buf_free(&c->data);
        free(c);
        c = n;
    }
}

static void load_free(struct my_load *ld)
{
    chunk_free(ld->head);
    chunk_free(ld->spare);
    jdbc_buf_free(&ld->sql);
    pthread_cond_destroy(&ld->more);
    pthread_mutex_destroy(&ld->mu);
}

/* Starts a LOAD of the segment's table and columns, with no rows yet. */
static int load_start(struct jdbc_task *j, struct my_load *ld, const struct jdbc_seg *sg)
{
    pthread_mutex_lock(&ld->mu);
    if (ld->tail) { /* rows of a LOAD given up */
        ld->tail->next = ld->spare;
        ld->spare = ld->head;
        ld->head = ld->tail = NULL;
    }
    ld->nrows = 0;
    ld->end = ld->abort = 0;
    pthread_mutex_unlock(&ld->mu);
    ld->table = sg->table->name;
    struct jdbc_buf *q = &ld->sql;
    q->len = 0;
    jdbc_buf_str(q, "LOAD DATA LOCAL INFILE 'connectd' INTO TABLE ");
    jdbc_buf_str(q, sg->table->qname);
    jdbc_buf_str(q, " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                    "LINES TERMINATED BY '\\n' (");
    for (int i = 0; i < sg->ncols; i++) {
        if (i)
            jdbc_buf_add(q, ",", 1);
        jdbc_sql_ident(q, JDBC_MYSQL, j->c.quote, sg->table->cols[sg->cols[i]].name);
    }
    return jdbc_buf_add(q, ")", 1) ? oom(j) : JDBC_OK;
}

/* Renders the segment's live rows into d; returns how many, -1 for a binary cell, -2 when
 * memory is short. */
static long load_rows(struct jdbc_buf *d, const struct jdbc_batch *b, const struct jdbc_seg *sg)
{
    long n = 0;
    for (int k = 0; k < sg->nrows; k++) {
        const struct jdbc_row *row = &b->rows[sg->rows[k]];
        if (row->skip)
            continue;
        const struct jdbc_cell *c = &b->cells[row->cell0];
        for (int i = 0; i < sg->ncols; i++) {
            if (i)
                jdbc_buf_add(d, "\t", 1);
            if (c[i].binary)
                return -1;
            if (c[i].null)
                jdbc_buf_add(d, "\\N", 2);
            else
                jdbc_copy_escape(d, b->data.p + c[i].off, c[i].len);
        }
        if (jdbc_buf_add(d, "\n", 1))
            return -2;
        n++;
    }
    return n;
}

/* Queues the segment's rows for the LOAD: JDBC_OK, MY_LOAD_FALLBACK (a binary cell) or
 * JDBC_E_OTHER (memory). A chunk is rendered outside the lock, so the writer sends the
 * queue meanwhile. */
static int load_add(struct jdbc_task *j, struct my_load *ld, const struct jdbc_batch *b,
                    const struct jdbc_seg *sg)
{
    pthread_mutex_lock(&ld->mu);
    struct my_chunk *c = ld->spare;
    if (c)
        ld->spare = c->next;
    pthread_mutex_unlock(&ld->mu);
    if (!c && !(c = calloc(1, sizeof(*c))))
        return oom(j);
    if (c->data.cap > (8u << 20)) /* do not keep a huge buffer around */
        jdbc_buf_free(&c->data);
    c->data.len = c->pos = 0;
    c->next = NULL;
    long n = load_rows(&c->data, b, sg);
    pthread_mutex_lock(&ld->mu);
    if (n > 0) {
        if (ld->tail)
            ld->tail->next = c;
        else
            ld->head = c;
        ld->tail = c;
        ld->nrows += (unsigned long long)n;
        pthread_cond_signal(&ld->more);
    } else {
        c->next = ld->spare;
        ld->spare = c;
    }
    pthread_mutex_unlock(&ld->mu);
    return n == -1 ? MY_LOAD_FALLBACK : n == -2 ? oom(j) : JDBC_OK;
}

/* No more rows (end), or give up (abort: the statement fails): wakes infile_read. */
static void load_close(struct my_load *ld, int abort)
{
    pthread_mutex_lock(&ld->mu);
    if (abort)
        ld->abort = 1;
    else
        ld->end = 1;
    pthread_cond_signal(&ld->more);
    pthread_mutex_unlock(&ld->mu);
}

/* Runs the LOAD in the transaction open, until the rows end: JDBC_OK, MY_LOAD_FALLBACK or
 * JDBC_E_CONN. */
static int load_run(struct jdbc_task *j, struct my_load *ld)
{
    struct my_state *s = j->db;
    int rc = JDBC_OK;
    ld->active = 1;
    int failed = mysql_real_query(s->m, ld->sql.p, ld->sql.len);
    ld->active = 0;
    pthread_mutex_lock(&ld->mu);
    unsigned long long nrows = ld->nrows;
    pthread_mutex_unlock(&ld->mu);
    if (failed) {
        unsigned e = mysql_errno(s->m);
        rc = my_fail_conn(j, ld->table);
        /* 1148 not allowed, 2068 client rejected, 3948/3950 MySQL 8 and 4166 MariaDB
         * local_infile off */
        if (e == 1148 || e == 2068 || e == 3948 || e == 3950 || e == 4166) {
            task_log(j->t, LOG_INFO, "LOAD DATA LOCAL refused (%s): multi-row INSERT from now on",
                     j->err);
            s->no_load = 1;
        }
        if (rc != JDBC_E_CONN)
            rc = MY_LOAD_FALLBACK; /* INSERT names the row the server refuses */
    } else if (mysql_warning_count(s->m) || mysql_affected_rows(s->m) != nrows) {
        rc = MY_LOAD_FALLBACK;
    }
    return rc;
}

/* A batch's segment with one LOAD. */
static int my_load(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg)
{
    struct my_load *ld = &((struct my_state *)j->db)->load;
    int rc = load_start(j, ld, sg);
    if (!rc)
        rc = load_add(j, ld, b, sg);
    if (rc)
        return rc;
    load_close(ld, 0);
    return load_run(j, ld);
}

static int my_rowwise(struct jdbc_task *j, struct jdbc_batch *b, struct jdbc_seg *sg, int del,
                      int *bad)
{
    struct my_state *s = j->db;
    const char *names[sg->ncols];
    struct jdbc_stmt_spec sp;
    jdbc_seg_spec(j, sg, JDBC_MYSQL, &sp, names);
    int order[sg->ncols], n = 0;
    if (!del) /* SET values first, then the WHERE keys */
        for (int i = 0; i < sg->ncols; i++)
            if (!sg->is_pk[i])
                order[n++] = i;
    if (!del && !n)
        return JDBC_OK;
    for (int i = 0; i < sg->ncols; i++)
        if (sg->is_pk[i])
            order[n++] = i;
    struct jdbc_buf key = {0}, sql = {0};
    jdbc_seg_key(&key, del ? 'D' : 'P', 1, sg);
    if (del)
        jdbc_sql_delete(&sql, &sp);
    else
        jdbc_sql_update(&sql, &sp);
    int rc = JDBC_OK;
    MYSQL_STMT *st = my_prepare(j, sg->table, key.p, &sql, &rc);
    jdbc_buf_free(&key);
    jdbc_buf_free(&sql);
    if (!st)
        return rc;
    MYSQL_BIND *bd = binds(s, (size_t)n);
    if (!bd)
        return JDBC_E_OTHER;
    for (int k = 0; k < sg->nrows && !rc; k++) {
        struct jdbc_row *row = &b->rows[sg->rows[k]];
        if (row->skip)
            continue;
        const struct jdbc_cell *c = &b->cells[row->cell0];
        memset(bd, 0, sizeof(*bd) * (size_t)n);
        for (int i = 0; i < n; i++)
            bind_cell(&bd[i], b, &c[order[i]]);
        rc = my_run(j, st, bd, sg->table->name);
        if (rc)
            *bad = sg->rows[k];
    }
    return rc;
}

static int my_offsets_write(struct jdbc_task *j)
{
    struct my_state *s = j->db;
    if (!s->off) {
        static const char sql[] = "INSERT INTO " JDBC_OFFSETS_TABLE
                                  " (connector, topic, `partition`, next_offset) VALUES "
                                  "(?, ?, ?, ?) ON DUPLICATE KEY UPDATE next_offset = "
                                  "VALUES(next_offset)";
        s->off = mysql_stmt_init(s->m);
        if (!s->off)
            return my_fail_conn(j, JDBC_OFFSETS_TABLE);
        if (mysql_stmt_prepare(s->off, sql, sizeof(sql) - 1)) {
            int rc = my_fail_stmt(j, s->off, JDBC_OFFSETS_TABLE);
            mysql_stmt_close(s->off);
            s->off = NULL;
            return rc;
        }
    }
    for (int i = 0; i < j->pending->cnt; i++) {
        MYSQL_BIND bd[4];
        memset(bd, 0, sizeof(bd));
        const char *conn = task_connector_name(j->t);
        int part = j->pending->elems[i].partition;
        long long off = (long long)j->pending->elems[i].offset;
        bd[0].buffer_type = MYSQL_TYPE_STRING;
        bd[0].buffer = (void *)conn;
        bd[0].buffer_length = strlen(conn);
        bd[1].buffer_type = MYSQL_TYPE_STRING;
        bd[1].buffer = j->pending->elems[i].topic;
        bd[1].buffer_length = strlen(j->pending->elems[i].topic);
        bd[2].buffer_type = MYSQL_TYPE_LONG;
        bd[2].buffer = &part;
        bd[3].buffer_type = MYSQL_TYPE_LONGLONG;
        bd[3].buffer = &off;
        int rc = my_run(j, s->off, bd, JDBC_OFFSETS_TABLE);
        if (rc)
            return rc;
    }
    return JDBC_OK;
}

/* Rolls the transaction back, keeping j->err (the reason). */
static void my_rollback(struct jdbc_task *j)
{
    char keep[sizeof(j->err)];
    memcpy(keep, j->err, sizeof(keep));
    mysql_rollback(myc(j));
    memcpy(j->err, keep, sizeof(keep));
}

/* One transaction; load: insert-mode segments go by LOAD DATA (my_load). */
static int my_write_tx(struct jdbc_task *j, struct jdbc_batch *b, int locate, int load,
                       int *bad)
{
    *bad = -1;
    int rc = my_query(j, "START TRANSACTION");
    for (int i = 0; i < b->nsegs && !rc; i++) {
        struct jdbc_seg *sg = &b->segs[i];
        if (sg->op == JDBC_OP_DELETE)
            rc = my_rowwise(j, b, sg, 1, bad);
        else if (j->c.insert_mode == JDBC_UPDATE)
            rc = my_rowwise(j, b, sg, 0, bad);
        else if (load && j->c.insert_mode == JDBC_INSERT)
            rc = my_load(j, b, sg);
        else
            rc = my_insert_rows(j, b, sg, j->c.insert_mode == JDBC_UPSERT, locate, bad);
    }
    if (!rc && j->c.eos && !locate)
        rc = my_offsets_write(j);
    if (!rc && !locate) {
        if (mysql_commit(myc(j)))
            rc = my_fail_conn(j, "COMMIT");
        return rc == JDBC_E_DATA ? JDBC_E_OTHER : rc;
    }
    my_rollback(j);
    return rc;
}

static int my_write(struct jdbc_task *j, struct jdbc_batch *b, int locate, int *bad)
{
    struct my_state *s = j->db;
    if (!locate && !s->no_load && j->c.insert_mode == JDBC_INSERT) {
        int rc = my_write_tx(j, b, 0, 1, bad);
        if (rc != MY_LOAD_FALLBACK)
            return rc;
    }
    return my_write_tx(j, b, locate, 0, bad);
}

/* Insert mode across puts: one transaction, one LOAD whose rows the task feeds until it ends
 * them (my_copy_finish), then the offsets (exactly-once) and COMMIT. A failure rolls it
 * back. */
static int job_stream(struct jdbc_task *j)
{
    struct my_load *ld = &((struct my_state *)j->db)->load;
    int rc = my_query(j, "START TRANSACTION");
    if (!rc && (rc = load_run(j, ld)) == MY_LOAD_FALLBACK) {
        snprintf(j->err, sizeof(j->err),
                 "LOAD DATA into %s reported a row it would change or skip: writing with "
                 "INSERT, which names it", ld->table);
        rc = JDBC_E_DATA;
    }
    if (!rc && j->c.eos && j->pending)
        rc = my_offsets_write(j);
    if (!rc && mysql_commit(myc(j)))
        rc = my_fail_conn(j, "COMMIT");
    if (rc)
        my_rollback(j);
    return rc;
}

static void job_run(void *arg)
{
    struct my_writer *w = arg;
    int bad;
    if (w->job == JOB_STREAM)
        w->rc = job_stream(&w->jw);
    else
        w->rc = my_write(&w->jw, &w->jw.batch, 0, &bad);
}

static void writer_start(struct my_state *s)
{
    struct my_writer *w = calloc(1, sizeof(*w));
    if (w && !(w->jt = cd_job_thread_start(job_run, w))) {
        free(w);
        w = NULL;
    }
    s->w = w;
}

/* Waits for the job queued or running, if any, and forgets its offsets. Returns its
 * outcome, with its message in j->err on failure. */
static int writer_wait(struct jdbc_task *j, struct my_writer *w)
{
    cd_job_wait(w->jt);
    int rc = w->rc;
    w->rc = JDBC_OK;
    if (w->jw.pending) {
        rd_kafka_topic_partition_list_destroy(w->jw.pending);
        w->jw.pending = NULL;
    }
    if (rc && j)
        memcpy(j->err, w->jw.err, sizeof(j->err));
    return rc;
}

static void writer_stop(struct my_state *s)
{
    struct my_writer *w = s->w;
    if (!w)
        return;
    load_close(&s->load, 1); /* a LOAD across puts waits for rows that will not come */
    writer_wait(NULL, w);
    cd_job_thread_stop(w->jt);
    free(w);
    s->w = NULL;
}

/* Queues a job, with the batch (JOB_WRITE) and offsets (taken) of the ones that store them.
 * No job may be queued or running: the writer reads w's fields only once it is posted. */
static void writer_queue(struct jdbc_task *j, enum my_job job, const struct jdbc_batch *b,
                         rd_kafka_topic_partition_list_t *offsets)
{
    struct my_writer *w = ((struct my_state *)j->db)->w;
    w->jw = *j;
    if (b)
        w->jw.batch = *b;
    w->jw.pending = offsets;
    w->jw.err[0] = 0;
    w->job = job;
    cd_job_post(w->jt);
}

static int my_can_send(const struct jdbc_task *j, const struct jdbc_batch *b)
{
    return ((const struct my_state *)j->db)->w != NULL;
}

/* Hands the batch and j->pending to the writer thread. The batch's arrays stay as they are
 * until my_collect (the task keeps the batch in flight), so a shallow copy is enough. */
static int my_send(struct jdbc_task *j, struct jdbc_batch *b)
{
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_copy(j->pending);
    if (!offsets)
        return oom(j);
    writer_queue(j, JOB_WRITE, b, offsets);
    return JDBC_OK;
}

static int my_collect(struct jdbc_task *j, int block)
{
    struct my_writer *w = ((struct my_state *)j->db)->w;
    return !block && cd_job_busy(w->jt) ? JDBC_BUSY : writer_wait(j, w);
}

/* Insert mode with LOAD DATA: one transaction over several batches (jdbc.c's COPY across
 * puts), one LOAD whose rows each put adds while the writer thread sends them. */
static int my_copy_open(struct jdbc_task *j, struct jdbc_batch *b)
{
    struct my_state *s = j->db;
    /* upserts: LOAD DATA's REPLACE deletes the old row first (other columns, triggers and
     * foreign keys see a delete), not what ON DUPLICATE KEY UPDATE does */
    if (!s->w || s->no_load || j->c.insert_mode != JDBC_INSERT)
        return JDBC_DECLINE;
    int rc = load_start(j, &s->load, &b->segs[0]);
    if (!rc)
        rc = load_add(j, &s->load, b, &b->segs[0]);
    if (rc)
        return rc == MY_LOAD_FALLBACK ? JDBC_DECLINE : rc;
    writer_queue(j, JOB_STREAM, NULL, NULL);
    return JDBC_OK;
}

/* Gives the LOAD across puts up (j->err says why): the writer fails it and rolls back, on a
 * connection that a LOAD given up leaves in an unsure state, so the task reconnects. */
static int stream_give_up(struct jdbc_task *j)
{
    struct my_state *s = j->db;
    load_close(&s->load, 1);
    writer_wait(NULL, s->w); /* its outcome is this failure: j->err keeps why */
    return JDBC_E_CONN;
}

static int my_copy_append(struct jdbc_task *j, struct jdbc_batch *b)
{
    struct my_state *s = j->db;
    if (!cd_job_busy(s->w->jt)) { /* the LOAD failed before its rows ended */
        int rc = writer_wait(j, s->w);
        if (rc)
            return rc;
        snprintf(j->err, sizeof(j->err), "LOAD DATA into %s ended early", s->load.table);
        return JDBC_E_OTHER;
    }
    int rc = load_add(j, &s->load, b, &b->segs[0]);
    if (rc == MY_LOAD_FALLBACK)
        snprintf(j->err, sizeof(j->err), "a batch with binary values cannot join LOAD DATA");
    return rc ? stream_give_up(j) : JDBC_OK;
}

static int my_copy_finish(struct jdbc_task *j, const rd_kafka_topic_partition_list_t *offsets)
{
    struct my_state *s = j->db;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (offsets && !(l = rd_kafka_topic_partition_list_copy(offsets))) {
        oom(j);
        return stream_give_up(j);
    }
    s->w->jw.pending = l; /* read by the writer once it sees the rows end */
    load_close(&s->load, 0);
    return JDBC_OK;
}

static int my_offsets_load(struct jdbc_task *j, rd_kafka_topic_partition_list_t *out)
{
    struct jdbc_buf q = {0};
    jdbc_buf_str(&q, "SELECT topic, `partition`, next_offset FROM " JDBC_OFFSETS_TABLE
                     " WHERE connector = ");
    lit(j, &q, task_connector_name(j->t));
    int rc = mysql_real_query(myc(j), q.p, q.len) ? my_fail_conn(j, JDBC_OFFSETS_TABLE) : 0;
    jdbc_buf_free(&q);
    if (rc)
        return rc == JDBC_E_DATA ? JDBC_E_OTHER : rc;
    MYSQL_RES *res = mysql_store_result(myc(j));
    if (!res)
        return my_fail_conn(j, JDBC_OFFSETS_TABLE);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        rd_kafka_topic_partition_list_add(out, row[0], atoi(row[1]))->offset =
            strtoll(row[2], NULL, 10);
    mysql_free_result(res);
    /* end the read's implicit snapshot so later reads see fresh data */
    mysql_commit(myc(j));
    return JDBC_OK;
}

const struct jdbc_backend jdbc_mysql_backend = {
    .connect = my_connect,
    .disconnect = my_disconnect,
    .table_load = my_table_load,
    .exec = my_exec,
    .write = my_write,
    .offsets_load = my_offsets_load,
    .table_forget = my_table_forget,
    .can_send = my_can_send,
    .send = my_send,
    .collect = my_collect,
    .copy_open = my_copy_open,
    .copy_append = my_copy_append,
    .copy_finish = my_copy_finish,
};
