/* jdbc_schema.c — column classes (from Connect schemas, inferred from schemaless JSON, read from
 * database type names), type compatibility and widening, record -> fields, value rendering. */
#include "jdbc.h"
#include "json_alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {"none",   "int8", "int16",  "int32", "int64",
                                         "float32", "float64", "boolean", "string", "bytes",
                                         "decimal", "date", "time", "timestamp", "json", "other"};

const char *jdbc_type_name(enum jdbc_type t)
{
    return t <= JT_OTHER ? type_names[t] : "other";
}

enum jdbc_type jdbc_type_of_schema(json_t *schema, int *scale)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    const char *name = json_string_value(json_object_get(schema, "name"));
    if (name && !strncmp(name, "org.apache.kafka.connect.data.", 30)) {
        const char *n = name + 30;
        if (!strcmp(n, "Decimal")) {
            json_t *sc = json_object_get(json_object_get(schema, "parameters"), "scale");
            *scale = json_is_string(sc)    ? atoi(json_string_value(sc))
                     : json_is_integer(sc) ? (int)json_integer_value(sc)
                                           : 0;
            return JT_DECIMAL;
        }
        if (!strcmp(n, "Date"))
            return JT_DATE;
        if (!strcmp(n, "Time"))
            return JT_TIME;
        if (!strcmp(n, "Timestamp"))
            return JT_TIMESTAMP;
    }
    if (!type)
        return JT_NONE;
    static const struct {
        const char *n;
        enum jdbc_type t;
    } map[] = {{"int8", JT_INT8},       {"int16", JT_INT16},     {"int32", JT_INT32},
               {"int64", JT_INT64},     {"float32", JT_FLOAT32}, {"float", JT_FLOAT32},
               {"float64", JT_FLOAT64}, {"double", JT_FLOAT64},  {"boolean", JT_BOOL},
               {"string", JT_STRING},   {"bytes", JT_BYTES},     {"struct", JT_JSON},
               {"map", JT_JSON},        {"array", JT_JSON}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(type, map[i].n))
            return map[i].t;
    return JT_NONE;
}

enum jdbc_type jdbc_type_of_json(json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_INTEGER:
        return JT_INT64;
    case JSON_REAL:
        return JT_FLOAT64;
    case JSON_TRUE:
    case JSON_FALSE:
        return JT_BOOL;
    case JSON_STRING:
        return JT_STRING;
    case JSON_OBJECT:
    case JSON_ARRAY:
        return JT_JSON;
    default:
        return JT_NONE;
    }
}

enum jdbc_type jdbc_type_of_sqlname(enum jdbc_dialect d, const char *n, const char *full)
{
    static const struct {
        const char *n;
        enum jdbc_type t;
    } pg[] = {{"int2", JT_INT16},    {"int4", JT_INT32},      {"int8", JT_INT64},
              {"float4", JT_FLOAT32}, {"float8", JT_FLOAT64}, {"numeric", JT_DECIMAL},
              {"bool", JT_BOOL},     {"text", JT_STRING},     {"varchar", JT_STRING},
              {"bpchar", JT_STRING}, {"name", JT_STRING},     {"citext", JT_STRING},
              {"bytea", JT_BYTES},   {"json", JT_JSON},       {"jsonb", JT_JSON},
              {"date", JT_DATE},     {"time", JT_TIME},       {"timetz", JT_TIME},
              {"timestamp", JT_TIMESTAMP}, {"timestamptz", JT_TIMESTAMP}},
      my[] = {{"tinyint", JT_INT8},     {"smallint", JT_INT16},   {"mediumint", JT_INT32},
              {"int", JT_INT32},        {"integer", JT_INT32},    {"bigint", JT_INT64},
              {"float", JT_FLOAT32},    {"double", JT_FLOAT64},   {"real", JT_FLOAT64},
              {"decimal", JT_DECIMAL},  {"char", JT_STRING},      {"varchar", JT_STRING},
              {"tinytext", JT_STRING},  {"text", JT_STRING},      {"mediumtext", JT_STRING},
              {"longtext", JT_STRING},  {"enum", JT_STRING},      {"set", JT_STRING},
              {"binary", JT_BYTES},     {"varbinary", JT_BYTES},  {"tinyblob", JT_BYTES},
              {"blob", JT_BYTES},       {"mediumblob", JT_BYTES}, {"longblob", JT_BYTES},
              {"json", JT_JSON},        {"date", JT_DATE},        {"time", JT_TIME},
              {"datetime", JT_TIMESTAMP}, {"timestamp", JT_TIMESTAMP}};
    if (d == JDBC_PG) {
        for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++)
            if (!strcasecmp(n, pg[i].n))
                return pg[i].t;
        return JT_OTHER;
    }
    if (!strcasecmp(n, "tinyint") && full && !strncasecmp(full, "tinyint(1)", 10))
        return JT_BOOL;
    for (size_t i = 0; i < sizeof(my) / sizeof(my[0]); i++)
        if (!strcasecmp(n, my[i].n))
            return my[i].t;
    return JT_OTHER;
}

const char *const jdbc_kafka_pk_names[3] = {"__connect_topic", "__connect_partition",
                                            "__connect_offset"};

int jdbc_type_is_int(enum jdbc_type t)
{
    return t >= JT_INT8 && t <= JT_INT64;
}

static int is_num(enum jdbc_type t)
{
    return jdbc_type_is_int(t) || t == JT_FLOAT32 || t == JT_FLOAT64 || t == JT_DECIMAL;
}

/* 1 when v is a JSON real with no fractional part that fits an int64. */
static int real_is_integral(json_t *v)
{
    if (!json_is_real(v))
        return 0;
    double d = json_real_value(v);
    return isfinite(d) && d == floor(d) && fabs(d) < 9.2e18;
}

int jdbc_type_check(enum jdbc_type ct, enum jdbc_type vt, json_t *v)
{
    if (vt == JT_NONE || !v || json_is_null(v) || ct == JT_OTHER || ct == JT_JSON)
        return 0;
    switch (ct) {
    case JT_INT8:
    case JT_INT16:
    case JT_INT32:
    case JT_INT64:
        if (jdbc_type_is_int(vt) || real_is_integral(v))
            return 0;
        return vt == JT_FLOAT32 || vt == JT_FLOAT64 || vt == JT_DECIMAL ? 1 : -1;
    case JT_FLOAT32:
    case JT_FLOAT64:
    case JT_DECIMAL:
        return is_num(vt) ? 0 : -1;
    case JT_BOOL:
        return vt == JT_BOOL ? 0 : -1;
    case JT_STRING:
        return vt == JT_STRING || vt == JT_JSON || vt == JT_DECIMAL || vt == JT_DATE ||
                       vt == JT_TIME || vt == JT_TIMESTAMP
                   ? 0
                   : -1;
    case JT_BYTES:
        return vt == JT_BYTES || vt == JT_STRING ? 0 : -1;
    case JT_DATE:
    case JT_TIME:
        return vt == ct || vt == JT_STRING ? 0 : -1;
    case JT_TIMESTAMP:
        return vt == ct || vt == JT_STRING || vt == JT_INT64 ? 0 : -1;
    default:
        return 0;
    }
}

/* ---------------- record -> fields ---------------- */

void jdbc_fields_clear(struct jdbc_fields *fs)
{
    for (int i = 0; i < fs->n; i++)
        json_decref(fs->f[i].value);
    fs->n = 0;
}

void jdbc_fields_free(struct jdbc_fields *fs)
{
    jdbc_fields_clear(fs);
    free(fs->f);
    memset(fs, 0, sizeof(*fs));
}

static int in_list(char *const *l, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i], s))
            return 1;
    return 0;
}

static int fields_find(const struct jdbc_fields *fs, const char *name)
{
    for (int i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].name, name))
            return i;
    return -1;
}

/* Adds a field; value is a new reference given to fs (NULL ok). schema NULL = infer. */
static int fields_add(struct jdbc_fields *fs, const char *name, json_t *value, json_t *schema,
                      int is_pk)
{
    if (fs->n == fs->cap) {
        int cap = fs->cap ? fs->cap * 2 : 16;
        struct jdbc_field *f = realloc(fs->f, sizeof(*f) * (size_t)cap);
        if (!f) {
            json_decref(value);
            return -1;
        }
        fs->f = f;
        fs->cap = cap;
    }
    struct jdbc_field *f = &fs->f[fs->n++];
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->value = value;
    f->is_pk = is_pk;
    if (schema) {
        f->typed = 1;
        f->type = jdbc_type_of_schema(schema, &f->scale);
        f->optional = json_is_true(json_object_get(schema, "optional"));
    } else {
        f->type = jdbc_type_of_json(value);
        f->optional = 1;
    }
    if (is_pk)
        f->optional = 0;
    return 0;
}

static json_t *schema_fields(json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t && !strcmp(t, "struct") ? json_object_get(schema, "fields") : NULL;
}

/* Adds the fields of a struct/object (value with optional schema). which: "key"/"value".
 * pk_all: every field is a pk field (key side); otherwise pk when named in pk.fields. */
static int add_struct(const struct jdbc_conf *c, struct jdbc_fields *fs, json_t *schema,
                      json_t *value, int key_side, char *err, size_t errlen)
{
    json_t *sf = schema_fields(schema);
    int pk_side = (key_side && c->pk_mode == JDBC_PK_RECORD_KEY) ||
                  (!key_side && c->pk_mode == JDBC_PK_RECORD_VALUE);
    if (schema && !sf) {
        snprintf(err, errlen, "the record %s has a schema of type %s; pk.mode=%s needs a struct",
                 key_side ? "key" : "value",
                 json_string_value(json_object_get(schema, "type"))
                     ? json_string_value(json_object_get(schema, "type"))
                     : "?",
                 key_side ? "record_key" : "record_value");
        return -1;
    }
    if (!json_is_object(value)) {
        snprintf(err, errlen, "the record %s is not a struct or JSON object",
                 key_side ? "key" : "value");
        return -1;
    }
    size_t i, n = sf ? json_array_size(sf) : 0;
    const char *name;
    json_t *v;
    void *iter = sf ? NULL : json_object_iter(value);
    for (i = 0; sf ? i < n : iter != NULL; i++) {
        json_t *fschema = NULL;
        if (sf) {
            fschema = json_array_get(sf, i);
            name = json_string_value(json_object_get(fschema, "field"));
            if (!name)
                continue;
            v = json_object_get(value, name);
        } else {
            name = json_object_iter_key(iter);
            v = json_object_iter_value(iter);
            iter = json_object_iter_next(value, iter);
        }
        int pk = pk_side && (!c->npk || in_list(c->pk_fields, c->npk, name));
        if (key_side && !pk)
            continue;
        if (!key_side && !pk && c->ninclude && !in_list(c->include, c->ninclude, name))
            continue;
        if (!key_side && c->pk_mode == JDBC_PK_RECORD_KEY && fields_find(fs, name) >= 0)
            continue; /* the key's value wins */
        if (fields_add(fs, name, json_incref(v), fschema, pk))
            return -1;
    }
    return 0;
}

int jdbc_record_fields(const struct jdbc_conf *c, const struct cd_record *r,
                       struct jdbc_fields *fs, enum jdbc_op *op, char *err, size_t errlen)
{
    jdbc_fields_clear(fs);
    json_t *val = r->value.value && !json_is_null(r->value.value) ? r->value.value : NULL;
    json_t *key = r->key.value && !json_is_null(r->key.value) ? r->key.value : NULL;
    *op = JDBC_OP_WRITE;
    if (!val) {
        if (!c->delete_enabled) {
            *op = JDBC_OP_SKIP;
            return 0;
        }
        *op = JDBC_OP_DELETE;
    }
    switch (c->pk_mode) {
    case JDBC_PK_KAFKA: {
        const char *n0 = c->npk == 3 ? c->pk_fields[0] : jdbc_kafka_pk_names[0];
        const char *n1 = c->npk == 3 ? c->pk_fields[1] : jdbc_kafka_pk_names[1];
        const char *n2 = c->npk == 3 ? c->pk_fields[2] : jdbc_kafka_pk_names[2];
        if (fields_add(fs, n0, json_string(r->topic), NULL, 1) ||
            fields_add(fs, n1, json_integer(r->partition), NULL, 1) ||
            fields_add(fs, n2, json_integer(r->offset), NULL, 1))
            goto oom;
        for (int i = 0; i < 3; i++)
            fs->f[i].typed = 1;
        fs->f[1].type = JT_INT32;
        break;
    }
    case JDBC_PK_RECORD_KEY:
        if (!key) {
            snprintf(err, errlen, "the record key is null but pk.mode=record_key needs one");
            return -1;
        }
        if (schema_fields(r->key.schema) || (!r->key.schema && json_is_object(key))) {
            if (add_struct(c, fs, r->key.schema, key, 1, err, errlen))
                return -1;
            if (!fs->n) {
                snprintf(err, errlen, "none of pk.fields is a field of the record key");
                return -1;
            }
        } else if (fields_add(fs, c->npk ? c->pk_fields[0] : "__connect_key", json_incref(key),
                              r->key.schema, 1))
            goto oom;
        break;
    default:
        break;
    }
    if (*op == JDBC_OP_DELETE)
        return 0;
    if (add_struct(c, fs, r->value.schema, val, 0, err, errlen))
        return -1;
    if (c->pk_mode == JDBC_PK_RECORD_VALUE) {
        for (int i = 0; i < c->npk; i++)
            if (fields_find(fs, c->pk_fields[i]) < 0) {
                snprintf(err, errlen, "pk.fields names '%s', which the record value lacks",
                         c->pk_fields[i]);
                return -1;
            }
        /* pk fields first, as the other modes */
        for (int i = 0, w = 0; i < fs->n; i++)
            if (fs->f[i].is_pk) {
                struct jdbc_field t = fs->f[i];
                memmove(&fs->f[w + 1], &fs->f[w], sizeof(t) * (size_t)(i - w));
                fs->f[w++] = t;
            }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---------------- rendering ---------------- */

int jdbc_tz_parse(const char *tz, int *offset_s)
{
    if (!tz || !*tz || !strcasecmp(tz, "UTC") || !strcasecmp(tz, "GMT") || !strcmp(tz, "Z") ||
        !strcasecmp(tz, "Etc/UTC") || !strcasecmp(tz, "Etc/GMT") || !strcasecmp(tz, "UCT")) {
        *offset_s = 0;
        return 0;
    }
    const char *p = tz;
    if (!strncasecmp(p, "UTC", 3) || !strncasecmp(p, "GMT", 3))
        p += 3;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p++ == '-' ? -1 : 1, h = 0, m = 0;
    if (sscanf(p, "%d:%d", &h, &m) < 1)
        return -1;
    if (!strchr(p, ':') && strlen(p) == 4) { /* +0530 */
        m = h % 100;
        h /= 100;
    }
    if (h > 18 || m > 59)
        return -1;
    *offset_s = sign * (h * 3600 + m * 60);
    return 0;
}

/* days since 1970-01-01 -> y/m/d (Howard Hinnant's civil_from_days) */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int fmt_date(struct jdbc_buf *b, int64_t days)
{
    int y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    return jdbc_buf_printf(b, "%04d-%02u-%02u", y, m, d);
}

static int fmt_time(struct jdbc_buf *b, int64_t ms_of_day)
{
    return jdbc_buf_printf(b, "%02d:%02d:%02d.%03d", (int)(ms_of_day / 3600000),
                           (int)(ms_of_day / 60000 % 60), (int)(ms_of_day / 1000 % 60),
                           (int)(ms_of_day % 1000));
}

static int fmt_timestamp(struct jdbc_buf *b, int64_t ms, int tz)
{
    ms += (int64_t)tz * 1000;
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    if (fmt_date(b, days) || jdbc_buf_add(b, " ", 1))
        return -1;
    return fmt_time(b, ms - days * 86400000);
}

int jdbc_decimal_text(struct jdbc_buf *b, const unsigned char *p, size_t n, int scale)
{
    unsigned char *mag = malloc(n ? n : 1);
    char *dig = malloc(n * 3 + 2);
    if (!mag || !dig) {
        free(mag);
        free(dig);
        return -1;
    }
    int neg = n && (p[0] & 0x80);
    memcpy(mag, p, n);
    if (neg) { /* two's complement negate */
        for (size_t i = 0; i < n; i++)
            mag[i] = (unsigned char)~mag[i];
        for (size_t i = n; i-- > 0;)
            if (++mag[i])
                break;
    }
    size_t nd = 0, start = 0;
    while (start < n && !mag[start])
        start++;
    while (start < n) { /* divide by 10, collecting remainders */
        unsigned rem = 0;
        for (size_t i = start; i < n; i++) {
            unsigned cur = rem * 256 + mag[i];
            mag[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
        }
        dig[nd++] = (char)('0' + rem);
        while (start < n && !mag[start])
            start++;
    }
    if (!nd)
        dig[nd++] = '0';
    if (neg)
        jdbc_buf_add(b, "-", 1);
    if (scale <= 0) {
        for (size_t i = nd; i-- > 0;)
            jdbc_buf_add(b, &dig[i], 1);
        for (int i = 0; i < -scale; i++)
            jdbc_buf_add(b, "0", 1);
    } else {
        size_t sc = (size_t)scale;
        if (nd <= sc) {
            jdbc_buf_str(b, "0.");
            for (size_t i = nd; i < sc; i++)
                jdbc_buf_add(b, "0", 1);
            for (size_t i = nd; i-- > 0;)
                jdbc_buf_add(b, &dig[i], 1);
        } else {
            for (size_t i = nd; i-- > 0;) {
                jdbc_buf_add(b, &dig[i], 1);
                if (i == sc)
                    jdbc_buf_add(b, ".", 1);
            }
        }
    }
    free(mag);
    free(dig);
    return 0;
}

/* Shortest text that reads back as the same double. Fast path: values with up to 6 decimals
 * below 1e12 (sensor readings) are printed from an integer, which printf's %g is slow at. */
static int fmt_double(struct jdbc_buf *b, double d)
{
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(d);
    if (a < 1e12 && a >= 1e-6) {
        for (int k = 0; k <= 6; k++) {
            double m = nearbyint(a * p10[k]);
            if (m / p10[k] != a)
                continue;
            char tmp[40], *w = tmp + sizeof(tmp);
            unsigned long long u = (unsigned long long)m;
            *--w = 0;
            for (int i = 0; i < k; i++, u /= 10)
                *--w = (char)('0' + u % 10);
            if (k)
                *--w = '.';
            do
                *--w = (char)('0' + u % 10);
            while (u /= 10);
            if (d < 0)
                *--w = '-';
            return jdbc_buf_str(b, w);
        }
    }
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    return jdbc_buf_str(b, tmp);
}

static int fmt_hex(struct jdbc_buf *b, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (jdbc_buf_reserve(b, 2 + 2 * n))
        return -1;
    char *w = b->p + b->len;
    *w++ = '\\';
    *w++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *w++ = hx[p[i] >> 4];
        *w++ = hx[p[i] & 15];
    }
    b->len = (size_t)(w - b->p);
    b->p[b->len] = 0;
    return 0;
}

int jdbc_render(struct jdbc_buf *b, enum jdbc_dialect d, enum jdbc_type ct,
                const struct jdbc_field *f, int tz, int *is_null, int *binary, char *err,
                size_t errlen)
{
    json_t *v = f->value;
    *is_null = 0;
    *binary = 0;
    if (!v || json_is_null(v)) {
        *is_null = 1;
        return 0;
    }
    int pg = d == JDBC_PG;
    if (ct == JT_JSON || json_is_object(v) || json_is_array(v)) {
        if (ct != JT_JSON && !json_is_object(v) && !json_is_array(v))
            goto plain;
        char *s = cd_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
            goto bad;
        int rc = jdbc_buf_str(b, s);
        free(s);
        return rc;
    }
plain:
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        if (ct == JT_STRING)
            return jdbc_buf_str(b, json_is_true(v) ? "true" : "false");
        return jdbc_buf_str(b, json_is_true(v) ? (pg ? "t" : "1") : (pg ? "f" : "0"));
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (f->type == JT_DATE)
            return fmt_date(b, i);
        if (f->type == JT_TIME)
            return fmt_time(b, i);
        if (f->type == JT_TIMESTAMP || (ct == JT_TIMESTAMP && !f->typed))
            return fmt_timestamp(b, i, tz);
        if (ct == JT_BOOL)
            return jdbc_buf_str(b, i ? (pg ? "t" : "1") : (pg ? "f" : "0"));
        return jdbc_buf_int(b, (long long)i);
    }
    case JSON_REAL: {
        double x = json_real_value(v);
        if (!isfinite(x)) {
            if (!pg)
                goto bad;
            return jdbc_buf_str(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        }
        if ((ct >= JT_INT8 && ct <= JT_INT64) && real_is_integral(v))
            return jdbc_buf_int(b, (long long)x);
        return fmt_double(b, x);
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (f->type == JT_DECIMAL)
            return jdbc_decimal_text(b, (const unsigned char *)s, n, f->scale);
        if (f->type == JT_BYTES || (ct == JT_BYTES && !f->typed)) {
            if (pg)
                return fmt_hex(b, (const unsigned char *)s, n);
            *binary = 1;
        }
        return jdbc_buf_add(b, s, n);
    }
    default:
        break;
    }
bad:
    snprintf(err, errlen, "field '%s': value cannot be written to a %s column", f->name,
             jdbc_type_name(ct));
    return -1;
}

/* ---------------- batches ---------------- */

void jdbc_batch_reset(struct jdbc_batch *b)
{
    b->data.len = 0;
    b->ncells = 0;
    b->nrows = 0;
    for (int i = 0; i < b->nsegs; i++) {
        free(b->segs[i].cols);
        free(b->segs[i].is_pk);
        free(b->segs[i].rows);
    }
    b->nsegs = 0;
}

void jdbc_batch_free(struct jdbc_batch *b)
{
    jdbc_batch_reset(b);
    jdbc_buf_free(&b->data);
    free(b->cells);
    free(b->rows);
    free(b->segs);
    memset(b, 0, sizeof(*b));
}
