/* filestream.c — Kafka's FileStreamSource and FileStreamSink connectors.
 * Source: one line of `file` = one record (string value), source partition {"filename"},
 * offset {"position": byte offset after the line}. Sink: each record's value as text plus a
 * newline; flush fsyncs, so committed offsets are on disk. */
#include "converter.h"
#include "log.h"
#include "plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cfg_def source_defs[] = {
    {"file", CFG_STRING, NULL, 0, CFG_HIGH, "Source filename. If not specified, the standard input will be used",
     NULL, 0, NULL, NULL},
    {"topic", CFG_LIST, NULL, 1, CFG_HIGH, "The topic to publish data to", NULL, 0, NULL, NULL},
    {"batch.size", CFG_INT, "2000", 0, CFG_LOW,
     "The maximum number of records the source task can read from the file each time it is polled",
     NULL, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static const struct cfg_def sink_defs[] = {
    {"file", CFG_STRING, NULL, 0, CFG_HIGH, "Destination filename. If not specified, the standard output will be used",
     NULL, 0, NULL, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

static int source_validate(json_t *conf, json_t *errors)
{
    const char *topic = json_string_value(json_object_get(conf, "topic"));
    if (topic && (strchr(topic, ',') || !*topic)) {
        json_t *a = json_array();
        json_array_append_new(a, json_string("'topic' in FileStreamSourceConnector configuration "
                                             "requires definition of a single topic"));
        json_object_set_new(errors, "topic", a);
        return 1;
    }
    return 0;
}

/* ---------------- source ---------------- */

struct fsrc {
    char *path; /* NULL = stdin */
    char *topic;
    int batch;
    FILE *f;
    long long position; /* byte offset after the last line handed out */
    char *buf;          /* bytes read but not yet a complete line */
    size_t len, cap;
    json_t *partition;
    json_t *schema; /* shared by every record: json_pack per line cost more than the line */
};

static void fsrc_seek_stored(struct fsrc *s, struct task_ctx *t)
{
    json_t *off = task_offset_get(t, s->partition);
    json_t *pos = json_object_get(off, "position");
    if (json_is_integer(pos) && json_integer_value(pos) > 0) {
        s->position = json_integer_value(pos);
        if (fseeko(s->f, (off_t)s->position, SEEK_SET)) {
            task_log(t, 1, "cannot seek %s to %lld, reading from the start", s->path,
                     s->position);
            s->position = 0;
            rewind(s->f);
        }
        task_log(t, 2, "resuming %s at byte %lld", s->path, s->position);
    }
    json_decref(off);
}

static int fsrc_open_file(struct fsrc *s, struct task_ctx *t)
{
    if (s->f)
        return 0;
    if (!s->path) {
        s->f = stdin;
        return 0;
    }
    s->f = fopen(s->path, "rb");
    if (!s->f)
        return -1; /* not there yet: Kafka's task waits for it, so do we */
    fsrc_seek_stored(s, t);
    return 0;
}

static int fsrc_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct fsrc *s = calloc(1, sizeof(*s));
    const char *path = json_string_value(json_object_get(conf, "file"));
    s->path = path && *path ? strdup(path) : NULL;
    s->topic = strdup(json_string_value(json_object_get(conf, "topic")));
    const char *bs = json_string_value(json_object_get(conf, "batch.size"));
    s->batch = bs ? atoi(bs) : 2000;
    if (s->batch < 1)
        s->batch = 2000;
    s->partition = s->path ? json_pack("{s:s}", "filename", s->path) : NULL;
    s->schema = json_pack("{s:s s:b}", "type", "string", "optional", 0);
    s->cap = 65536;
    s->buf = malloc(s->cap);
    *state = s;
    return 0;
}

/* Takes one complete line out of the buffer, NULL when there is none. */
static char *fsrc_take_line(struct fsrc *s, size_t *consumed)
{
    char *nl = memchr(s->buf, '\n', s->len);
    char *cr = memchr(s->buf, '\r', nl ? (size_t)(nl - s->buf) : s->len);
    char *end = cr ? cr : nl;
    if (!end)
        return NULL;
    size_t line_len = (size_t)(end - s->buf);
    size_t skip = line_len + 1;
    if (cr) {
        if (cr + 1 == s->buf + s->len)
            return NULL; /* \r at the end: wait to see whether \n follows */
        if (cr[1] == '\n')
            skip++;
    }
    char *line = strndup(s->buf, line_len);
    memmove(s->buf, s->buf + skip, s->len - skip);
    s->len -= skip;
    *consumed = skip;
    return line;
}

static struct cd_record *fsrc_record(struct fsrc *s, char *line)
{
    struct cd_record *r = cd_record_new(s->topic);
    r->value.schema = json_incref(s->schema);
    r->value.value = json_string(line);
    if (!r->value.value) /* not UTF-8: keep the bytes as they are */
        r->value.value = json_stringn_nocheck(line, strlen(line));
    if (s->partition) {
        r->source_partition = json_incref(s->partition);
        r->source_offset = json_object();
        json_object_set_new_nocheck(r->source_offset, "position", json_integer(s->position));
    }
    free(line);
    return r;
}

static int fsrc_poll(void *state, struct task_ctx *t, struct cd_record **recs, int max,
                     int timeout_ms)
{
    struct fsrc *s = state;
    if (fsrc_open_file(s, t)) {
        usleep((useconds_t)timeout_ms * 1000);
        return 0;
    }
    if (max > s->batch)
        max = s->batch;
    int n = 0;
    for (;;) {
        size_t consumed;
        char *line;
        while (n < max && (line = fsrc_take_line(s, &consumed))) {
            s->position += (long long)consumed;
            recs[n++] = fsrc_record(s, line);
        }
        if (n >= max)
            break;
        if (s->cap - s->len < 4096)
            s->buf = realloc(s->buf, s->cap *= 2);
        size_t r = fread(s->buf + s->len, 1, s->cap - s->len, s->f);
        if (r == 0) {
            clearerr(s->f); /* EOF now; the file may grow */
            break;
        }
        s->len += r;
    }
    if (!n)
        usleep((useconds_t)(timeout_ms < 100 ? timeout_ms : 100) * 1000);
    return n;
}

static void fsrc_stop(void *state, struct task_ctx *t)
{
    struct fsrc *s = state;
    if (!s)
        return;
    if (s->f && s->f != stdin)
        fclose(s->f);
    json_decref(s->partition);
    json_decref(s->schema);
    free(s->buf);
    free(s->path);
    free(s->topic);
    free(s);
}

/* ---------------- sink ---------------- */

struct fsink {
    FILE *f;
    char *path;
    char *buf; /* one put's lines, written with one write() so a crash tears no line */
    size_t len, cap;
};

/* A kill -9 in the middle of a write can leave a torn last line. Its offset was never
 * committed (commits follow fsync of whole batches), so it is replayed: cut the partial
 * tail off, or the replayed record would be glued to it. */
static void fsink_repair_tail(struct task_ctx *t, FILE *f, const char *path)
{
    int fd = fileno(f);
    off_t size = lseek(fd, 0, SEEK_END), end = size;
    char c[4096];
    while (end > 0) {
        size_t n = end < (off_t)sizeof(c) ? (size_t)end : sizeof(c);
        if (pread(fd, c, n, end - (off_t)n) != (ssize_t)n)
            return;
        size_t i = n;
        while (i > 0 && c[i - 1] != '\n')
            i--;
        if (i > 0) {
            end -= (off_t)(n - i);
            break;
        }
        end -= (off_t)n;
    }
    if (end == size || ftruncate(fd, end))
        return;
    task_log(t, 1, "%s ended in a partial line (%lld bytes) from an interrupted write; "
             "removed it, the record is written again", path, (long long)(size - end));
}

static int fsink_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct fsink *s = calloc(1, sizeof(*s));
    const char *path = json_string_value(json_object_get(conf, "file"));
    if (path && *path) {
        s->path = strdup(path);
        s->f = fopen(path, "ab");
        if (!s->f) {
            task_set_error(t, "Couldn't find or create file '%s' for FileStreamSinkTask: %s",
                           path, strerror(errno));
            free(s->path);
            free(s);
            return CD_ERR_CONFIG;
        }
        fsink_repair_tail(t, s->f, path);
    } else
        s->f = stdout;
    *state = s;
    return 0;
}

static void fsink_append(struct fsink *s, const char *text, size_t len)
{
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, text, len);
    s->len += len;
    s->buf[s->len++] = '\n';
}

static int fsink_write_all(struct fsink *s)
{
    fflush(s->f);
    int fd = fileno(s->f);
    size_t off = 0;
    while (off < s->len) {
        ssize_t w = write(fd, s->buf + off, s->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    s->len = 0;
    return 0;
}

static int fsink_put(void *state, struct task_ctx *t, struct cd_record **recs, size_t n)
{
    struct fsink *s = state;
    s->len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *text = cd_data_to_text(&recs[i]->value, &len);
        fsink_append(s, text, len);
        free(text);
    }
    if (fsink_write_all(s)) {
        task_set_error(t, "writing to %s failed: %s", s->path ? s->path : "stdout",
                       strerror(errno));
        return CD_ERR_FATAL;
    }
    return 0;
}

static int fsink_flush(void *state, struct task_ctx *t, rd_kafka_topic_partition_list_t *offs)
{
    struct fsink *s = state;
    /* EINVAL: a file that cannot be synced (/dev/null, a pipe) has nothing to make durable */
    if (fflush(s->f) || (s->f != stdout && fsync(fileno(s->f)) && errno != EINVAL)) {
        task_set_error(t, "flushing %s failed: %s", s->path ? s->path : "stdout",
                       strerror(errno));
        return CD_ERR_RETRIABLE;
    }
    return 0;
}

static void fsink_stop(void *state, struct task_ctx *t)
{
    struct fsink *s = state;
    if (!s)
        return;
    if (s->f && s->f != stdout)
        fclose(s->f);
    else if (s->f)
        fflush(s->f);
    free(s->buf);
    free(s->path);
    free(s);
}

static const char *const source_aliases[] = {"FileStreamSource", NULL};
static const char *const sink_aliases[] = {"FileStreamSink", NULL};

const struct connector_plugin filestream_source_plugin = {
    .class_name = "org.apache.kafka.connect.file.FileStreamSourceConnector",
    .aliases = source_aliases,
    .type = PLUGIN_SOURCE,
    .version = CD_VERSION,
    .config = source_defs,
    .validate = source_validate,
    .task_start = fsrc_start,
    .task_stop = fsrc_stop,
    .poll = fsrc_poll,
};

const struct connector_plugin filestream_sink_plugin = {
    .class_name = "org.apache.kafka.connect.file.FileStreamSinkConnector",
    .aliases = sink_aliases,
    .type = PLUGIN_SINK,
    .version = CD_VERSION,
    .config = sink_defs,
    .task_start = fsink_start,
    .task_stop = fsink_stop,
    .put = fsink_put,
    .flush = fsink_flush,
};
