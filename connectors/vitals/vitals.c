/* vitals.c — VitalsSourceConnector: a deterministic generator of the seeds' vitals records.
 *
 * Record n is a pure function of (random.seed, n): its random numbers come from a PRNG seeded
 * with both, and its event time is start.time + n / rate. So the same config always gives the
 * same bytes, and a restart continues from the stored sequence without any generator state.
 * Task i of N produces the sequences i, i+N, i+2N, ... */
#define _GNU_SOURCE
#include "log.h"
#include "plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const formats[] = {"heart_rate", "device", NULL};

static int start_time_check(const char *v, char *err, size_t errlen);
static int devices_check(const char *v, char *err, size_t errlen);
static int rate_check(const char *v, char *err, size_t errlen);
static int iterations_check(const char *v, char *err, size_t errlen);
static int anomaly_check(const char *v, char *err, size_t errlen);

static const struct cfg_def vitals_defs[] = {
    {"kafka.topic", CFG_STRING, "vitals", 0, CFG_HIGH, "Topic to write the generated records to.",
     NULL, 0, NULL, NULL},
    {"devices", CFG_INT, "10", 0, CFG_MEDIUM,
     "Number of simulated devices (patients); record n comes from device n % devices.", NULL, 0,
     NULL, devices_check},
    {"rate", CFG_DOUBLE, "10", 0, CFG_MEDIUM,
     "Records per second for the whole connector; 0 = as fast as possible.", NULL, 0, NULL,
     rate_check},
    {"iterations", CFG_LONG, "0", 0, CFG_MEDIUM,
     "Total number of records to generate; 0 = no limit.", NULL, 0, NULL, iterations_check},
    {"anomaly.ratio", CFG_DOUBLE, "0.01", 0, CFG_LOW,
     "Share of records (0..1) carrying an abnormal reading, flagged with anomaly=true.", NULL, 0,
     NULL, anomaly_check},
    {"random.seed", CFG_LONG, "42", 0, CFG_LOW,
     "Seed of the generator: the same seed gives byte-identical records.", NULL, 0, NULL, NULL},
    {"format", CFG_STRING, "heart_rate", 0, CFG_MEDIUM,
     "Record shape: heart_rate (seed 000: patient vitals) or device (seed 002: MQTT health "
     "device).",
     NULL, 0, formats, NULL},
    {"start.time", CFG_STRING, "now", 0, CFG_LOW,
     "Event time of record 0: epoch milliseconds, an ISO-8601 UTC time "
     "(2026-01-01T00:00:00Z), or `now`. Record n is stamped start.time + n / rate.",
     NULL, 0, NULL, start_time_check},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL},
};

/* Parses start.time into epoch ms; "now" gives -1 (resolved at task start). */
static int parse_start_time(const char *v, long long *ms)
{
    if (!strcmp(v, "now")) {
        *ms = -1;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && n >= 0) {
        *ms = n;
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || (*rest && strcmp(rest, "Z")))
        return -1;
    *ms = (long long)timegm(&tm) * 1000;
    return 0;
}

static int start_time_check(const char *v, char *err, size_t errlen)
{
    long long ms;
    if (parse_start_time(v, &ms)) {
        snprintf(err, errlen,
                 "Invalid value %s for configuration start.time: expected epoch milliseconds, "
                 "an ISO-8601 UTC time such as 2026-01-01T00:00:00Z, or now", v);
        return -1;
    }
    return 0;
}

/* The type check ran first, so v parses; this only checks the range. */
static int range_check(const char *key, const char *v, double lo, double hi, char *err,
                       size_t errlen)
{
    double d = strtod(v, NULL);
    if (d >= lo && d <= hi)
        return 0;
    if (hi == INFINITY)
        snprintf(err, errlen, "Invalid value %s for configuration %s: Value must be at least %g",
                 v, key, lo);
    else
        snprintf(err, errlen,
                 "Invalid value %s for configuration %s: Value must be between %g and %g", v, key,
                 lo, hi);
    return -1;
}

static int devices_check(const char *v, char *err, size_t errlen)
{
    return range_check("devices", v, 1, INFINITY, err, errlen);
}

static int rate_check(const char *v, char *err, size_t errlen)
{
    return range_check("rate", v, 0, INFINITY, err, errlen);
}

static int iterations_check(const char *v, char *err, size_t errlen)
{
    return range_check("iterations", v, 0, INFINITY, err, errlen);
}

static int anomaly_check(const char *v, char *err, size_t errlen)
{
    return range_check("anomaly.ratio", v, 0, 1, err, errlen);
}

static json_t *vitals_task_configs(json_t *conf, int max_tasks)
{
    json_t *arr = json_array();
    for (int i = 0; i < max_tasks; i++) {
        json_t *c = json_deep_copy(conf);
        char b[16];
        snprintf(b, sizeof(b), "%d", i);
        json_object_set_new(c, "task.index", json_string(b));
        snprintf(b, sizeof(b), "%d", max_tasks);
        json_object_set_new(c, "task.count", json_string(b));
        json_array_append_new(arr, c);
    }
    return arr;
}

struct vgen {
    char *topic;
    int devices, device_fmt;
    double rate, anomaly;
    long long iterations, seed, start_ms;
    long long next_seq, stride;
    long long t0_mono, produced; /* pacing since task start */
    json_t *partition, *key_schema, *value_schema;
};

static const char *conf_s(json_t *c, const char *k)
{
    return cfg_get_str(c, vitals_defs, k);
}

static json_t *field(const char *name, const char *type)
{
    return json_pack("{s:s s:s s:b}", "field", name, "type", type, "optional", 0);
}

static json_t *value_schema(int device_fmt)
{
    json_t *f = json_array();
    if (device_fmt) {
        static const char *const n[] = {"deviceId", "timestamp", "heartRate", "systolic",
                                        "diastolic", "oxygenSaturation", "bodyTemperature",
                                        "latitude", "longitude"};
        static const char *const t[] = {"string", "int64", "int32", "int32", "int32",
                                        "int32", "double", "double", "double"};
        for (int i = 0; i < 9; i++)
            json_array_append_new(f, field(n[i], t[i]));
        return json_pack("{s:s s:o s:b s:s}", "type", "struct", "fields", f, "optional", 0,
                         "name", "com.example.HealthData");
    }
    static const char *const n[] = {"patient_id", "timestamp", "heart_rate", "respiratory_rate",
                                    "anomaly"};
    static const char *const t[] = {"string", "int64", "int32", "int32", "boolean"};
    for (int i = 0; i < 5; i++)
        json_array_append_new(f, field(n[i], t[i]));
    return json_pack("{s:s s:o s:b s:s}", "type", "struct", "fields", f, "optional", 0, "name",
                     "connectd.vitals.HeartRate");
}

static int vitals_start(struct task_ctx *t, json_t *conf, void **state)
{
    struct vgen *g = calloc(1, sizeof(*g));
    g->topic = strdup(conf_s(conf, "kafka.topic"));
    g->devices = (int)cfg_get_int(conf, vitals_defs, "devices", 10);
    if (g->devices < 1)
        g->devices = 1;
    g->device_fmt = !strcasecmp(conf_s(conf, "format"), "device"); /* as the allowed check */
    g->rate = cfg_get_double(conf, vitals_defs, "rate", 10);
    g->anomaly = cfg_get_double(conf, vitals_defs, "anomaly.ratio", 0.01);
    g->iterations = cfg_get_int(conf, vitals_defs, "iterations", 0);
    g->seed = cfg_get_int(conf, vitals_defs, "random.seed", 42);
    if (parse_start_time(conf_s(conf, "start.time"), &g->start_ms) || g->start_ms < 0)
        g->start_ms = (long long)time(NULL) * 1000;
    const char *idx = json_string_value(json_object_get(conf, "task.index"));
    const char *cnt = json_string_value(json_object_get(conf, "task.count"));
    g->next_seq = idx ? atoll(idx) : 0;
    g->stride = cnt && atoll(cnt) > 0 ? atoll(cnt) : 1;
    g->partition = json_pack("{s:s s:I}", "generator", task_connector_name(t), "task",
                             (json_int_t)g->next_seq);
    json_t *off = task_offset_get(t, g->partition);
    json_t *seq = json_object_get(off, "sequence");
    if (json_is_integer(seq))
        g->next_seq = json_integer_value(seq) + g->stride;
    json_decref(off);
    g->key_schema = json_pack("{s:s s:b}", "type", "string", "optional", 0);
    g->value_schema = value_schema(g->device_fmt);
    g->t0_mono = task_now_ms();
    task_log(t, 2, "generating %s records from sequence %lld", g->device_fmt ? "device" : "heart_rate",
             g->next_seq);
    *state = g;
    return 0;
}

/* splitmix64: a tiny PRNG whose whole state is one word, so (seed, n) picks a stream. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(mix(s) >> 11) / 9007199254740992.0;
}

static int between(uint64_t *s, int lo, int hi)
{
    return lo + (int)(uniform(s) * (hi - lo + 1));
}

/* Rounds to a number of decimals so the JSON shows 98.6, not 98.60000000000001. */
static double round_to(double v, int decimals)
{
    double scale = pow(10, decimals);
    return round(v * scale) / scale;
}

static json_t *heart_rate_value(uint64_t *s, const char *id, long long ts, int anomalous)
{
    int hr = anomalous ? (uniform(s) < 0.5 ? between(s, 30, 45) : between(s, 140, 190))
                       : between(s, 58, 100);
    int rr = anomalous ? between(s, 24, 35) : between(s, 12, 20);
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "patient_id", json_string(id));
    json_object_set_new_nocheck(o, "timestamp", json_integer(ts));
    json_object_set_new_nocheck(o, "heart_rate", json_integer(hr));
    json_object_set_new_nocheck(o, "respiratory_rate", json_integer(rr));
    json_object_set_new_nocheck(o, "anomaly", json_boolean(anomalous));
    return o;
}

static json_t *device_value(uint64_t *s, const char *id, int dev, long long ts, int anomalous)
{
    int hr = anomalous ? between(s, 140, 190) : between(s, 58, 100);
    int sys = anomalous ? between(s, 160, 200) : between(s, 105, 135);
    int spo2 = anomalous ? between(s, 82, 90) : between(s, 95, 100);
    double temp = round_to(anomalous ? 101.0 + uniform(s) * 3 : 97.0 + uniform(s) * 2.2, 1);
    /* Each device stays near its own home position, a fixed function of the device. */
    uint64_t home = (uint64_t)dev * 7919u;
    double lat = round_to(40.7128 + (uniform(&home) - 0.5) * 0.2 + (uniform(s) - 0.5) * 0.001, 6);
    double lon = round_to(-74.006 + (uniform(&home) - 0.5) * 0.2 + (uniform(s) - 0.5) * 0.001, 6);
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "deviceId", json_string(id));
    json_object_set_new_nocheck(o, "timestamp", json_integer(ts / 1000));
    json_object_set_new_nocheck(o, "heartRate", json_integer(hr));
    json_object_set_new_nocheck(o, "systolic", json_integer(sys));
    json_object_set_new_nocheck(o, "diastolic", json_integer(sys - between(s, 35, 50)));
    json_object_set_new_nocheck(o, "oxygenSaturation", json_integer(spo2));
    json_object_set_new_nocheck(o, "bodyTemperature", json_real(temp));
    json_object_set_new_nocheck(o, "latitude", json_real(lat));
    json_object_set_new_nocheck(o, "longitude", json_real(lon));
    return o;
}

static struct cd_record *make_record(struct vgen *g, long long n)
{
    uint64_t s = (uint64_t)g->seed * 0x100000001B3ULL ^ (uint64_t)n;
    mix(&s);
    int dev = (int)(n % g->devices);
    char id[32];
    snprintf(id, sizeof(id), g->device_fmt ? "device%03d" : "patient-%04d", dev + 1);
    double step = g->rate > 0 ? 1000.0 / g->rate : 1.0;
    long long ts = g->start_ms + (long long)(n * step);
    int anomalous = uniform(&s) < g->anomaly;
    struct cd_record *r = cd_record_new(g->topic);
    r->timestamp = ts;
    r->key.schema = json_incref(g->key_schema);
    r->key.value = json_string(id);
    r->value.schema = json_incref(g->value_schema);
    r->value.value = g->device_fmt ? device_value(&s, id, dev, ts, anomalous)
                                   : heart_rate_value(&s, id, ts, anomalous);
    r->source_partition = json_incref(g->partition);
    r->source_offset = json_object();
    json_object_set_new_nocheck(r->source_offset, "sequence", json_integer(n));
    return r;
}

/* How many records the rate allows now, given what this task produced since it started. */
static long long allowed_now(struct vgen *g)
{
    if (g->rate <= 0)
        return 1LL << 40;
    double task_rate = g->rate / (double)g->stride;
    return (long long)((task_now_ms() - g->t0_mono) * task_rate / 1000.0) + 1 - g->produced;
}

static int vitals_poll(void *state, struct task_ctx *t, struct cd_record **recs, int max,
                       int timeout_ms)
{
    struct vgen *g = state;
    long long deadline = task_now_ms() + timeout_ms;
    int n = 0;
    while (n == 0 && !task_stopping(t)) {
        long long allowed = allowed_now(g);
        while (n < max && allowed-- > 0 &&
               (g->iterations <= 0 || g->next_seq < g->iterations)) {
            recs[n++] = make_record(g, g->next_seq);
            g->next_seq += g->stride;
        }
        if (n || task_now_ms() >= deadline)
            break;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    g->produced += n;
    return n;
}

static void vitals_stop(void *state, struct task_ctx *t)
{
    struct vgen *g = state;
    if (!g)
        return;
    free(g->topic);
    json_decref(g->partition);
    json_decref(g->key_schema);
    json_decref(g->value_schema);
    free(g);
}

static const char *const vitals_aliases[] = {"VitalsSourceConnector", "VitalsSource", NULL};

const struct connector_plugin vitals_source_plugin = {
    .class_name = "io.connectd.vitals.VitalsSourceConnector",
    .aliases = vitals_aliases,
    .type = PLUGIN_SOURCE,
    .version = CD_VERSION,
    .config = vitals_defs,
    .task_configs = vitals_task_configs,
    .task_start = vitals_start,
    .task_stop = vitals_stop,
    .poll = vitals_poll,
};
