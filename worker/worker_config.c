/* worker_config.c — the worker's keys, with Kafka Connect's names and defaults. */
#include "worker_config.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G_COMMON "Common"
#define G_DIST "Distributed"
#define G_REST "REST"
#define G_STANDALONE "Standalone"

static const char *const protocol_values[] = {"eager", "compatible", "sessioned", NULL};

static int listeners_check(const char *v, char *err, size_t errlen)
{
    if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
        snprintf(err, errlen, "Invalid value %s for configuration listeners: expected http://host:port", v);
        return -1;
    }
    return 0;
}

const struct cfg_def worker_defs[] = {
    {"bootstrap.servers", CFG_LIST, "localhost:9092", 0, CFG_HIGH,
     "Kafka brokers (host:port,...). `embedded` starts an in-memory Kafka inside the worker "
     "(demos and tests only: nothing survives a restart).",
     G_COMMON, 0, NULL, NULL},
    {"group.id", CFG_STRING, NULL, 0, CFG_HIGH,
     "Unique string that identifies the Connect cluster group this worker belongs to "
     "(distributed mode; required there).",
     G_DIST, 0, NULL, NULL},
    {"config.storage.topic", CFG_STRING, NULL, 0, CFG_HIGH,
     "Topic where connector configurations are stored (distributed mode; required there). "
     "Must have exactly one partition.",
     G_DIST, 0, NULL, NULL},
    {"config.storage.replication.factor", CFG_INT, "3", 0, CFG_LOW,
     "Replication factor used when creating the configuration storage topic (-1 = broker "
     "default).",
     G_DIST, 0, NULL, NULL},
    {"offset.storage.topic", CFG_STRING, NULL, 0, CFG_HIGH,
     "Topic where source connector offsets are stored (distributed mode; required there).", G_DIST,
     0, NULL, NULL},
    {"offset.storage.partitions", CFG_INT, "25", 0, CFG_LOW,
     "Partitions used when creating the offset storage topic.", G_DIST, 0, NULL, NULL},
    {"offset.storage.replication.factor", CFG_INT, "3", 0, CFG_LOW,
     "Replication factor used when creating the offset storage topic.", G_DIST, 0, NULL, NULL},
    {"status.storage.topic", CFG_STRING, NULL, 0, CFG_HIGH,
     "Topic where connector and task status is stored (distributed mode; required there).",
     G_DIST, 0, NULL, NULL},
    {"status.storage.partitions", CFG_INT, "5", 0, CFG_LOW,
     "Partitions used when creating the status storage topic.", G_DIST, 0, NULL, NULL},
    {"status.storage.replication.factor", CFG_INT, "3", 0, CFG_LOW,
     "Replication factor used when creating the status storage topic.", G_DIST, 0, NULL, NULL},
    {"key.converter", CFG_CLASS, "org.apache.kafka.connect.json.JsonConverter", 0, CFG_HIGH,
     "Converter class for record keys; connectors may override it.", G_COMMON, 0, NULL, NULL},
    {"value.converter", CFG_CLASS, "org.apache.kafka.connect.json.JsonConverter", 0, CFG_HIGH,
     "Converter class for record values; connectors may override it.", G_COMMON, 0, NULL, NULL},
    {"key.converter.schemas.enable", CFG_BOOLEAN, "true", 0, CFG_MEDIUM,
     "JsonConverter keys: expect and write the {\"schema\",\"payload\"} envelope.", G_COMMON, 0,
     NULL, NULL},
    {"value.converter.schemas.enable", CFG_BOOLEAN, "true", 0, CFG_MEDIUM,
     "JsonConverter values: expect and write the {\"schema\",\"payload\"} envelope.", G_COMMON, 0,
     NULL, NULL},
    {"header.converter", CFG_CLASS, "org.apache.kafka.connect.storage.SimpleHeaderConverter", 0,
     CFG_LOW, "Converter class for header values.", G_COMMON, 0, NULL, NULL},
    {"offset.flush.interval.ms", CFG_LONG, "60000", 0, CFG_LOW,
     "Interval at which to commit offsets of tasks.", G_COMMON, 0, NULL, NULL},
    {"offset.flush.timeout.ms", CFG_LONG, "5000", 0, CFG_LOW,
     "Maximum time to wait for records to be acknowledged and offsets committed before "
     "cancelling the flush.",
     G_COMMON, 0, NULL, NULL},
    {"offset.storage.file.filename", CFG_STRING, NULL, 0, CFG_HIGH,
     "File to store source offsets in (standalone mode; required there). Connectors created "
     "over REST are kept in `<file>.connectors`.",
     G_STANDALONE, 0, NULL, NULL},
    {"task.shutdown.graceful.timeout.ms", CFG_LONG, "5000", 0, CFG_LOW,
     "Time to wait for tasks to shut down gracefully before they are abandoned.", G_COMMON, 0,
     NULL, NULL},
    {"listeners", CFG_LIST, "http://:8083", 0, CFG_LOW,
     "URI the REST API listens on, e.g. http://:8083 or http://127.0.0.1:8083.", G_REST, 0, NULL,
     listeners_check},
    {"rest.advertised.host.name", CFG_STRING, NULL, 0, CFG_LOW,
     "Host name given to other workers to reach this one.", G_REST, 0, NULL, NULL},
    {"rest.advertised.port", CFG_INT, NULL, 0, CFG_LOW,
     "Port given to other workers to reach this one.", G_REST, 0, NULL, NULL},
    {"rest.advertised.listener", CFG_STRING, NULL, 0, CFG_LOW,
     "Listener (http or https) given to other workers.", G_REST, 0, NULL, NULL},
    {"plugin.path", CFG_LIST, NULL, 0, CFG_LOW,
     "Accepted for compatibility and ignored: connectd's plugins are compiled in.", G_COMMON, 0,
     NULL, NULL},
    {"connect.protocol", CFG_STRING, "sessioned", 0, CFG_LOW,
     "Group protocol (accepted for compatibility).", G_DIST, 0, protocol_values, NULL},
    {"session.timeout.ms", CFG_INT, "10000", 0, CFG_LOW, "Worker group session timeout.", G_DIST,
     0, NULL, NULL},
    {"heartbeat.interval.ms", CFG_INT, "3000", 0, CFG_LOW, "Worker group heartbeat interval.",
     G_DIST, 0, NULL, NULL},
    {"rebalance.timeout.ms", CFG_INT, "60000", 0, CFG_LOW, "Worker group rebalance timeout.",
     G_DIST, 0, NULL, NULL},
    {"topic.creation.enable", CFG_BOOLEAN, "true", 0, CFG_LOW,
     "Whether source connectors may create their topics with topic.creation.* settings.",
     G_COMMON, 0, NULL, NULL},
    {"connector.client.config.override.policy", CFG_STRING, "All", 0, CFG_MEDIUM,
     "Which producer./consumer./admin.override.* keys connectors may set: All or None.", G_COMMON,
     0, (const char *const[]){"All", "None", "Principal", NULL}, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

/* Keys Kafka Connect accepts that connectd takes but does not act on. */
static const char *const unused_keys[] = {
    "plugin.path", "plugin.discovery", "rest.extension.classes", "admin.listeners",
    "access.control.allow.origin", "access.control.allow.methods",
    "response.http.headers.config", "config.providers", "topic.tracking.enable",
    "topic.tracking.allow.reset", "worker.sync.timeout.ms", "worker.unsync.backoff.ms",
    "scheduled.rebalance.max.delay.ms", "exactly.once.source.support",
    "inter.worker.signature.algorithm", "metrics.recording.level", "metric.reporters",
    "config.storage.partitions", NULL};

/* Prefixes handed to the Kafka clients or to converters, so never "unknown". */
static const char *const known_prefixes[] = {
    "producer.", "consumer.", "admin.", "ssl.", "sasl.", "security.", "key.converter.",
    "value.converter.", "header.converter.", "inter.worker.", "config.providers.",
    "listeners.", "rest.", "metrics.", "client.", "reconnect.", "retry.", "socket.",
    "metadata.", "connections.", "request.", "receive.", "send.", NULL};

static int has_prefix(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strncmp(key, *list, strlen(*list)))
            return 1;
    return 0;
}

static int in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(key, *list))
            return 1;
    return 0;
}

static void warn_unknown(json_t *conf)
{
    const char *key;
    json_t *v;
    json_object_foreach(conf, key, v) {
        if (in_list(key, unused_keys) || (!strcmp(key, "plugin.path")))
            log_warn(LOGS_WORKER, "worker config '%s' is accepted but unused by connectd", key);
        else if (!cfg_find(worker_defs, key) && !has_prefix(key, known_prefixes))
            log_warn(LOGS_WORKER, "unknown worker config '%s' ignored", key);
    }
}

static int require(json_t *conf, const char *key, const char *mode, char *err, size_t errlen)
{
    const char *v = json_string_value(json_object_get(conf, key));
    if (v && *v)
        return 0;
    snprintf(err, errlen, "Missing required configuration \"%s\" which has no default value "
             "(required in %s mode).", key, mode);
    return -1;
}

static int check_values(json_t *conf, char *err, size_t errlen)
{
    for (const struct cfg_def *d = worker_defs; d->name; d++) {
        json_t *jv = json_object_get(conf, d->name);
        if (!jv || json_is_null(jv))
            continue;
        const char *v = json_string_value(jv);
        char e[512];
        if (!v) {
            snprintf(err, errlen, "Invalid value for configuration %s: must be a string", d->name);
            return -1;
        }
        if (cfg_check_value(d, v, e, sizeof(e))) {
            if (strstr(e, d->name))
                snprintf(err, errlen, "%s", e);
            else
                snprintf(err, errlen, "Invalid value %s for configuration %s: %s", v, d->name, e);
            return -1;
        }
    }
    return 0;
}

int worker_config_check(json_t *conf, int distributed, char *err, size_t errlen)
{
    if (!json_is_object(conf)) {
        snprintf(err, errlen, "worker config is not a set of key=value pairs");
        return -1;
    }
    if (check_values(conf, err, errlen))
        return -1;
    if (distributed) {
        static const char *const req[] = {"group.id", "config.storage.topic",
                                          "offset.storage.topic", "status.storage.topic", NULL};
        for (int i = 0; req[i]; i++)
            if (require(conf, req[i], "distributed", err, errlen))
                return -1;
    } else if (require(conf, "offset.storage.file.filename", "standalone", err, errlen)) {
        return -1;
    }
    warn_unknown(conf);
    return 0;
}

const char *worker_str(json_t *conf, const char *key)
{
    return cfg_get_str(conf, worker_defs, key);
}

long long worker_int(json_t *conf, const char *key)
{
    return (long long)cfg_get_int(conf, worker_defs, key, 0);
}

int worker_bool(json_t *conf, const char *key)
{
    return cfg_get_bool(conf, worker_defs, key, 0);
}
