/* jdbc.h — internals of the JDBC-style sink (Postgres through libpq, MySQL/MariaDB through
 * libmariadb). Confluent's JdbcSinkConnector keys; schemaless JSON with type inference;
 * exactly-once through an offsets table written in the same transaction as the rows.
 *
 * Files: jdbc.c (plugin, config, task loop), jdbc_url.c (connection.url parsing),
 * jdbc_sql.c (quoting, COPY escaping, statement text), jdbc_schema.c (types, record -> row,
 * evolution), jdbc_pg.c and jdbc_mysql.c (the two database backends). */
#ifndef CD_JDBC_H
#define CD_JDBC_H

#include "plugin.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum jdbc_dialect { JDBC_PG = 0, JDBC_MYSQL };

/* Column value classes. A Connect schema type or an inferred JSON type maps to one of these;
 * an existing column's database type maps to one too (JT_OTHER = pass text, let the DB judge). */
enum jdbc_type {
    JT_NONE = 0,
    JT_INT8,
    JT_INT16,
    JT_INT32,
    JT_INT64,
    JT_FLOAT32,
    JT_FLOAT64,
    JT_BOOL,
    JT_STRING,
    JT_BYTES,
    JT_DECIMAL,
    JT_DATE,
    JT_TIME,
    JT_TIMESTAMP,
    JT_JSON,
    JT_OTHER,
};

enum jdbc_insert_mode { JDBC_INSERT = 0, JDBC_UPSERT, JDBC_UPDATE };
enum jdbc_pk_mode { JDBC_PK_NONE = 0, JDBC_PK_KAFKA, JDBC_PK_RECORD_KEY, JDBC_PK_RECORD_VALUE };
enum jdbc_op { JDBC_OP_WRITE = 0, JDBC_OP_DELETE, JDBC_OP_SKIP };

/* Result of a database step (apart from the cd_err codes, which put() returns). */
enum jdbc_rc {
    JDBC_OK = 0,
    JDBC_BUSY = 1,    /* collect: the batch sent is still being written */
    JDBC_DECLINE = 2, /* copy_open: not this batch; write it another way */
    JDBC_E_CONN = -10, /* connection lost / server unavailable: reconnect and retry */
    JDBC_E_DATA = -11, /* the database rejected a row (type, NOT NULL, too long, unique) */
    JDBC_E_OTHER = -12, /* anything else: retried up to max.retries */
    JDBC_E_FLY = -13,   /* the batch in flight failed: write it again before going on */
};

/* ---- connection.url (jdbc_url.c) ---- */
struct jdbc_url {
    enum jdbc_dialect dialect;
    char *host;   /* NULL = default */
    int port;     /* 0 = default */
    char *db;     /* NULL = default */
    char *user;   /* from the URL, NULL when absent */
    char *password;
    int nparams;
    char **keys; /* remaining query parameters, percent-decoded */
    char **vals;
};

/* Parses a JDBC or native URL (jdbc:postgresql://, postgresql://, postgres://, jdbc:mysql://,
 * jdbc:mariadb://, mysql://, mariadb://). Returns 0, or -1 with a message in err (the message
 * never contains the password). Caller frees with jdbc_url_free. */
int jdbc_url_parse(const char *url, struct jdbc_url *out, char *err, size_t errlen);
void jdbc_url_free(struct jdbc_url *u);
const char *jdbc_url_param(const struct jdbc_url *u, const char *key); /* case-insensitive */
/* Copy of url fit for logs and messages: the userinfo password becomes **** (u:****@h) and
 * so does the value of every key=value pair whose key holds "password" (password=,
 * sslpassword=, Connector/J's password1= and (password=...) address form). Works on text that
 * does not parse too. Caller frees; NULL when out of memory. */
char *jdbc_url_redact(const char *url);
/* Replaces every occurrence of secret in msg (NUL-terminated, in a buffer of cap bytes) by ****,
 * for messages of a database client that may echo what it was given. Secrets shorter than 3
 * characters are left alone: masking every "a" would only garble the message. */
void jdbc_scrub(char *msg, size_t cap, const char *secret);
/* "host:port/db" of u with the defaults spelled out, into buf; returns buf. */
const char *jdbc_url_target(const struct jdbc_url *u, char *buf, size_t len);

/* ---- growable byte buffer ---- */
struct jdbc_buf {
    char *p;
    size_t len, cap;
};
int jdbc_buf_grow(struct jdbc_buf *b, size_t more); /* jdbc_buf_reserve's slow path */
/* Inline: a row's every cell passes here, several times over. */
static inline int jdbc_buf_reserve(struct jdbc_buf *b, size_t more) /* 0 or -1 (ENOMEM) */
{
    return b->len + more + 1 <= b->cap ? 0 : jdbc_buf_grow(b, more);
}
static inline int jdbc_buf_add(struct jdbc_buf *b, const void *s, size_t n)
{
    if (jdbc_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}
int jdbc_buf_str(struct jdbc_buf *b, const char *s);
int jdbc_buf_printf(struct jdbc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int jdbc_buf_int(struct jdbc_buf *b, long long v); /* decimal, without printf's cost */
void jdbc_buf_free(struct jdbc_buf *b);

/* ---- SQL text (jdbc_sql.c) ---- */
/* Appends name quoted for the dialect ("a""b" / `a``b`), or as it is when quote = 0
 * (quote.sql.identifiers=never) and it is plain. A name from a record is data: unquoted, a
 * field named "b int; DROP TABLE t; --" would run as SQL. */
int jdbc_sql_ident(struct jdbc_buf *b, enum jdbc_dialect d, int quote, const char *name);
/* name is a letter or _, then letters, digits, _ or $ (ASCII): SQL takes it unquoted, and
 * Postgres folds it to lower case. */
int jdbc_ident_plain(const char *name);
int jdbc_ident_plain_n(const char *s, size_t n); /* the same of s[n] */
/* name (a column's, NUL-ended) is s[n] lowered, and s is plain: the column an unquoted s made
 * in Postgres. */
int jdbc_ident_folded_is(const char *name, const char *s, size_t n);
/* 0 when name can be a table or column name of the dialect as it is; otherwise -1, with why
 * ("is empty", "is 70 bytes long, ...") written to why[n]. Postgres would silently truncate a
 * long name (so the column would never be found under its full name), MySQL refuses it. */
int jdbc_ident_check(enum jdbc_dialect d, const char *name, char *why, size_t n);
/* Expands ${topic} in fmt. Returns malloc'd text. */
char *jdbc_table_name(const char *fmt, const char *topic);
/* Splits a formatted table name into schema (may be NULL) and table: a '.' that comes from the
 * format text (not from the topic) separates them. Both malloc'd. */
void jdbc_table_split(const char *fmt, const char *topic, char **schema, char **table);
/* Appends s (len bytes) escaped for COPY text format / LOAD DATA (\\ \t \n \r). */
int jdbc_copy_escape(struct jdbc_buf *b, const char *s, size_t len);
/* SQL type for a new column of class t (scale for Decimal; is_key picks VARCHAR on MySQL). */
const char *jdbc_sql_type(enum jdbc_dialect d, enum jdbc_type t, int is_key, int scale,
                          char *tmp, size_t tmplen);

struct jdbc_table;
struct jdbc_stmt_spec {
    enum jdbc_dialect dialect;
    int quote;
    const char *qtable;       /* quoted (qualified) table name */
    const char *const *cols;  /* column names in row order */
    const int *is_pk;         /* per column */
    int ncols;
    int nrows;                /* rows in a multi-row statement */
};
/* Statement builders; placeholders are $n on Postgres and ? on MySQL. Append to b. */
int jdbc_sql_insert(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, int upsert);
int jdbc_sql_update(struct jdbc_buf *b, const struct jdbc_stmt_spec *s); /* non-pk SET, pk WHERE */
int jdbc_sql_delete(struct jdbc_buf *b, const struct jdbc_stmt_spec *s); /* pk WHERE */
int jdbc_sql_copy(struct jdbc_buf *b, const struct jdbc_stmt_spec *s);   /* COPY ... FROM STDIN */
/* Postgres staged upsert: stage (our own name, e.g. pg_temp.cd_stage_1, pasted as it is) is a
 * temp table with the spec's columns and their types in qtable, emptied at each commit ... */
int jdbc_sql_stage_create(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, const char *stage);
/* ... and this moves its rows into qtable: INSERT ... SELECT ... ON CONFLICT. */
int jdbc_sql_upsert_from(struct jdbc_buf *b, const struct jdbc_stmt_spec *s, const char *stage);

/* ---- tables, rows and batches (jdbc_schema.c) ---- */
struct jdbc_column {
    char *name;
    enum jdbc_type type;
    int nullable;
};

struct jdbc_stmt_cache; /* backend-owned prepared statements of a table */

struct jdbc_table {
    char *name;   /* as formatted (for messages) */
    char *schema; /* NULL = connection default */
    char *table;
    char *qname;  /* quoted, qualified */
    int loaded;   /* metadata read from the database */
    int exists;
    char *bad_name; /* why the table's name cannot be used (jdbc_ident_check), or NULL */
    struct jdbc_column *cols;
    int ncols, capcols;
    void *stmts; /* backend cache, freed by the backend's stmt_clear */
    int hint[32]; /* jdbc_fast.c: the column the k-th field of the last row matched */
    struct jdbc_table *next;
};

struct jdbc_cell {
    uint32_t off; /* into batch->data */
    uint32_t len;
    uint8_t null;
    uint8_t binary; /* MySQL: raw bytes (bind as BLOB) */
};

struct jdbc_seg {
    struct jdbc_table *table;
    enum jdbc_op op;
    int *cols; /* column indexes into table->cols, row order */
    int *is_pk;
    int ncols;
    int *rows; /* indexes into batch->rows */
    int nrows, caprows;
    int open;  /* still accepting rows */
};

struct jdbc_row {
    struct cd_record *rec; /* borrowed for the duration of put */
    uint32_t cell0;
    int seg;
    int skip; /* superseded by a later row with the same key (upsert) */
};

struct jdbc_batch {
    struct jdbc_buf data;
    struct jdbc_cell *cells;
    size_t ncells, capcells;
    struct jdbc_row *rows;
    int nrows, caprows;
    struct jdbc_seg *segs;
    int nsegs, capsegs;
};
void jdbc_batch_reset(struct jdbc_batch *b);
void jdbc_batch_free(struct jdbc_batch *b);

/* One field on its way to a column. */
struct jdbc_field {
    const char *name;    /* borrowed from the record or the config */
    json_t *value;       /* own reference; NULL or json null = NULL */
    int typed;           /* type comes from a Connect schema */
    enum jdbc_type type; /* from the schema, or inferred from the value (JT_NONE for null) */
    int scale;
    int is_pk;
    int optional;
    int col; /* column index in the table, -1 = none (set by the sink before rendering) */
};

/* The parsed connector config (jdbc.c fills it from the schema table). */
struct jdbc_conf {
    enum jdbc_insert_mode insert_mode;
    enum jdbc_pk_mode pk_mode;
    char **pk_fields;
    int npk;
    char **include; /* fields.whitelist / fields.include */
    int ninclude;
    char *table_format;
    int auto_create, auto_evolve, delete_enabled, quote, eos, optimistic;
    int batch_size, max_retries, retry_backoff_ms, conn_attempts, conn_backoff_ms;
    int tz_offset_s;
};

struct jdbc_fields {
    struct jdbc_field *f;
    int n, cap;
};
void jdbc_fields_clear(struct jdbc_fields *fs); /* drops the value references, keeps storage */
void jdbc_fields_free(struct jdbc_fields *fs);

/* The fields of record r as the config maps them (pk fields first), and the operation:
 * JDBC_OP_SKIP for a tombstone when deletes are off. Returns 0, or -1 with a message in err
 * (the record cannot be mapped: no key for record_key, value not a struct, ...). */
int jdbc_record_fields(const struct jdbc_conf *c, const struct cd_record *r,
                       struct jdbc_fields *fs, enum jdbc_op *op, char *err, size_t errlen);

/* Class of a Connect schema ({"type":"int32","name":...}); scale set for Decimal. */
enum jdbc_type jdbc_type_of_schema(json_t *schema, int *scale);
/* Class inferred from a schemaless JSON value (JT_NONE for null). */
enum jdbc_type jdbc_type_of_json(json_t *v);
/* Class of a database column type name (udt/DATA_TYPE, lower case). */
enum jdbc_type jdbc_type_of_sqlname(enum jdbc_dialect d, const char *name, const char *full);
const char *jdbc_type_name(enum jdbc_type t);
int jdbc_type_is_int(enum jdbc_type t); /* JT_INT8 .. JT_INT64 */
/* pk.mode=kafka's default column names: topic, partition, offset. */
extern const char *const jdbc_kafka_pk_names[3];

/* Compatibility of a value of class vt (with json value v) with a column of class ct.
 * Returns 0 = fine, 1 = needs widening to DOUBLE, -1 = incompatible. */
int jdbc_type_check(enum jdbc_type ct, enum jdbc_type vt, json_t *v);

/* Renders a field value for column class ct into b as the database expects it in text form
 * (COPY-unescaped; the caller escapes for COPY). Sets *is_null, *binary. tz_offset_s is
 * db.timezone's fixed offset. Returns 0, or -1 with err set (value cannot be represented). */
int jdbc_render(struct jdbc_buf *b, enum jdbc_dialect d, enum jdbc_type ct,
                const struct jdbc_field *f, int tz_offset_s, int *is_null, int *binary,
                char *err, size_t errlen);

/* Parses db.timezone: UTC/GMT/Z or ±HH[:MM]. Returns 0 with *offset_s, -1 when unsupported. */
int jdbc_tz_parse(const char *tz, int *offset_s);

/* Decimal: big-endian two's complement unscaled bytes -> text with scale. Appends to b. */
int jdbc_decimal_text(struct jdbc_buf *b, const unsigned char *p, size_t n, int scale);

/* ---- the task and its database backend (jdbc.c, jdbc_pg.c, jdbc_mysql.c) ---- */
struct jdbc_task;

struct jdbc_backend {
    /* Opens the connection (one try). JDBC_OK, else an error class with j->err set. */
    int (*connect)(struct jdbc_task *j);
    void (*disconnect)(struct jdbc_task *j); /* also forgets every prepared statement */
    /* Reads t's columns; sets t->exists. */
    int (*table_load)(struct jdbc_task *j, struct jdbc_table *t);
    /* Runs one statement outside a transaction (DDL). */
    int (*exec)(struct jdbc_task *j, const char *sql);
    /* Writes the batch and, with exactly-once, j->pending offsets, in one transaction.
     * locate: row by row, rolled back at the end, to find the row the database rejects.
     * On JDBC_E_DATA *bad is the batch row index (-1 = unknown). */
    int (*write)(struct jdbc_task *j, struct jdbc_batch *b, int locate, int *bad);
    /* Adds every stored (topic, partition, next_offset) of this connector to out. */
    int (*offsets_load)(struct jdbc_task *j, rd_kafka_topic_partition_list_t *out);
    void (*table_forget)(struct jdbc_task *j, struct jdbc_table *t); /* drop its statements */
    /* Optional, a batch of one write segment that can_send accepts: starts writing
     * the batch (and j->pending offsets) in one transaction without waiting for the outcome,
     * which collect reads: JDBC_OK, an error class (j->err set, nothing written), or
     * JDBC_BUSY when !block and not done yet. */
    int (*can_send)(const struct jdbc_task *j, const struct jdbc_batch *b);
    int (*send)(struct jdbc_task *j, struct jdbc_batch *b);
    int (*collect)(struct jdbc_task *j, int block);
    /* Optional, insert mode: one transaction whose COPY (Postgres) or LOAD DATA (MySQL) spans
     * several batches. copy_open begins it with the batch's one insert segment, or returns
     * JDBC_DECLINE; in upsert mode (a plain insert of rows whose keys should be new, see
     * "optimistic upsert" in jdbc.c) it declines unless a unique index of the table holds
     * exactly the segment's key columns. copy_append adds the rows of a batch of the same
     * table and columns;
     * copy_finish ends the COPY and the transaction: it sends the offsets (exactly-once: NULL
     * or empty otherwise) and COMMIT, or nothing more when the COPY is a transaction of its
     * own; collect reads the outcome. On failure each returns an error class with j->err set,
     * having rolled the transaction back. */
    int (*copy_open)(struct jdbc_task *j, struct jdbc_batch *b);
    int (*copy_append)(struct jdbc_task *j, struct jdbc_batch *b);
    int (*copy_finish)(struct jdbc_task *j, const rd_kafka_topic_partition_list_t *offsets);
};

extern const struct jdbc_backend jdbc_pg_backend;
extern const struct jdbc_backend jdbc_mysql_backend;

/* A record reported to the runtime as failed (task_record_failed). */
struct jdbc_rejected {
    char *topic;
    int32_t partition;
    int64_t offset;
};

struct jdbc_task {
    struct task_ctx *t;
    struct jdbc_conf c;
    struct jdbc_url url;
    char *user, *password; /* effective credentials; password never logged */
    const struct jdbc_backend *be;
    void *db; /* backend connection state, NULL = not connected */
    struct jdbc_table *tables;
    struct jdbc_table *last_table; /* table of the previous record ... */
    char *last_topic;              /* ... and its topic */
    struct jdbc_batch batch;
    struct jdbc_fields fields;
    rd_kafka_topic_partition_list_t *eos;     /* next offsets stored in the database */
    int eos_loaded;
    rd_kafka_topic_partition_list_t *pending; /* next offsets of the batch being written */
    int failures;                             /* consecutive retriable failures */
    /* The write whose outcome is not read yet: a batch the backend's send started (Postgres
     * upsert of big batches, MySQL batches), or the transaction that spans puts (insert mode):
     * its rows, offsets and records (kept by the runtime, task_put_keep and _keep_more). */
    struct jdbc_fly {
        enum { FLY_NONE, FLY_OPEN, FLY_SENT, FLY_FAILED } state;
        struct jdbc_batch batch;
        rd_kafka_topic_partition_list_t *pending;
        struct cd_record **recs;
        size_t n, cap;
        /* FLY_OPEN: the rows and puts the COPY holds (batch is its first), since when */
        int rows, puts;
        int64_t since;
        int optimistic; /* an upsert's COPY: a key that is in the table already fails it */
    } fly;
    int optimistic_skip, optimistic_gap; /* upserts to write the usual way before trying again */
    int lost; /* a batch in flight was given up unwritten: commit nothing more */
    struct {
        struct jdbc_rejected *v;
        size_t n, cap;
    } rejected; /* records reported failed since every record put was last written */
    char err[1536];
};

/* The table for topic, its metadata loaded (jdbc.c). JDBC_OK or a JDBC_E_* class (j->err). */
int jdbc_table_get(struct jdbc_task *j, const char *topic, struct jdbc_table **out);
/* Adds record r as a row of table t whose n cells (columns cols, pk flags pks) are rendered
 * already (their bytes in j->batch.data). 0, or -1 when memory is short. */
int jdbc_batch_place(struct jdbc_task *j, struct jdbc_table *t, struct cd_record *r,
                     enum jdbc_op op, const int *cols, const int *pks,
                     const struct jdbc_cell *cells, int n);
/* Schemaless JSON straight from the record's bytes to a row (jdbc_fast.c), for a record whose
 * value the runtime left unconverted: 0 = the row is in the batch, 1 = not taken (convert the
 * value and map it the usual way), or a JDBC_E_* class (j->err) from loading the table. It
 * takes plain cases only: an existing table with a column of a fitting type for every field. */
int jdbc_fast_row(struct jdbc_task *j, struct cd_record *r);

/* Masks the password in j->err: a backend calls it after copying a database client's message
 * there, as a client may echo the connection parameters it was given. */
void jdbc_err_scrub(struct jdbc_task *j);

#define JDBC_OFFSETS_TABLE "connectd_offsets"
/* The chunk of a multi-row statement: max when at least max rows are left, else the largest
 * power of two <= left, so that a handful of prepared statements serve every batch size. */
int jdbc_chunk_rows(int left, int max);
/* Statement spec of a segment's columns (names: room for sg->ncols), one row. */
void jdbc_seg_spec(const struct jdbc_task *j, const struct jdbc_seg *sg, int dialect,
                   struct jdbc_stmt_spec *sp, const char **names);
/* Statement cache key: kind, row count and the column list. */
void jdbc_seg_key(struct jdbc_buf *k, char kind, int nrows, const struct jdbc_seg *sg);
/* The segment's rows not skipped, into live (room for sg->nrows); returns their count. */
int jdbc_seg_live(const struct jdbc_batch *b, const struct jdbc_seg *sg, int *live);
/* Rows per multi-row statement: 1 in locate mode, else batch.size within the server's limit
 * of max_params bind parameters. */
int jdbc_chunk_max(const struct jdbc_task *j, const struct jdbc_seg *sg, int locate,
                   int max_params);

#endif
