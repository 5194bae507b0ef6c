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

struct cd_record *cd_record_new(const char *topic)
{
    struct cd_record *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->topic = topic ? strdup(topic) : NULL;
    r->partition = -1;
    r->offset = -1;
    r->timestamp = -1;
    return r;
}

void cd_record_free(struct cd_record *r)
{
    if (!r)
        return;
    free(r->topic);
    if (r->headers)
        rd_kafka_headers_destroy(r->headers);
    cd_data_clear(&r->key);
    cd_data_clear(&r->value);
    json_decref(r->source_partition);
    json_decref(r->source_offset);
    free(r);
}
