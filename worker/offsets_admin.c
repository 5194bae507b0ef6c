/* offsets_admin.c — see offsets_admin.h */
#include "offsets_admin.h"

#include "herder.h"
#include "kafka.h"
#include "log.h"
#include "stores.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_TIMEOUT_MS 10000

static rd_kafka_t *group_consumer(struct worker_ctx *w, const char *name, char *err, size_t n)
{
    char gid[1100];
    snprintf(gid, sizeof(gid), "connect-%s", name);
    json_t *over = json_pack("{ss ss}", "group.id", gid, "enable.auto.commit", "false");
    rd_kafka_conf_t *conf = kafka_conf_new(w->wconf, "consumer", over, err, n);
    json_decref(over);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

static int topic_wanted(json_t *config, const char *topic, regex_t *re)
{
    if (re)
        return !regexec(re, topic, 0, NULL, 0);
    const char *topics = json_string_value(json_object_get(config, "topics"));
    if (!topics)
        return 0;
    size_t tl = strlen(topic);
    for (const char *p = topics; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && end[-1] == ' ')
            end--;
        if ((size_t)(end - p) == tl && !strncmp(p, topic, tl))
            return 1;
        p = e;
    }
    return 0;
}

/* Every partition of the connector's topics (from metadata). */
static rd_kafka_topic_partition_list_t *sink_partitions(rd_kafka_t *rk, json_t *config)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    const char *rx = json_string_value(json_object_get(config, "topics.regex"));
    regex_t re;
    int use_re = rx && *rx && !regcomp(&re, rx, REG_EXTENDED | REG_NOSUB);
    const struct rd_kafka_metadata *md;
    if (!rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_TIMEOUT_MS)) {
        for (int i = 0; i < md->topic_cnt; i++)
            if (topic_wanted(config, md->topics[i].topic, use_re ? &re : NULL))
                for (int p = 0; p < md->topics[i].partition_cnt; p++)
                    rd_kafka_topic_partition_list_add(l, md->topics[i].topic,
                                                      md->topics[i].partitions[p].id);
        rd_kafka_metadata_destroy(md);
    }
    if (use_re)
        regfree(&re);
    return l;
}

int offsets_sink_get(struct worker_ctx *w, const char *name, json_t *config, json_t **reply)
{
    char err[512];
    rd_kafka_t *rk = group_consumer(w, name, err, sizeof(err));
    if (!rk) {
        *reply = herder_error(500, "%s", err);
        return 500;
    }
    rd_kafka_topic_partition_list_t *l = sink_partitions(rk, config);
    json_t *arr = json_array();
    if (l->cnt && !rd_kafka_committed(rk, l, ADMIN_TIMEOUT_MS))
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset >= 0)
                json_array_append_new(
                    arr, json_pack("{s:{s:s s:i} s:{s:I}}", "partition", "kafka_topic",
                                   l->elems[i].topic, "kafka_partition", l->elems[i].partition,
                                   "offset", "kafka_offset", (json_int_t)l->elems[i].offset));
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    *reply = json_pack("{s:o}", "offsets", arr);
    return 200;
}

static int bad_request(json_t **reply, const char *msg)
{
    *reply = herder_error(400, "%s", msg);
    return 400;
}

/* Fills l from a PATCH body; a null offset becomes the low watermark (the reset). */
static int sink_patch_list(rd_kafka_t *rk, json_t *offsets, rd_kafka_topic_partition_list_t *l,
                           json_t **reply)
{
    size_t i;
    json_t *e;
    json_array_foreach(offsets, i, e)
    {
        json_t *part = json_object_get(e, "partition");
        json_t *off = json_object_get(e, "offset");
        const char *topic = json_string_value(json_object_get(part, "kafka_topic"));
        json_t *jp = json_object_get(part, "kafka_partition");
        json_t *jo = json_object_get(off, "kafka_offset");
        if (!topic || !json_is_integer(jp) || (!json_is_null(off) && off && !json_is_integer(jo)))
            return bad_request(reply, "Each offset must have a partition with 'kafka_topic' and "
                                      "'kafka_partition', and an offset with an integer "
                                      "'kafka_offset' (or null)");
        int64_t lo = 0, hi = 0, o = json_integer_value(jo);
        if (!jo)
            rd_kafka_query_watermark_offsets(rk, topic, (int32_t)json_integer_value(jp), &lo, &hi,
                                             ADMIN_TIMEOUT_MS);
        rd_kafka_topic_partition_list_add(l, topic, (int32_t)json_integer_value(jp))->offset =
            jo ? o : lo;
    }
    return 0;
}

/* Kafka deletes the group's offsets; the embedded Kafka has no DeleteGroups, so a reset
 * commits the earliest offsets instead, which the next consumer starts from all the same. */
static void sink_reset_list(rd_kafka_t *rk, json_t *config, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_topic_partition_list_t *all = sink_partitions(rk, config);
    if (all->cnt && !rd_kafka_committed(rk, all, ADMIN_TIMEOUT_MS))
        for (int i = 0; i < all->cnt; i++) {
            int64_t lo = 0, hi = 0;
            if (all->elems[i].offset < 0)
                continue;
            rd_kafka_query_watermark_offsets(rk, all->elems[i].topic, all->elems[i].partition,
                                             &lo, &hi, ADMIN_TIMEOUT_MS);
            rd_kafka_topic_partition_list_add(l, all->elems[i].topic, all->elems[i].partition)
                ->offset = lo;
        }
    rd_kafka_topic_partition_list_destroy(all);
}

int offsets_sink_alter(struct worker_ctx *w, const char *name, json_t *config, json_t *body,
                       json_t **reply)
{
    json_t *offsets = body ? json_object_get(body, "offsets") : NULL;
    if (body && !json_is_array(offsets))
        return bad_request(reply, "Partitions / offsets need to be provided for an alter "
                                  "offsets request");
    char err[512];
    rd_kafka_t *rk = group_consumer(w, name, err, sizeof(err));
    if (!rk) {
        *reply = herder_error(500, "%s", err);
        return 500;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    int status = body ? sink_patch_list(rk, offsets, l, reply) : 0;
    if (!body)
        sink_reset_list(rk, config, l);
    rd_kafka_resp_err_t e = (!status && l->cnt) ? rd_kafka_commit(rk, l, 0) : 0;
    if (!status && e) {
        *reply = herder_error(500, "Failed to alter consumer group offsets: %s",
                              rd_kafka_err2str(e));
        status = 500;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    if (!status) {
        *reply = json_pack("{s:s}", "message",
                           body ? "The offsets for this connector have been altered successfully"
                                : "The offsets for this connector have been reset successfully");
        status = 200;
    }
    return status;
}

int offsets_source_alter(struct worker_ctx *w, const char *name, json_t *body, json_t **reply)
{
    json_t *entries = json_array();
    if (body) {
        json_t *offsets = json_object_get(body, "offsets");
        size_t i;
        json_t *e;
        if (!json_is_array(offsets)) {
            json_decref(entries);
            return bad_request(reply, "Partitions / offsets need to be provided for an alter "
                                      "offsets request");
        }
        json_array_foreach(offsets, i, e)
        {
            json_t *part = json_object_get(e, "partition"), *off = json_object_get(e, "offset");
            if (!json_is_object(part) || !(json_is_object(off) || json_is_null(off))) {
                json_decref(entries);
                return bad_request(reply, "Each entry needs a 'partition' object and an "
                                          "'offset' object or null");
            }
            json_array_append_new(entries, json_pack("[O O]", part, off));
        }
    } else {
        json_t *all = offstore_list(w->offsets, name);
        size_t i;
        json_t *e;
        json_array_foreach(all, i, e) json_array_append_new(
            entries, json_pack("[O n]", json_object_get(e, "partition")));
        json_decref(all);
    }
    char err[512];
    int rc = offstore_put(w->offsets, name, entries, ADMIN_TIMEOUT_MS, err, sizeof(err));
    json_decref(entries);
    if (rc) {
        *reply = herder_error(500, "%s", err);
        return 500;
    }
    *reply = json_pack("{s:s}", "message",
                       body ? "The offsets for this connector have been altered successfully"
                            : "The offsets for this connector have been reset successfully");
    return 200;
}
