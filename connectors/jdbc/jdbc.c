/* jdbc.c — the JDBC-style sink connector: config schema, task lifecycle and the put loop.
 *
 * put() maps every record to a row of its table (creating or evolving the table first when
 * allowed), groups rows into segments (same table, operation and columns), and hands the batch
 * to the backend, which writes it in one transaction (with exactly-once: together with the
 * next offsets in connectd_offsets). Database unavailability is retried (CD_ERR_RETRIABLE)
 * up to max.retries; a row the database rejects fails the task naming its topic, partition
 * and offset. */
#include "jdbc.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const insert_modes[] = {"insert", "upsert", "update", NULL};
static const char *const pk_modes[] = {"none", "kafka", "record_key", "record_value", NULL};
static const char *const quote_modes[] = {"always", "never", NULL};

static int check_url(const char *v, char *err, size_t errlen)
{
    struct jdbc_url u;
    if (jdbc_url_parse(v, &u, err, errlen))
        return -1;
    jdbc_url_free(&u);
    return 0;
}

static int check_tz(const char *v, char *err, size_t errlen)
{
    int off;
    if (!jdbc_tz_parse(v, &off))
        return 0;
    snprintf(err, errlen, "unsupported time zone '%s' (use UTC or a fixed offset like +02:00)", v);
    return -1;
}

#define G_CONN "Connection"
#define G_WRITE "Writes"
#define G_DATA "Data Mapping"
#define G_DDL "DDL Support"
#define G_RETRY "Retries"

static const struct cfg_def jdbc_defs[] = {
    {"connection.url", CFG_STRING, NULL, 1, CFG_HIGH,
     "JDBC connection URL: jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db, "
     "jdbc:mariadb://..., or a native postgresql:// / mysql:// URI. Parameters such as sslmode "
     "are honoured.",
     G_CONN, 0, NULL, check_url},
    {"connection.user", CFG_STRING, NULL, 0, CFG_HIGH, "JDBC connection user.", G_CONN, 0, NULL,
     NULL},
    {"connection.password", CFG_PASSWORD, NULL, 0, CFG_HIGH, "JDBC connection password.", G_CONN,
     1, NULL, NULL},
    {"connection.attempts", CFG_INT, "3", 0, CFG_LOW,
     "Maximum number of attempts to open a connection.", G_CONN, 0, NULL, NULL},
    {"connection.backoff.ms", CFG_LONG, "10000", 0, CFG_LOW,
     "Backoff time in milliseconds between connection attempts.", G_CONN, 0, NULL, NULL},
    {"dialect.name", CFG_STRING, "", 0, CFG_LOW,
     "Accepted for compatibility; the dialect comes from connection.url.", G_CONN, 0, NULL, NULL},
    {"insert.mode", CFG_STRING, "insert", 0, CFG_HIGH,
     "insert (one transaction for consecutive batches of a table up to 15000 rows or "
     "batch.size, 1 s: one COPY on Postgres, one LOAD DATA LOCAL from memory on MySQL, "
     "multi-row INSERT where the server refuses it), upsert (Postgres: as insert while the "
     "keys are new, see upsert.optimistic, else COPY into a temp table, then INSERT ... "
     "SELECT ... ON CONFLICT, for 64 rows or more; MySQL: ON DUPLICATE KEY UPDATE) or update.",
     G_WRITE, 0, insert_modes, NULL},
    {"batch.size", CFG_INT, "3000", 0, CFG_MEDIUM,
     "Maximum number of rows in one multi-row statement.", G_WRITE, 0, NULL, NULL},
    {"delete.enabled", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Whether a null record value (tombstone) deletes the row; needs pk.mode=record_key.",
     G_WRITE, 0, NULL, NULL},
    {"exactly.once.enabled", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Write each batch and its Kafka offsets in one transaction (table connectd_offsets) and "
     "resume from the offsets stored there.",
     G_WRITE, 0, NULL, NULL},
    {"upsert.optimistic", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "Postgres upsert mode: write upserts as insert mode does (one COPY across batches) while "
     "their keys are new to the table; a COPY that meets a key already there is rolled back "
     "and its records upserted with ON CONFLICT. Only for a table with a unique index on "
     "exactly the key columns. false: always ON CONFLICT.",
     G_WRITE, 0, NULL, NULL},
    {"table.name.format", CFG_STRING, "${topic}", 0, CFG_MEDIUM,
     "Destination table name; ${topic} is replaced by the record's topic. A '.' in the format "
     "separates schema (database) and table.",
     G_DATA, 0, NULL, NULL},
    {"pk.mode", CFG_STRING, "none", 0, CFG_HIGH,
     "Primary key mode: none, kafka (__connect_topic, __connect_partition, __connect_offset), "
     "record_key or record_value.",
     G_DATA, 0, pk_modes, NULL},
    {"pk.fields", CFG_LIST, "", 0, CFG_MEDIUM, "Primary key field names (meaning per pk.mode).",
     G_DATA, 0, NULL, NULL},
    {"fields.whitelist", CFG_LIST, "", 0, CFG_MEDIUM,
     "Record value fields to write; empty = all.", G_DATA, 0, NULL, NULL},
    {"fields.include", CFG_LIST, "", 0, CFG_MEDIUM, "Newer name of fields.whitelist.", G_DATA, 0,
     NULL, NULL},
    {"db.timezone", CFG_STRING, "UTC", 0, CFG_MEDIUM,
     "Time zone of TIMESTAMP values written: UTC or a fixed offset such as +02:00.", G_DATA, 0,
     NULL, check_tz},
    {"auto.create", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Create a missing table (CREATE TABLE) from the record's schema or inferred JSON types.",
     G_DDL, 0, NULL, NULL},
    {"auto.evolve", CFG_BOOLEAN, "false", 0, CFG_MEDIUM,
     "Add a nullable column for a new field, widen BIGINT to DOUBLE for a non-integral number.",
     G_DDL, 0, NULL, NULL},
    {"quote.sql.identifiers", CFG_STRING, "always", 0, CFG_MEDIUM,
     "Quote table and column names in SQL: always or never. With never, a plain name (a letter "
     "or _, then letters, digits, _ or $) goes unquoted, and Postgres folds it to lower case; any "
     "other name is still quoted, so a field name never runs as SQL.",
     G_DDL, 0, quote_modes, NULL},
    {"table.types", CFG_LIST, "TABLE", 0, CFG_LOW, "Accepted for compatibility.", G_DDL, 0, NULL,
     NULL},
    {"max.retries", CFG_INT, "10", 0, CFG_MEDIUM,
     "Retries of a failed write before the task fails.", G_RETRY, 0, NULL, NULL},
    {"retry.backoff.ms", CFG_INT, "3000", 0, CFG_MEDIUM,
     "Time in milliseconds to wait before a retry.", G_RETRY, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static int pick(const char *v, const char *const *names)
{
    for (int i = 0; v && names[i]; i++)
        if (!strcasecmp(v, names[i]))
            return i;
    return 0;
}

/* Splits a comma list into trimmed, non-empty, malloc'd strings. */
static char **split_list(const char *s, int *n)
{
    *n = 0;
    if (!s)
        return NULL;
    char **out = calloc(strlen(s) / 2 + 2, sizeof(char *));
    const char *p = s;
    while (out && *p) {
        size_t l = strcspn(p, ",");
        const char *a = p, *e = p + l;
        while (a < e && (*a == ' ' || *a == '\t'))
            a++;
        while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > a)
            out[(*n)++] = strndup(a, (size_t)(e - a));
        p += l;
        if (*p)
            p++;
    }
    return out;
}

static void add_err(json_t *errors, const char *key, const char *msg)
{
    json_t *a = json_object_get(errors, key);
    if (!a) {
        a = json_array();
        json_object_set_new(errors, key, a);
    }
    json_array_append_new(a, json_string(msg));
}

static int jdbc_validate(json_t *conf, json_t *errors)
{
    int n = 0;
    int im = pick(cfg_get_str(conf, jdbc_defs, "insert.mode"), insert_modes);
    int pm = pick(cfg_get_str(conf, jdbc_defs, "pk.mode"), pk_modes);
    if (im != JDBC_INSERT && pm == JDBC_PK_NONE) {
        add_err(errors, "pk.mode", "insert.mode upsert and update need a pk.mode other than none");
        n++;
    }
    if (cfg_get_bool(conf, jdbc_defs, "delete.enabled", 0) && pm != JDBC_PK_RECORD_KEY) {
        add_err(errors, "delete.enabled", "delete.enabled=true needs pk.mode=record_key");
        n++;
    }
    int npk;
    char **pk = split_list(cfg_get_str(conf, jdbc_defs, "pk.fields"), &npk);
    if (pm == JDBC_PK_KAFKA && npk && npk != 3) {
        add_err(errors, "pk.fields",
                "pk.mode=kafka takes exactly three pk.fields (topic, partition, offset) or none");
        n++;
    }
    for (int i = 0; i < npk; i++)
        free(pk[i]);
    free(pk);
    return n;
}

static json_t *jdbc_task_configs(json_t *conf, int max_tasks)
{
    json_t *a = json_array();
    for (int i = 0; i < (max_tasks < 1 ? 1 : max_tasks); i++)
        json_array_append_new(a, json_deep_copy(conf));
    return a;
}

/* ---------------- helpers ---------------- */

/* Sleeps ms in small steps, returning early when the task is asked to stop. */
static void jdbc_sleep(struct jdbc_task *j, int ms)
{
    while (ms > 0 && !task_stopping(j->t)) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int jdbc_chunk_rows(int left, int max)
{
    if (left >= max)
        return max;
    int p = 1;
    while (p * 2 <= left)
        p *= 2;
    return p;
}

void jdbc_seg_spec(const struct jdbc_task *j, const struct jdbc_seg *sg, int dialect,
                   struct jdbc_stmt_spec *sp, const char **names)
{
    for (int i = 0; i < sg->ncols; i++)
        names[i] = sg->table->cols[sg->cols[i]].name;
    sp->dialect = dialect;
    sp->quote = j->c.quote;
    sp->qtable = sg->table->qname;
    sp->cols = names;
    sp->is_pk = sg->is_pk;
    sp->ncols = sg->ncols;
    sp->nrows = 1;
}

void jdbc_seg_key(struct jdbc_buf *k, char kind, int nrows, const struct jdbc_seg *sg)
{
    k->len = 0;
    jdbc_buf_printf(k, "%c%d:", kind, nrows);
    for (int i = 0; i < sg->ncols; i++)
        jdbc_buf_printf(k, "%d%s,", sg->cols[i], sg->is_pk[i] ? "k" : "");
}

int jdbc_seg_live(const struct jdbc_batch *b, const struct jdbc_seg *sg, int *live)
{
    int n = 0;
    for (int k = 0; k < sg->nrows; k++)
        if (!b->rows[sg->rows[k]].skip)
            live[n++] = sg->rows[k];
    return n;
}

int jdbc_chunk_max(const struct jdbc_task *j, const struct jdbc_seg *sg, int locate,
                   int max_params)
{
    int max = locate ? 1 : j->c.batch_size;
    if (max > max_params / sg->ncols)
        max = max_params / sg->ncols;
    return max < 1 ? 1 : max;
}

void jdbc_err_scrub(struct jdbc_task *j)
{
    jdbc_scrub(j->err, sizeof(j->err), j->password);
    jdbc_scrub(j->err, sizeof(j->err), j->url.password);
}

/* Connects when not connected, trying connection.attempts times. */
static int jdbc_ensure_conn(struct jdbc_task *j)
{
    if (j->db)
        return JDBC_OK;
    int rc = JDBC_E_CONN;
    for (int a = 0; a < (j->c.conn_attempts < 1 ? 1 : j->c.conn_attempts); a++) {
        if (a)
            jdbc_sleep(j, j->c.conn_backoff_ms);
        if (task_stopping(j->t))
            break;
        rc = j->be->connect(j);
        if (rc == JDBC_OK) {
            char where[512];
            task_log(j->t, LOG_INFO, "connected to %s at %s",
                     j->url.dialect == JDBC_PG ? "Postgres" : "MySQL",
                     jdbc_url_target(&j->url, where, sizeof(where)));
            return rc;
        }
        task_log(j->t, LOG_WARN, "connection attempt %d failed: %s", a + 1, j->err);
    }
    return rc;
}

static int fly_settle(struct jdbc_task *j, int block);

static void jdbc_tables_forget(struct jdbc_task *j)
{
    if (j->fly.state == FLY_OPEN)
        fly_settle(j, 1); /* forgetting may need the connection; a failure is written again */
    for (struct jdbc_table *t = j->tables; t; t = t->next) {
        if (j->db)
            j->be->table_forget(j, t);
        t->loaded = 0;
    }
}

/* Closes the connection; the backend drops its statements with it (no DEALLOCATE round trips
 * on a connection that may be dead). */
static void jdbc_disconnect(struct jdbc_task *j)
{
    if (!j->db)
        return;
    for (struct jdbc_table *t = j->tables; t; t = t->next)
        t->loaded = 0;
    j->be->disconnect(j);
    j->db = NULL;
    if (j->fly.state == FLY_OPEN || j->fly.state == FLY_SENT)
        j->fly.state = FLY_FAILED; /* its transaction ends with the connection */
    /* a COMMIT whose reply was lost with the connection may have landed: the stored offsets,
     * re-read after reconnecting, tell which records are in */
    j->eos_loaded = 0;
}

/* ---------------- the write in flight ----------------
 * A backend with send (Postgres upsert of a big batch, every MySQL batch) starts writing
 * batch N and put returns; the next put maps its records to rows while the database stores N,
 * then reads N's outcome before sending its own. Insert mode goes further: each put adds its
 * rows to one transaction left open across puts (copy_open, copy_append: a COPY on Postgres,
 * a LOAD DATA LOCAL on MySQL), and ends it in the put after it holds JDBC_COPY_ROWS rows,
 * CD_PUT_KEEP_MAX puts or JDBC_COPY_MS (once that put has mapped its records), when the next
 * batch does not fit it (another table, other columns), when nothing came (an idle put) and
 * at flush. Every COPY statement costs Postgres about 2.5 ms of CPU whatever its size, so a COPY
 * per put of 3000 rows doubled its share of the work; on MySQL each COMMIT waits for the redo
 * log's flush. The runtime keeps the records of the puts in flight (task_put_keep,
 * task_put_keep_more), so when the write failed they are mapped and written again,
 * synchronously, with the usual row-by-row search for a rejected row. */

#define JDBC_COPY_ROWS 15000 /* or batch.size when larger */
#define JDBC_COPY_MS 1000

/* ---- optimistic upsert ----
 * Upserts mostly bring keys the table does not hold yet (pk.mode=kafka: each record's own
 * coordinates; ids, timestamps), and for those an upsert is an insert. So upsert mode first
 * writes rows the way insert mode does, with a COPY spanning puts, when the backend accepts
 * (Postgres, into a table with a unique index on exactly the key columns: the index ON
 * CONFLICT would use, so a key already there fails the COPY instead of adding a second row).
 * A COPY that fails is rolled back and its records are upserted the usual way, which then
 * updates the rows already there. Each such failure doubles the number of upserts written the
 * usual way before the next try (up to OPTIMISTIC_GAP_MAX), so a stream of keys that repeat
 * pays for about one failed COPY in that many; a COPY that succeeds halves the gap, so it
 * shrinks only while most tries succeed (a failed try costs a partial COPY, about half of
 * what the upsert it precedes costs). In the JDBC benchmark's upsert run (1M new keys)
 * Postgres spends 5.5-6.4 CPU-s on INSERT ... SELECT ... ON CONFLICT from the stage and
 * 2.6-2.9 s on COPY into the same table; with 1000 keys that every put meets again, rows/s
 * stay as they were. */
#define OPTIMISTIC_GAP_MAX 256

/* Whether this upsert may try the optimistic COPY; counts the ones that wait. */
static int optimistic_turn(struct jdbc_task *j)
{
    if (j->optimistic_skip > 0) {
        j->optimistic_skip--;
        return 0;
    }
    return 1;
}

/* The optimistic COPY in flight met data it refused: the next ones wait longer. */
static void optimistic_failed(struct jdbc_task *j)
{
    if (j->optimistic_gap < 1)
        j->optimistic_gap = 1;
    j->optimistic_skip = j->optimistic_gap;
    if (j->optimistic_gap < OPTIMISTIC_GAP_MAX)
        j->optimistic_gap *= 2;
}

static void pending_set(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t p,
                        int64_t next);

static void eos_apply(struct jdbc_task *j, const rd_kafka_topic_partition_list_t *l)
{
    if (j->c.eos)
        for (int i = 0; i < l->cnt; i++)
            pending_set(j->eos, l->elems[i].topic, l->elems[i].partition, l->elems[i].offset);
}

/* The write in flight failed: its records are written again by fly_rewrite. */
static void fly_failed(struct jdbc_task *j, int rc)
{
    if (j->fly.optimistic && rc == JDBC_E_DATA) { /* a key already there, most likely */
        task_log(j->t, LOG_DEBUG, "inserting %zu records failed, upserting them: %s", j->fly.n,
                 j->err);
        optimistic_failed(j);
    } else {
        task_log(j->t, LOG_WARN, "writing %zu records failed, writing them again: %s", j->fly.n,
                 j->err);
    }
    j->fly.state = FLY_FAILED;
    if (rc == JDBC_E_CONN)
        jdbc_disconnect(j);
}

/* Ends the open COPY and sends its transaction's COMMIT. */
static int fly_finish(struct jdbc_task *j)
{
    int rc = j->be->copy_finish(j, j->c.eos ? j->fly.pending : NULL);
    if (rc)
        fly_failed(j, rc);
    else
        j->fly.state = FLY_SENT;
    return rc;
}

/* Reads the outcome of the write in flight, if any, ending an open COPY first. block=0:
 * JDBC_BUSY while Postgres is still at it. A failure leaves it FLY_FAILED (written again by
 * fly_rewrite) and returns JDBC_E_FLY. Anything else that needs the connection must call this
 * first. */
static int fly_settle(struct jdbc_task *j, int block)
{
    if (j->fly.state == FLY_OPEN && fly_finish(j))
        return JDBC_E_FLY;
    if (j->fly.state != FLY_SENT)
        return JDBC_OK;
    int rc = j->be->collect(j, block);
    if (rc == JDBC_BUSY)
        return rc;
    if (rc == JDBC_OK) {
        eos_apply(j, j->fly.pending);
        j->fly.state = FLY_NONE;
        if (j->fly.optimistic && j->optimistic_gap > 1)
            j->optimistic_gap /= 2;
        return JDBC_OK;
    }
    fly_failed(j, rc);
    return JDBC_E_FLY;
}

/* Forgets the batch in flight, written or not (its records are about to go). */
static void fly_drop(struct jdbc_task *j)
{
    if (j->fly.state == FLY_OPEN)
        jdbc_disconnect(j); /* rolls the transaction back */
    if (j->fly.state == FLY_SENT && j->db)
        j->be->collect(j, 1);
    j->fly.state = FLY_NONE;
    j->fly.n = 0;
}

static void table_free(struct jdbc_table *t)
{
    free(t->name);
    free(t->schema);
    free(t->table);
    free(t->qname);
    free(t->bad_name);
    for (int i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t);
}

/* Whether col (a column's name as the database keeps it) is field name's column. MySQL's
 * names ignore case; Postgres folds an unquoted plain name to lower case
 * (quote.sql.identifiers=never), so field HeartRate made column heartrate. */
static int col_is(const struct jdbc_task *j, const char *col, const char *name)
{
    if (j->url.dialect == JDBC_MYSQL)
        return !strcasecmp(col, name);
    if (!strcmp(col, name))
        return 1;
    return !j->c.quote && jdbc_ident_folded_is(col, name, strlen(name));
}

/* Column index of name in t, -1 when missing; hint is where to look first. */
static int col_find_hint(const struct jdbc_task *j, const struct jdbc_table *t, const char *name,
                         int hint)
{
    if (hint >= 0 && hint < t->ncols && col_is(j, t->cols[hint].name, name))
        return hint;
    for (int i = 0; i < t->ncols; i++)
        if (col_is(j, t->cols[i].name, name))
            return i;
    return -1;
}

static int col_find(const struct jdbc_task *j, const struct jdbc_table *t, const char *name)
{
    return col_find_hint(j, t, name, -1);
}

/* Why schema.table (from table.name.format and a topic) cannot name a table, malloc'd, or
 * NULL when it can. A Postgres name cut short would create one table and look up another. */
static char *table_name_check(const struct jdbc_task *j, const char *schema, const char *tab)
{
    char why[160], msg[320];
    const char *part = schema && jdbc_ident_check(j->url.dialect, schema, why, sizeof(why))
                           ? schema
                           : NULL;
    if (!part && jdbc_ident_check(j->url.dialect, tab, why, sizeof(why)))
        part = tab;
    if (!part)
        return NULL;
    snprintf(msg, sizeof(msg), "the name '%.100s%s' (from table.name.format) %s", part,
             strlen(part) > 100 ? "..." : "", why);
    return strdup(msg);
}

/* Reads t's columns from the database again, dropping those read before. */
static int table_reload(struct jdbc_task *j, struct jdbc_table *t)
{
    for (int i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    t->ncols = 0;
    return j->be->table_load(j, t);
}

int jdbc_table_get(struct jdbc_task *j, const char *topic, struct jdbc_table **out)
{
    struct jdbc_table *t;
    if (j->last_table && j->last_table->loaded && !strcmp(j->last_topic, topic)) {
        *out = j->last_table;
        return JDBC_OK;
    }
    char *schema, *tab;
    jdbc_table_split(j->c.table_format, topic, &schema, &tab);
    for (t = j->tables; t; t = t->next)
        if (!strcmp(t->table, tab) && !((t->schema == NULL) != (schema == NULL)) &&
            (!schema || !strcmp(t->schema, schema)))
            break;
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t) {
            free(schema);
            free(tab);
            snprintf(j->err, sizeof(j->err), "out of memory");
            return JDBC_E_OTHER;
        }
        struct jdbc_buf q = {0};
        if (schema) {
            jdbc_sql_ident(&q, j->url.dialect, j->c.quote, schema);
            jdbc_buf_add(&q, ".", 1);
        }
        jdbc_sql_ident(&q, j->url.dialect, j->c.quote, tab);
        t->qname = q.p;
        t->name = jdbc_table_name(j->c.table_format, topic);
        t->schema = schema;
        t->table = tab;
        t->bad_name = table_name_check(j, schema, tab);
        t->next = j->tables;
        j->tables = t;
    } else {
        free(schema);
        free(tab);
    }
    *out = t;
    if (!t->loaded) {
        int rc = fly_settle(j, 1); /* the write in flight may still read t's columns */
        if (rc)
            return rc;
        if ((rc = table_reload(j, t)))
            return rc;
        t->loaded = 1;
    }
    free(j->last_topic);
    j->last_topic = strdup(topic);
    j->last_table = j->last_topic ? t : NULL;
    return JDBC_OK;
}

/* Runs DDL for table t, then reloads its metadata. */
static int table_ddl(struct jdbc_task *j, struct jdbc_table *t, const char *sql)
{
    int rc = fly_settle(j, 1);
    if (rc)
        return rc;
    task_log(j->t, LOG_INFO, "%s", sql);
    rc = j->be->exec(j, sql);
    j->be->table_forget(j, t);
    t->loaded = 0;
    if (rc) {
        /* another task may have done the same: judge by the metadata */
        task_log(j->t, LOG_WARN, "DDL on %s failed: %s", t->name, j->err);
    }
    int lrc = table_reload(j, t);
    if (lrc)
        return lrc;
    t->loaded = 1;
    return rc == JDBC_E_CONN ? rc : JDBC_OK;
}

/* A field whose name cannot be a column: the record is rejected (j->err says why), instead of
 * DDL that fails, or on Postgres makes a column under a shorter name, on every retry. */
static int field_name_bad(struct jdbc_task *j, const struct jdbc_table *t,
                          const struct jdbc_field *f)
{
    char why[160];
    if (!jdbc_ident_check(j->url.dialect, f->name, why, sizeof(why)))
        return 0;
    snprintf(j->err, sizeof(j->err),
             "field '%.100s%s' cannot be a column of table %s: its name %s (rename it, e.g. with "
             "the ReplaceField transform)",
             f->name, strlen(f->name) > 100 ? "..." : "", t->name, why);
    return 1;
}

static void col_def(struct jdbc_task *j, struct jdbc_buf *b, const struct jdbc_field *f)
{
    char tmp[48];
    jdbc_sql_ident(b, j->url.dialect, j->c.quote, f->name);
    jdbc_buf_printf(b, " %s%s", jdbc_sql_type(j->url.dialect, f->type, f->is_pk, f->scale, tmp,
                                              sizeof(tmp)),
                    f->is_pk || (f->typed && !f->optional) ? " NOT NULL" : " NULL");
}

/* Makes table t fit the fields: CREATE TABLE, ADD COLUMN, widening, as allowed.
 * Returns JDBC_OK, a database error class, or 1 with j->err naming the mismatch. */
static int table_fit(struct jdbc_task *j, struct jdbc_table *t, struct jdbc_fields *fs,
                     enum jdbc_op op)
{
    struct jdbc_buf sql = {0};
    int rc = JDBC_OK, ddl = 0;
    for (int i = 0; i < fs->n; i++)
        fs->f[i].col = -1;
    if (t->bad_name && op != JDBC_OP_DELETE) {
        snprintf(j->err, sizeof(j->err), "cannot write to table %s: %s", t->name, t->bad_name);
        return 1;
    }
    if (!t->exists) {
        if (op == JDBC_OP_DELETE)
            return JDBC_OK; /* nothing to delete */
        if (!j->c.auto_create) {
            snprintf(j->err, sizeof(j->err), "table %s is missing and auto.create is disabled",
                     t->name);
            return 1;
        }
        jdbc_buf_printf(&sql, "CREATE TABLE %s%s (", j->url.dialect == JDBC_PG ? "" : "IF NOT EXISTS ",
                        t->qname);
        int n = 0, npk = 0;
        for (int i = 0; i < fs->n; i++) {
            if (fs->f[i].type == JT_NONE)
                continue;
            if (field_name_bad(j, t, &fs->f[i])) {
                jdbc_buf_free(&sql);
                return 1;
            }
            if (n++)
                jdbc_buf_add(&sql, ",", 1);
            col_def(j, &sql, &fs->f[i]);
            npk += fs->f[i].is_pk;
        }
        if (!n) {
            jdbc_buf_free(&sql);
            return JDBC_OK; /* only nulls so far: wait for a value that shows a type */
        }
        if (npk && j->c.pk_mode != JDBC_PK_NONE) {
            jdbc_buf_str(&sql, ",PRIMARY KEY(");
            for (int i = 0, k = 0; i < fs->n; i++)
                if (fs->f[i].is_pk && fs->f[i].type != JT_NONE) {
                    if (k++)
                        jdbc_buf_add(&sql, ",", 1);
                    jdbc_sql_ident(&sql, j->url.dialect, j->c.quote, fs->f[i].name);
                }
            jdbc_buf_add(&sql, ")", 1);
        }
        jdbc_buf_str(&sql, j->url.dialect == JDBC_PG
                               ? ")"
                               : ") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
        rc = table_ddl(j, t, sql.p);
        jdbc_buf_free(&sql);
        for (int i = 0; i < fs->n; i++)
            fs->f[i].col = col_find(j, t, fs->f[i].name);
        return rc;
    }
    for (int i = 0; i < fs->n; i++) {
        struct jdbc_field *f = &fs->f[i];
        int ci = f->col = col_find_hint(j, t, f->name, i);
        if (ci < 0) {
            if (f->type == JT_NONE)
                continue; /* null, type unknown: no column yet */
            if (!j->c.auto_evolve) {
                snprintf(j->err, sizeof(j->err),
                         "table %s has no column '%s' and auto.evolve is disabled", t->name,
                         f->name);
                return 1;
            }
            if (field_name_bad(j, t, f)) {
                rc = 1;
                break;
            }
            sql.len = 0;
            jdbc_buf_printf(&sql, "ALTER TABLE %s ADD %s", t->qname,
                            j->url.dialect == JDBC_PG ? "COLUMN " : "");
            struct jdbc_field nf = *f;
            nf.optional = 1;
            nf.is_pk = 0;
            col_def(j, &sql, &nf);
            j->err[0] = 0;
            rc = table_ddl(j, t, sql.p);
            if (rc)
                break;
            if (col_find(j, t, f->name) < 0) {
                char why[512];
                snprintf(why, sizeof(why), "%.400s", j->err); /* the DDL's error, if any */
                snprintf(j->err, sizeof(j->err), "adding column '%s' to %s failed%s%s", f->name,
                         t->name, why[0] ? ": " : "", why);
                rc = JDBC_E_OTHER;
                break;
            }
            ddl = 1;
            continue;
        }
        struct jdbc_column *c = &t->cols[ci];
        int chk = jdbc_type_check(c->type, f->type, f->value);
        if (chk == 1 && j->c.auto_evolve && !f->is_pk) {
            sql.len = 0;
            struct jdbc_buf q = {0};
            jdbc_sql_ident(&q, j->url.dialect, j->c.quote, c->name);
            if (j->url.dialect == JDBC_PG)
                jdbc_buf_printf(&sql, "ALTER TABLE %s ALTER COLUMN %s TYPE DOUBLE PRECISION",
                                t->qname, q.p);
            else
                jdbc_buf_printf(&sql, "ALTER TABLE %s MODIFY COLUMN %s DOUBLE %s", t->qname, q.p,
                                c->nullable ? "NULL" : "NOT NULL");
            jdbc_buf_free(&q);
            rc = table_ddl(j, t, sql.p);
            if (rc)
                break;
            ddl = 1;
            continue;
        }
        if (chk) {
            snprintf(j->err, sizeof(j->err),
                     "field '%s' holds a %s value but column %s.%s is of type %s%s", f->name,
                     jdbc_type_name(f->type), t->name, c->name, jdbc_type_name(c->type),
                     chk == 1 ? " (auto.evolve is disabled)" : "");
            rc = 1;
            break;
        }
    }
    jdbc_buf_free(&sql);
    if (ddl) /* columns moved: map again */
        for (int i = 0; i < fs->n; i++)
            fs->f[i].col = col_find(j, t, fs->f[i].name);
    return rc;
}

static int cols_equal(const struct jdbc_seg *s, const int *cols, int n)
{
    return s->ncols == n && !memcmp(s->cols, cols, sizeof(int) * (size_t)n);
}

/* The open segment of table t for rows of op with these columns, or a new one; NULL when
 * memory is short. */
static struct jdbc_seg *seg_for(struct jdbc_batch *b, struct jdbc_table *t, enum jdbc_op op,
                                const int *cols, const int *pks, int n)
{
    for (int i = b->nsegs; i-- > 0;)
        if (b->segs[i].table == t && b->segs[i].open) {
            if (b->segs[i].op == op && cols_equal(&b->segs[i], cols, n))
                return &b->segs[i];
            b->segs[i].open = 0;
            break;
        }
    if (b->nsegs == b->capsegs) {
        int cap = b->capsegs ? b->capsegs * 2 : 8;
        struct jdbc_seg *ns = realloc(b->segs, sizeof(*ns) * (size_t)cap);
        if (!ns)
            return NULL;
        b->segs = ns;
        b->capsegs = cap;
    }
    struct jdbc_seg *s = &b->segs[b->nsegs++];
    memset(s, 0, sizeof(*s));
    s->table = t;
    s->op = op;
    s->open = 1;
    s->ncols = n;
    s->cols = malloc(sizeof(int) * (size_t)n);
    s->is_pk = malloc(sizeof(int) * (size_t)n);
    if (!s->cols || !s->is_pk)
        return NULL;
    memcpy(s->cols, cols, sizeof(int) * (size_t)n);
    memcpy(s->is_pk, pks, sizeof(int) * (size_t)n);
    return s;
}

int jdbc_batch_place(struct jdbc_task *j, struct jdbc_table *t, struct cd_record *r,
                     enum jdbc_op op, const int *cols, const int *pks,
                     const struct jdbc_cell *cells, int n)
{
    struct jdbc_batch *b = &j->batch;
    struct jdbc_seg *s = seg_for(b, t, op, cols, pks, n);
    if (!s)
        return -1;
    if (s->nrows == s->caprows) {
        int cap = s->caprows ? s->caprows * 2 : 64;
        int *nr = realloc(s->rows, sizeof(int) * (size_t)cap);
        if (!nr)
            return -1;
        s->rows = nr;
        s->caprows = cap;
    }
    if (b->nrows == b->caprows) {
        int cap = b->caprows ? b->caprows * 2 : 256;
        struct jdbc_row *nr = realloc(b->rows, sizeof(*nr) * (size_t)cap);
        if (!nr)
            return -1;
        b->rows = nr;
        b->caprows = cap;
    }
    if (b->ncells + (size_t)n > b->capcells) {
        size_t cap = b->capcells ? b->capcells * 2 : 1024;
        while (cap < b->ncells + (size_t)n)
            cap *= 2;
        struct jdbc_cell *nc = realloc(b->cells, sizeof(*nc) * cap);
        if (!nc)
            return -1;
        b->cells = nc;
        b->capcells = cap;
    }
    struct jdbc_row *row = &b->rows[b->nrows];
    row->rec = r;
    row->cell0 = (uint32_t)b->ncells;
    row->seg = (int)(s - b->segs);
    row->skip = 0;
    memcpy(&b->cells[b->ncells], cells, sizeof(*cells) * (size_t)n);
    b->ncells += (size_t)n;
    s->rows[s->nrows++] = b->nrows++;
    return 0;
}

/* A record with no field that has a column ({} or {"x": null}) is still a row to insert: all
 * NULL, written as a NULL in the first nullable column. Returns 1 with cols/pks set, or 0 with
 * j->err saying why the row cannot be written. */
static int null_row(struct jdbc_task *j, const struct jdbc_table *t, int *cols, int *pks)
{
    for (int i = 0; i < t->ncols; i++)
        if (t->cols[i].nullable) {
            cols[0] = i;
            pks[0] = 0;
            return 1;
        }
    snprintf(j->err, sizeof(j->err),
             "the record has no field with a value, and table %s %s", t->name,
             t->exists ? "has no nullable column to write an empty row to"
                       : "does not exist yet (a null value shows no column type to create)");
    return 0;
}

/* Adds record r (fields fs) as a row of table t. Returns JDBC_OK, 1 with j->err when a value
 * cannot be represented in its column, 2 when out of memory. */
static int batch_add(struct jdbc_task *j, struct jdbc_table *t, struct cd_record *r,
                     struct jdbc_fields *fs, enum jdbc_op op)
{
    struct jdbc_batch *b = &j->batch;
    int cols[fs->n ? fs->n : 1], pks[fs->n ? fs->n : 1], nf[fs->n ? fs->n : 1], n = 0;
    for (int i = 0; i < fs->n; i++) {
        if (op == JDBC_OP_DELETE && !fs->f[i].is_pk)
            continue;
        int ci = fs->f[i].col;
        if (ci < 0)
            continue; /* a null without a column yet */
        for (int k = 0; k < n; k++)
            if (cols[k] == ci) { /* MySQL names are case-insensitive: "id" and "ID" */
                snprintf(j->err, sizeof(j->err), "fields '%s' and '%s' both map to column %s",
                         fs->f[nf[k]].name, fs->f[i].name, t->cols[ci].name);
                return 1;
            }
        cols[n] = ci;
        pks[n] = fs->f[i].is_pk && j->c.pk_mode != JDBC_PK_NONE;
        nf[n++] = i;
    }
    if (!n && (op != JDBC_OP_WRITE || j->c.insert_mode != JDBC_INSERT))
        return JDBC_OK; /* nothing to update, no key to delete by */
    int empty = !n;
    if (empty && (n = null_row(j, t, cols, pks)) <= 0)
        return 1;
    struct jdbc_cell cells[n];
    size_t data0 = b->data.len;
    for (int i = 0; i < n; i++) {
        struct jdbc_cell *c = &cells[i];
        int is_null = 1, binary = 0;
        c->off = (uint32_t)b->data.len;
        if (!empty &&
            jdbc_render(&b->data, j->url.dialect, t->cols[cols[i]].type, &fs->f[nf[i]],
                        j->c.tz_offset_s, &is_null, &binary, j->err, sizeof(j->err))) {
            b->data.len = data0; /* the row is not added */
            return 1;
        }
        c->len = (uint32_t)(b->data.len - c->off);
        c->null = (uint8_t)is_null;
        c->binary = (uint8_t)binary;
        if (jdbc_buf_add(&b->data, "", 1)) /* NUL after each cell: libpq text parameters */
            goto oom;
    }
    if (!jdbc_batch_place(j, t, r, op, cols, pks, cells, n))
        return JDBC_OK;
oom:
    snprintf(j->err, sizeof(j->err), "out of memory");
    return 2;
}

static uint64_t row_key_hash(const struct jdbc_batch *b, const struct jdbc_seg *s, int r)
{
    uint64_t h = 1469598103934665603ULL;
    const struct jdbc_cell *c = &b->cells[b->rows[r].cell0];
    for (int i = 0; i < s->ncols; i++) {
        if (!s->is_pk[i])
            continue;
        const unsigned char *p = (const unsigned char *)b->data.p + c[i].off;
        for (uint32_t k = 0; k < c[i].len; k++)
            h = (h ^ p[k]) * 1099511628211ULL;
        h = (h ^ (c[i].null ? 0xff : 0xfe)) * 1099511628211ULL;
    }
    return h;
}

static int row_keys_equal(const struct jdbc_batch *b, const struct jdbc_seg *s, int r1, int r2)
{
    const struct jdbc_cell *c1 = &b->cells[b->rows[r1].cell0], *c2 = &b->cells[b->rows[r2].cell0];
    for (int i = 0; i < s->ncols; i++)
        if (s->is_pk[i] && (c1[i].len != c2[i].len || c1[i].null != c2[i].null ||
                            memcmp(b->data.p + c1[i].off, b->data.p + c2[i].off, c1[i].len)))
            return 0;
    return 1;
}

/* Upsert/update segments: an earlier row with the same key as a later one is skipped (the
 * later wins; Postgres refuses to touch one row twice in a statement). */
static void batch_dedupe(struct jdbc_task *j)
{
    struct jdbc_batch *b = &j->batch;
    for (int si = 0; si < b->nsegs; si++) {
        struct jdbc_seg *s = &b->segs[si];
        if (s->nrows < 2 || (s->op == JDBC_OP_WRITE && j->c.insert_mode == JDBC_INSERT))
            continue;
        size_t cap = 16;
        while (cap < (size_t)s->nrows * 2)
            cap *= 2;
        int *slots = malloc(sizeof(int) * cap);
        if (!slots)
            continue;
        for (size_t i = 0; i < cap; i++)
            slots[i] = -1;
        for (int k = s->nrows; k-- > 0;) { /* from the last: the first seen wins */
            int r = s->rows[k];
            size_t h = (size_t)row_key_hash(b, s, r) & (cap - 1);
            for (;;) {
                if (slots[h] < 0) {
                    slots[h] = r;
                    break;
                }
                if (row_keys_equal(b, s, slots[h], r)) {
                    b->rows[r].skip = 1;
                    break;
                }
                h = (h + 1) & (cap - 1);
            }
        }
        free(slots);
    }
}

/* ---------------- exactly-once offsets ---------------- */

static int64_t eos_next(struct jdbc_task *j, const char *topic, int32_t partition)
{
    rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(j->eos, topic, partition);
    return e ? e->offset : -1;
}

static int eos_load(struct jdbc_task *j)
{
    if (j->eos_loaded)
        return JDBC_OK;
    int rc = fly_settle(j, 1); /* its offsets may be the newest */
    if (rc)
        return rc;
    rd_kafka_topic_partition_list_destroy(j->eos);
    j->eos = rd_kafka_topic_partition_list_new(8);
    rc = j->be->offsets_load(j, j->eos);
    if (!rc)
        j->eos_loaded = 1;
    return rc;
}

static void pending_set(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t p,
                        int64_t next)
{
    rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(l, topic, p);
    if (!e)
        e = rd_kafka_topic_partition_list_add(l, topic, p);
    e->offset = next;
}

/* ---------------- task ---------------- */

static char **conf_list(json_t *conf, const char *key, int *n)
{
    return split_list(cfg_get_str(conf, jdbc_defs, key), n);
}

static int jdbc_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct jdbc_task *j = calloc(1, sizeof(*j));
    if (!j) {
        task_set_error(t, "out of memory");
        return CD_ERR_FATAL;
    }
    j->t = t;
    char err[512];
    if (jdbc_url_parse(cfg_get_str(conf, jdbc_defs, "connection.url"), &j->url, err,
                       sizeof(err))) {
        task_set_error(t, "connection.url: %s", err);
        free(j);
        return CD_ERR_CONFIG;
    }
    struct jdbc_conf *c = &j->c;
    c->insert_mode = pick(cfg_get_str(conf, jdbc_defs, "insert.mode"), insert_modes);
    c->pk_mode = pick(cfg_get_str(conf, jdbc_defs, "pk.mode"), pk_modes);
    c->pk_fields = conf_list(conf, "pk.fields", &c->npk);
    c->include = conf_list(conf, "fields.include", &c->ninclude);
    if (!c->ninclude) {
        free(c->include);
        c->include = conf_list(conf, "fields.whitelist", &c->ninclude);
    }
    c->table_format = strdup(cfg_get_str(conf, jdbc_defs, "table.name.format"));
    c->auto_create = cfg_get_bool(conf, jdbc_defs, "auto.create", 0);
    c->auto_evolve = cfg_get_bool(conf, jdbc_defs, "auto.evolve", 0);
    c->delete_enabled = cfg_get_bool(conf, jdbc_defs, "delete.enabled", 0);
    c->eos = cfg_get_bool(conf, jdbc_defs, "exactly.once.enabled", 0);
    c->optimistic = cfg_get_bool(conf, jdbc_defs, "upsert.optimistic", 1);
    c->quote = pick(cfg_get_str(conf, jdbc_defs, "quote.sql.identifiers"), quote_modes) == 0;
    c->batch_size = (int)cfg_get_int(conf, jdbc_defs, "batch.size", 3000);
    c->max_retries = (int)cfg_get_int(conf, jdbc_defs, "max.retries", 10);
    c->retry_backoff_ms = (int)cfg_get_int(conf, jdbc_defs, "retry.backoff.ms", 3000);
    c->conn_attempts = (int)cfg_get_int(conf, jdbc_defs, "connection.attempts", 3);
    c->conn_backoff_ms = (int)cfg_get_int(conf, jdbc_defs, "connection.backoff.ms", 10000);
    if (c->batch_size < 1)
        c->batch_size = 1;
    /* each put is one transaction: let it hold a whole batch.size (a COPY of 3000 rows costs
     * Postgres half as much per row as three of 1000) */
    task_set_batch_max(t, c->batch_size > 1000 ? (size_t)c->batch_size : 1000);
    if (jdbc_tz_parse(cfg_get_str(conf, jdbc_defs, "db.timezone"), &c->tz_offset_s))
        c->tz_offset_s = 0;
    const char *u = cfg_get_str(conf, jdbc_defs, "connection.user");
    const char *p = cfg_get_str(conf, jdbc_defs, "connection.password");
    j->user = strdup(u && *u ? u : j->url.user ? j->url.user : "");
    j->password = strdup(p && *p ? p : j->url.password ? j->url.password : "");
    j->be = j->url.dialect == JDBC_PG ? &jdbc_pg_backend : &jdbc_mysql_backend;
    j->eos = rd_kafka_topic_partition_list_new(8);
    j->pending = rd_kafka_topic_partition_list_new(8);
    j->fly.pending = rd_kafka_topic_partition_list_new(8);
    *state = j;
    char *shown = jdbc_url_redact(cfg_get_str(conf, jdbc_defs, "connection.url"));
    task_log(t, LOG_INFO, "JDBC sink: %s (%s), insert.mode=%s, pk.mode=%s, exactly.once=%s",
             j->url.dialect == JDBC_PG ? "Postgres" : "MySQL", shown ? shown : "?",
             insert_modes[c->insert_mode], pk_modes[c->pk_mode], c->eos ? "true" : "false");
    free(shown);
    /* connect now to report a wrong URL early; failures are retried by put */
    if (j->be->connect(j))
        task_log(t, LOG_WARN, "database not reachable yet: %s", j->err);
    return CD_OK;
}

static void rejected_clear(struct jdbc_task *j);

static void jdbc_stop(void *state, struct task_ctx *t)
{
    struct jdbc_task *j = state;
    if (!j)
        return;
    j->t = t;
    fly_drop(j);
    jdbc_disconnect(j);
    jdbc_batch_free(&j->fly.batch);
    rd_kafka_topic_partition_list_destroy(j->fly.pending);
    rejected_clear(j);
    free(j->rejected.v);
    free(j->fly.recs);
    free(j->last_topic);
    while (j->tables) {
        struct jdbc_table *n = j->tables->next;
        table_free(j->tables);
        j->tables = n;
    }
    jdbc_batch_free(&j->batch);
    jdbc_fields_free(&j->fields);
    rd_kafka_topic_partition_list_destroy(j->eos);
    rd_kafka_topic_partition_list_destroy(j->pending);
    for (int i = 0; i < j->c.npk; i++)
        free(j->c.pk_fields[i]);
    for (int i = 0; i < j->c.ninclude; i++)
        free(j->c.include[i]);
    free(j->c.pk_fields);
    free(j->c.include);
    free(j->c.table_format);
    jdbc_url_free(&j->url);
    free(j->user);
    if (j->password)
        memset(j->password, 0, strlen(j->password));
    free(j->password);
    free(j);
}

static int jdbc_open(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *parts)
{
    struct jdbc_task *j = state;
    j->t = t;
    if (!j->c.eos)
        return CD_OK;
    j->eos_loaded = 0;
    fly_settle(j, 1); /* a failed one is written by the next put: the offsets do without it */
    int rc = jdbc_ensure_conn(j);
    if (!rc)
        rc = eos_load(j);
    if (rc) {
        if (rc == JDBC_E_CONN)
            jdbc_disconnect(j);
        task_set_error(t, "reading stored offsets failed (records already written will be "
                          "skipped once the database is back): %s",
                       j->err);
        return CD_ERR_RETRIABLE;
    }
    for (int i = 0; i < parts->cnt; i++) {
        int64_t next = eos_next(j, parts->elems[i].topic, parts->elems[i].partition);
        if (next >= 0) {
            parts->elems[i].offset = next;
            task_log(t, LOG_INFO, "%s-%d: resuming at offset %lld stored in the database",
                     parts->elems[i].topic, parts->elems[i].partition, (long long)next);
        }
    }
    return CD_OK;
}

static int jdbc_close(void *state, struct task_ctx *t,
                      const rd_kafka_topic_partition_list_t *parts)
{
    struct jdbc_task *j = state;
    j->eos_loaded = 0; /* another worker may write these partitions now */
    return CD_OK;
}

/* A record the sink cannot write (it cannot be mapped, or the database refuses its row): hands
 * it to the runtime's error handling. Returns 0 when errors.tolerance=all takes it (skip it and
 * go on), -1 when the task must fail (the error is set). */
static int record_reject(struct jdbc_task *j, const struct cd_record *r, const char *table,
                         const char *msg)
{
    /* A batch is mapped again after a failed write (a retry, or the batch in flight): a
     * record reported then was tolerated, and is not reported twice. */
    for (size_t i = 0; i < j->rejected.n; i++) {
        const struct jdbc_rejected *x = &j->rejected.v[i];
        if (x->offset == r->offset && x->partition == r->partition && !strcmp(x->topic, r->topic))
            return 0;
    }
    if (task_record_failed(j->t, r, "record at topic %s, partition %d, offset %lld%s%s: %s",
                           r->topic, r->partition, (long long)r->offset, table ? ", table " : "",
                           table ? table : "", msg))
        return -1;
    if (j->rejected.n == j->rejected.cap) {
        size_t cap = j->rejected.cap ? j->rejected.cap * 2 : 8;
        struct jdbc_rejected *v = realloc(j->rejected.v, cap * sizeof(*v));
        if (!v)
            return 0; /* at worst reported twice */
        j->rejected.v = v;
        j->rejected.cap = cap;
    }
    char *topic = strdup(r->topic);
    if (topic)
        j->rejected.v[j->rejected.n++] =
            (struct jdbc_rejected){.topic = topic, .partition = r->partition, .offset = r->offset};
    return 0;
}

/* Every record put so far is written (or tolerated): none will be mapped again. */
static void rejected_clear(struct jdbc_task *j)
{
    for (size_t i = 0; i < j->rejected.n; i++)
        free(j->rejected.v[i].topic);
    j->rejected.n = 0;
}

/* Maps recs to rows of j->batch, creating or evolving tables on the way. Records that cannot
 * be mapped are rejected one by one. Returns CD_OK, CD_ERR_FATAL (error set) or a JDBC_E_*
 * class for a retriable failure (j->err set). */
static int batch_build(struct jdbc_task *j, struct cd_record **recs, size_t n)
{
    int rc;
    for (size_t i = 0; i < n; i++) {
        struct cd_record *r = recs[i];
        if (j->c.eos) {
            if (r->offset < eos_next(j, r->topic, r->partition))
                continue; /* already in the database */
            pending_set(j->pending, r->topic, r->partition, r->offset + 1);
        }
        if (r->value_pending) {
            if ((rc = jdbc_fast_row(j, r)) <= 0) {
                if (rc)
                    return rc;
                continue;
            }
            if ((rc = task_record_value(j->t, r)) < 0)
                return CD_ERR_FATAL;
            if (rc)
                continue; /* not JSON: errors.tolerance took it */
        }
        enum jdbc_op op;
        char err[512];
        if (jdbc_record_fields(&j->c, r, &j->fields, &op, err, sizeof(err))) {
            if (record_reject(j, r, NULL, err))
                return CD_ERR_FATAL;
            continue;
        }
        if (op == JDBC_OP_SKIP)
            continue;
        struct jdbc_table *t;
        if ((rc = jdbc_table_get(j, r->topic, &t)))
            return rc;
        rc = table_fit(j, t, &j->fields, op);
        if (rc == 1) {
            if (record_reject(j, r, t->name, j->err))
                return CD_ERR_FATAL;
            continue;
        }
        if (rc)
            return rc;
        if (op == JDBC_OP_DELETE && !t->exists)
            continue;
        rc = batch_add(j, t, r, &j->fields, op);
        if (rc == 2) {
            task_set_error(j->t, "out of memory");
            return CD_ERR_FATAL;
        }
        if (rc && record_reject(j, r, t->name, j->err))
            return CD_ERR_FATAL;
    }
    jdbc_fields_clear(&j->fields);
    return CD_OK;
}

/* Writes j->batch in one transaction. A row the database refuses is located (from the error
 * or by replaying the batch row by row, rolled back), rejected, and the rest written again.
 * Returns as batch_build. */
static int batch_write(struct jdbc_task *j)
{
    for (;;) {
        int bad = -1;
        int rc = j->be->write(j, &j->batch, 0, &bad);
        if (rc != JDBC_E_DATA)
            return rc;
        char first[sizeof(j->err)];
        snprintf(first, sizeof(first), "%s", j->err);
        if (bad < 0 && j->be->write(j, &j->batch, 1, &bad) != JDBC_E_DATA)
            bad = -1;
        if (bad < 0 || j->batch.rows[bad].skip) {
            task_set_error(j->t, "the database rejected the batch: %s", first);
            return CD_ERR_FATAL;
        }
        struct jdbc_row *row = &j->batch.rows[bad];
        if (record_reject(j, row->rec, j->batch.segs[row->seg].table->name, j->err))
            return CD_ERR_FATAL;
        row->skip = 1;
    }
}

/* The batch writes rows into one table, with one statement's columns. */
static int one_write_seg(const struct jdbc_task *j)
{
    return j->batch.nsegs == 1 && j->batch.segs[0].op == JDBC_OP_WRITE &&
           j->batch.segs[0].nrows > 0;
}

/* Insert into one table, on a backend that can leave a COPY open across puts; or an upsert
 * whose turn it is to try that (see "optimistic upsert"). */
static int copy_eligible(struct jdbc_task *j)
{
    if (!j->be->copy_open || !one_write_seg(j))
        return 0;
    return j->c.insert_mode == JDBC_INSERT ||
           (j->c.insert_mode == JDBC_UPSERT && j->c.optimistic && optimistic_turn(j));
}

/* Writes into one table, on a backend that can leave this write in flight. */
static int fly_eligible(const struct jdbc_task *j)
{
    return j->be->send && one_write_seg(j) && j->be->can_send(j, &j->batch);
}

/* Room for n records in flight; -1 when memory is short (then the batch is written now). */
static int fly_reserve(struct jdbc_task *j, size_t n)
{
    if (j->fly.cap >= n)
        return 0;
    struct cd_record **r = realloc(j->fly.recs, n * sizeof(*r));
    if (!r)
        return -1;
    j->fly.recs = r;
    j->fly.cap = n;
    return 0;
}

/* The write just started (a batch sent, or the first batch of a COPY left open) is now the
 * one in flight, with j->batch, its offsets and its records. */
static void fly_begin(struct jdbc_task *j, struct cd_record **recs, size_t n, int state)
{
    struct jdbc_batch b = j->fly.batch;
    j->fly.batch = j->batch;
    j->batch = b;
    rd_kafka_topic_partition_list_t *l = j->fly.pending;
    j->fly.pending = j->pending;
    j->pending = l;
    memcpy(j->fly.recs, recs, n * sizeof(*recs));
    j->fly.n = n;
    j->fly.state = state;
    j->fly.optimistic = state == FLY_OPEN && j->c.insert_mode == JDBC_UPSERT;
    task_put_keep(j->t);
}

/* Sends j->batch and leaves it in flight with recs. Returns as batch_build. */
static int fly_send(struct jdbc_task *j, struct cd_record **recs, size_t n)
{
    int rc = j->be->send(j, &j->batch);
    if (!rc)
        fly_begin(j, recs, n, FLY_SENT);
    return rc;
}

/* Whether the open COPY holds enough to end: JDBC_COPY_ROWS rows, CD_PUT_KEEP_MAX puts (the
 * runtime keeps no more) or JDBC_COPY_MS (rows trickling in are not held back for long). */
static int copy_full(const struct jdbc_task *j)
{
    int max_rows = j->c.batch_size > JDBC_COPY_ROWS ? j->c.batch_size : JDBC_COPY_ROWS;
    return j->fly.rows >= max_rows || j->fly.puts >= CD_PUT_KEEP_MAX ||
           task_now_ms() - j->fly.since >= JDBC_COPY_MS;
}

/* Ends the open COPY when it is full, in the put after the one that filled it, once this put
 * has mapped its records: Postgres stores the rows still on their way meanwhile, instead of
 * the task waiting for it, and then idling while the task maps. An idle put or a flush ends
 * it sooner. JDBC_E_FLY when ending fails: its records are written again, then this put's. */
static int copy_end_due(struct jdbc_task *j)
{
    if (j->fly.state != FLY_OPEN || !copy_full(j))
        return JDBC_OK;
    return fly_finish(j) ? JDBC_E_FLY : JDBC_OK;
}

/* Starts a COPY with j->batch (one insert segment) that the next puts may add to; the
 * batch stays in flight (fly.batch) to tell which batches fit it. */
static int copy_start(struct jdbc_task *j, struct cd_record **recs, size_t n)
{
    int rc = j->be->copy_open(j, &j->batch);
    if (rc)
        return rc;
    fly_begin(j, recs, n, FLY_OPEN);
    j->fly.rows = j->fly.batch.segs[0].nrows;
    j->fly.puts = 1;
    j->fly.since = task_now_ms();
    return CD_OK;
}

/* Whether j->batch may go into the open COPY: nothing to write, or one insert segment of its
 * table and columns; with room for n more records in flight. */
static int copy_fits(struct jdbc_task *j, size_t n)
{
    if (j->fly.state != FLY_OPEN || j->batch.nsegs > 1 || fly_reserve(j, j->fly.n + n))
        return 0;
    if (!j->batch.nsegs)
        return 1;
    const struct jdbc_seg *sg = &j->batch.segs[0], *open = &j->fly.batch.segs[0];
    return sg->op == JDBC_OP_WRITE && sg->table == open->table && sg->ncols == open->ncols &&
           !memcmp(sg->cols, open->cols, sizeof(*sg->cols) * (size_t)sg->ncols);
}

/* Streams j->batch into the open COPY. A failure leaves the COPY's earlier records to
 * fly_rewrite, and these to the put that comes again (JDBC_E_FLY). */
static int copy_add(struct jdbc_task *j, struct cd_record **recs, size_t n)
{
    int rc = j->batch.nrows ? j->be->copy_append(j, &j->batch) : JDBC_OK;
    if (rc) {
        fly_failed(j, rc);
        return JDBC_E_FLY;
    }
    for (int i = 0; i < j->pending->cnt; i++)
        pending_set(j->fly.pending, j->pending->elems[i].topic, j->pending->elems[i].partition,
                    j->pending->elems[i].offset);
    memcpy(j->fly.recs + j->fly.n, recs, n * sizeof(*recs));
    j->fly.n += n;
    j->fly.puts++;
    j->fly.rows += j->batch.nrows;
    task_put_keep_more(j->t);
    return CD_OK;
}

/* One attempt at writing recs; may_send: leave it in flight when it qualifies. Returns as
 * batch_build, or JDBC_E_FLY when the write in flight failed meanwhile. */
static int put_once(struct jdbc_task *j, struct cd_record **recs, size_t n, int may_send)
{
    int rc = jdbc_ensure_conn(j);
    if (rc)
        return rc;
    if (j->c.eos && (rc = eos_load(j)))
        return rc;
    jdbc_batch_reset(&j->batch);
    rd_kafka_topic_partition_list_destroy(j->pending);
    j->pending = rd_kafka_topic_partition_list_new(8);
    if ((rc = batch_build(j, recs, n)))
        return rc;
    batch_dedupe(j);
    if ((rc = copy_end_due(j)))
        return rc;
    if (may_send && copy_fits(j, n))
        return copy_add(j, recs, n);
    if ((rc = fly_settle(j, 1))) /* one write in flight at most */
        return rc;
    if (!j->batch.nrows && !j->pending->cnt)
        return CD_OK;
    if (may_send && copy_eligible(j) && !fly_reserve(j, n) &&
        (rc = copy_start(j, recs, n)) != JDBC_DECLINE)
        return rc;
    if (may_send && fly_eligible(j) && !fly_reserve(j, n))
        return fly_send(j, recs, n);
    if ((rc = batch_write(j)))
        return rc;
    eos_apply(j, j->pending);
    return CD_OK;
}

/* Writes a failed batch in flight again, synchronously, from its records. */
static int fly_rewrite(struct jdbc_task *j)
{
    if (j->fly.state != FLY_FAILED)
        return CD_OK;
    int rc = put_once(j, j->fly.recs, j->fly.n, 0);
    if (rc == CD_OK)
        j->fly.state = FLY_NONE;
    return rc;
}

/* A put: a failed batch in flight first, then recs. An empty put (the runtime's idle call)
 * only looks whether the batch in flight is done, and keeps its records while it is not. */
static int put_all(struct jdbc_task *j, struct cd_record **recs, size_t n)
{
    for (;;) {
        int rc = fly_rewrite(j);
        if (rc)
            return rc;
        if (!n) {
            rc = fly_settle(j, 0);
            if (rc == JDBC_BUSY)
                task_put_keep(j->t);
            if (rc != JDBC_E_FLY)
                return CD_OK;
            continue;
        }
        rc = put_once(j, recs, n, 1);
        if (rc != JDBC_E_FLY)
            return rc;
    }
}

/* Turns a write's outcome into put's: retriable failures reconnect or re-read the tables,
 * back off and count against max.retries. */
static int put_result(struct jdbc_task *j, struct task_ctx *t, int rc, size_t n)
{
    if (rc == CD_OK) {
        if (j->failures)
            task_log(t, LOG_INFO, "writes succeed again after %d failed attempts", j->failures);
        j->failures = 0;
        if (j->fly.state == FLY_NONE)
            rejected_clear(j);
        return CD_OK;
    }
    if (rc == CD_ERR_FATAL) {
        jdbc_batch_reset(&j->batch);
        return CD_ERR_FATAL;
    }
    if (rc == JDBC_E_CONN)
        jdbc_disconnect(j);
    else
        jdbc_tables_forget(j); /* re-read metadata: the table may have changed under us */
    const char *table = j->batch.nsegs ? j->batch.segs[0].table->name : NULL;
    if (++j->failures > j->c.max_retries) {
        task_set_error(t, "writing %zu records%s%s failed after %d retries: %s", n,
                       table ? " to table " : "", table ? table : "", j->c.max_retries, j->err);
        return CD_ERR_FATAL;
    }
    task_set_error(t, "writing%s%s failed (attempt %d of %d): %s", table ? " to table " : "",
                   table ? table : "", j->failures, j->c.max_retries + 1, j->err);
    jdbc_sleep(j, j->c.retry_backoff_ms);
    return CD_ERR_RETRIABLE;
}

static int jdbc_put(void *state, struct task_ctx *t, struct cd_record **recs, size_t n)
{
    struct jdbc_task *j = state;
    j->t = t;
    j->err[0] = 0;
    return put_result(j, t, put_all(j, recs, n), n ? n : j->fly.n);
}

/* Finishes the batch in flight (retrying as put does). Whatever the outcome, the runtime then
 * lets go of its records: one given up unwritten means that no later offset may be
 * committed by this task, as it would pass over them. */
static int jdbc_flush(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *offsets)
{
    struct jdbc_task *j = state;
    j->t = t;
    int rc;
    do {
        j->err[0] = 0;
        fly_settle(j, 1); /* a failure leaves it FLY_FAILED for fly_rewrite */
        rc = put_result(j, t, fly_rewrite(j), j->fly.n);
    } while (rc == CD_ERR_RETRIABLE && !task_stopping(t));
    if (rc != CD_OK) {
        fly_drop(j);
        j->lost = 1;
    }
    if (j->lost)
        for (int i = 0; i < offsets->cnt; i++)
            offsets->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    return rc;
}

static const char *const jdbc_aliases[] = {"io.confluent.connect.jdbc.JdbcSinkConnector", NULL};

const struct connector_plugin jdbc_sink_plugin = {
    .class_name = "JdbcSinkConnector",
    .aliases = jdbc_aliases,
    .type = PLUGIN_SINK,
    .version = CD_VERSION,
    .config = jdbc_defs,
    .validate = jdbc_validate,
    .task_configs = jdbc_task_configs,
    .task_start = jdbc_start,
    .task_stop = jdbc_stop,
    .open = jdbc_open,
    .close = jdbc_close,
    .put = jdbc_put,
    .flush = jdbc_flush,
    .put_when_idle = 1, /* to learn the outcome of the batch in flight without new records */
    .lazy_json_values = 1, /* jdbc_fast.c */
};
