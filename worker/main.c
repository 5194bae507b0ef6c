/* main.c — the connectd CLI: standalone, distributed, dev-kafka. */
#include "herder.h"
#include "json_alloc.h"
#include "kafka.h"
#include "log.h"
#include "props.h"
#include "rest.h"
#include "stores.h"
#include "worker.h"
#include "worker_config.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int docs_main(void); /* docs.c */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void usage(FILE *out)
{
    fprintf(out,
            "connectd %s — a Kafka Connect compatible connector worker\n\n"
            "Usage:\n"
            "  connectd standalone WORKER.properties [CONNECTOR.properties|CONNECTOR.json ...]\n"
            "  connectd distributed WORKER.properties\n"
            "  connectd dev-kafka [--brokers N] [--topic NAME:PARTITIONS ...] [--exit-on-eof]\n"
            "  connectd --version | --help\n\n"
            "Run `connectd SUBCOMMAND --help` for details.\n",
            CD_VERSION);
}

static void usage_worker(FILE *out, int distributed)
{
    if (distributed)
        fprintf(out,
                "Usage: connectd distributed WORKER.properties\n\n"
                "Runs a worker whose connector configs, source offsets and statuses live in the\n"
                "Kafka topics config.storage.topic, offset.storage.topic and\n"
                "status.storage.topic; every worker with the same group.id shares them.\n"
                "bootstrap.servers=embedded starts an in-memory Kafka inside the process (a demo:\n"
                "nothing survives a restart).\n");
    else
        fprintf(out,
                "Usage: connectd standalone WORKER.properties [CONNECTOR.properties|.json ...]\n\n"
                "Runs a single worker: source offsets in offset.storage.file.filename; connectors\n"
                "from the files given (properties, or JSON as POSTed to /connectors) and those\n"
                "created over REST, which are kept in OFFSETFILE.connectors and come back after\n"
                "a restart.\n");
    fprintf(out, "\nExit status: 0 after SIGTERM/SIGINT, 1 for a fatal config error, 2 for bad "
                 "usage.\n");
}

static void worker_id_of(json_t *wconf, char *out, size_t n)
{
    const char *host = worker_str(wconf, "rest.advertised.host.name");
    const char *port = worker_str(wconf, "rest.advertised.port");
    const char *l = worker_str(wconf, "listeners");
    const char *lp = l ? strrchr(l, ':') : NULL;
    char hn[256] = "localhost";
    if (!host || !*host)
        gethostname(hn, sizeof(hn) - 1);
    snprintf(out, n, "%s:%s", host && *host ? host : hn,
             port && *port ? port : (lp ? lp + 1 : "8083"));
}

struct worker_proc {
    json_t *wconf;
    struct kafka_mock *mock;
    struct statstore *status;
    struct offstore *offsets;
    struct herder *herder;
    struct rest_server *rest;
    struct worker_ctx ctx;
    char worker_id[300];
    char state_file[4096];
};

#define EMBEDDED_FETCH_WAIT_MS "50"

static int start_embedded(struct worker_proc *wp, char *err, size_t n)
{
    const char *bs = worker_str(wp->wconf, "bootstrap.servers");
    if (!bs || strcmp(bs, "embedded"))
        return 0;
    wp->mock = kafka_mock_start(1, err, n);
    if (!wp->mock || kafka_mock_create_internal_topics(wp->mock, wp->wconf))
        return -1;
    json_object_set_new(wp->wconf, "bootstrap.servers",
                        json_string(kafka_mock_bootstraps(wp->mock)));
    /* The mock broker holds a fetch that finds nothing for the whole fetch wait, even when
     * records arrive meanwhile (real brokers answer then). With the default 500 ms, a record
     * produced with kcat reached a FileStream sink in 201-204 ms, with 50 ms in 159-160 ms
     * (the store readers use 50 ms too, clog.c). */
    if (!json_object_get(wp->wconf, "consumer.fetch.max.wait.ms") &&
        !json_object_get(wp->wconf, "consumer.fetch.wait.max.ms"))
        json_object_set_new(wp->wconf, "consumer.fetch.wait.max.ms",
                            json_string(EMBEDDED_FETCH_WAIT_MS));
    log_warn(LOGS_WORKER,
             "bootstrap.servers=embedded: using an in-process Kafka at %s that keeps everything "
             "in memory; connectors, offsets and data are lost when the worker stops. Point "
             "bootstrap.servers at a Kafka cluster for real deployments.",
             kafka_mock_bootstraps(wp->mock));
    return 0;
}

static int64_t mono_ms(void);

static int open_stores(struct worker_proc *wp, int distributed, char *err, size_t n)
{
    worker_id_of(wp->wconf, wp->worker_id, sizeof(wp->worker_id));
    int64_t t0 = mono_ms();
    wp->status = statstore_open(wp->wconf, distributed, wp->worker_id, err, n);
    if (!wp->status || statstore_read_to_end(wp->status, err, n))
        return -1;
    int64_t t1 = mono_ms();
    wp->offsets = offstore_open(wp->wconf, distributed, err, n);
    if (!wp->offsets || offstore_read_to_end(wp->offsets, err, n))
        return -1;
    log_debug(LOGS_WORKER, "status store read in %lld ms, offset store in %lld ms",
              (long long)(t1 - t0), (long long)(mono_ms() - t1));
    wp->ctx = (struct worker_ctx){.wconf = wp->wconf, .offsets = wp->offsets,
                                  .status = wp->status, .worker_id = wp->worker_id};
    return 0;
}

static int load_connectors(struct worker_proc *wp, char **files, int nfiles, char *err, size_t n)
{
    for (int i = 0; i < nfiles; i++) {
        char e[1024];
        json_t *conf = props_load(files[i], e, sizeof(e));
        if (!conf || herder_put_connector(wp->herder, conf, e, sizeof(e))) {
            snprintf(err, n, "connector config %s: %s", files[i], e);
            json_decref(conf);
            return -1;
        }
        json_decref(conf);
    }
    return 0;
}

static int start_worker(struct worker_proc *wp, int distributed, char **files, int nfiles,
                        char *err, size_t n)
{
    if (start_embedded(wp, err, n) || open_stores(wp, distributed, err, n))
        return -1;
    if (!distributed)
        snprintf(wp->state_file, sizeof(wp->state_file), "%s.connectors",
                 worker_str(wp->wconf, "offset.storage.file.filename"));
    struct herder_opts o = {.w = &wp->ctx, .distributed = distributed,
                            .state_file = distributed ? NULL : wp->state_file};
    int64_t t0 = mono_ms();
    wp->herder = herder_new(&o, err, n);
    log_debug(LOGS_WORKER, "config store read and herder started in %lld ms",
              (long long)(mono_ms() - t0));
    if (!wp->herder || load_connectors(wp, files, nfiles, err, n))
        return -1;
    wp->rest = rest_start(worker_str(wp->wconf, "listeners"), wp->herder, err, n);
    return wp->rest ? 0 : -1;
}

static void stop_worker(struct worker_proc *wp)
{
    rest_stop(wp->rest);
    herder_free(wp->herder);
    if (wp->status)
        statstore_flush(wp->status);
    statstore_close(wp->status);
    offstore_close(wp->offsets);
    kafka_mock_stop(wp->mock);
    json_decref(wp->wconf);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int worker_main(int argc, char **argv, int distributed)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage_worker(stdout, distributed);
        return 0;
    }
    if (argc < 2 || (distributed && argc > 2) || argv[1][0] == '-') {
        usage_worker(stderr, distributed);
        return 2;
    }
    int64_t t0 = mono_ms();
    char err[2048] = "";
    struct worker_proc wp = {0};
    wp.wconf = props_load(argv[1], err, sizeof(err));
    if (!wp.wconf || worker_config_check(wp.wconf, distributed, err, sizeof(err))) {
        fprintf(stderr, "connectd: fatal config error in %s: %s\n", argv[1], err);
        json_decref(wp.wconf);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    if (start_worker(&wp, distributed, argv + 2, argc - 2, err, sizeof(err))) {
        log_error(LOGS_WORKER, "fatal: %s", err);
        fprintf(stderr, "connectd: fatal: %s\n", err);
        rc = 1;
    } else {
        herder_set_ready(wp.herder);
        log_info(LOGS_WORKER, "connectd %s (%s mode) started in %lld ms; REST API on port %d",
                 CD_VERSION, distributed ? "distributed" : "standalone",
                 (long long)(mono_ms() - t0), rest_port(wp.rest));
        while (!got_signal)
            usleep(100 * 1000);
        log_info(LOGS_WORKER, "signal %d: shutting down", (int)got_signal);
    }
    stop_worker(&wp);
    return rc;
}

/* Freed memory stays with the process for the next allocation instead of going back to the
 * kernel and being faulted in again: librdkafka allocates every fetch response and produce
 * batch anew (megabytes each), and glibc's defaults returned them at once. A sink worker
 * draining 1M records took 21k-26k page faults, dev-kafka serving them 45k-47k; with these
 * 14k and 2.2k (page faults are dear on virtual machines). The price: peak RSS 2-40 MiB
 * higher depending on the sink, and after a burst the memory stays (a worker idles at 59 MiB
 * after draining 1M records, 33 MiB before), at most 32 MB of it free per arena. */
static void malloc_tune(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

int main(int argc, char **argv)
{
    malloc_tune();
    cd_json_alloc_install(); /* before any jansson value exists */
    const char *lvl = getenv("CONNECTD_LOG_LEVEL");
    if (lvl && log_level_parse(lvl) >= 0)
        log_set_level(LOGS_ROOT, log_level_parse(lvl));
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("connectd %s (commit %s, librdkafka %s)\n", CD_VERSION, CD_COMMIT,
               rd_kafka_version_str());
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "standalone"))
        return worker_main(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "distributed"))
        return worker_main(argc - 1, argv + 1, 1);
    if (!strcmp(cmd, "docs"))
        return docs_main();
    if (!strcmp(cmd, "dev-kafka"))
        return devkafka_main(argc - 1, argv + 1);
    fprintf(stderr, "connectd: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
