/* record.c — cd_record and cd_data helpers (see plugin.h) */
#include "plugin.h"

#include <stdlib.h>
#include <string.h>

void cd_data_clear(struct cd_data *d)
{
    json_decref(d->schema);
    json_decref(d->value);
    d->schema = NULL;
    d->value = NULL;
}

/* The record's topic is its own unless it lives in the record's block (cd_record_new: a
 * separate copy cost a malloc and a free per record) or is borrowed (cd_record_new_borrowing). */
static int topic_owned(const struct cd_record *r)
{
    return !r->topic_borrowed && r->topic != (const char *)(r + 1);
}

struct cd_record *cd_record_new(const char *topic)
{
    size_t n = topic ? strlen(topic) + 1 : 0;
    struct cd_record *r = calloc(1, sizeof(*r) + n);
    if (!r)
        return NULL;
    if (topic)
        r->topic = memcpy(r + 1, topic, n);
    r->partition = -1;
    r->offset = -1;
    r->timestamp = -1;
    return r;
}

struct cd_record *cd_record_new_borrowing(const char *topic)
{
    struct cd_record *r = cd_record_new(NULL);
    if (!r)
        return NULL;
    r->topic = (char *)topic;
    r->topic_borrowed = 1;
    return r;
}

void cd_record_set_topic(struct cd_record *r, char *topic)
{
    if (topic_owned(r))
        free(r->topic);
    r->topic = topic;
    r->topic_borrowed = 0;
}

void cd_record_free(struct cd_record *r)
{
    if (!r)
        return;
    if (topic_owned(r))
        free(r->topic);
    if (r->headers)
        rd_kafka_headers_destroy(r->headers);
    cd_data_clear(&r->key);
    cd_data_clear(&r->value);
    json_decref(r->source_partition);
    json_decref(r->source_offset);
    free(r);
}
