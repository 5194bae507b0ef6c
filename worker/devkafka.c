/* devkafka.c — `connectd dev-kafka`: the mock cluster as a standalone broker for tests/demos. */
#include "kafka.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: connectd dev-kafka [--brokers N] [--topic NAME:PARTITIONS ...] [--exit-on-eof]\n"
            "\n"
            "Runs librdkafka's mock cluster as a Kafka broker for tests and demos. It listens on\n"
            "loopback on ephemeral ports, keeps all data in memory (about 5 MB per partition;\n"
            "older data is dropped) and creates topics on first use. The internal topics\n"
            "connect-configs (1 partition), connect-offsets (25) and connect-status (5) are\n"
            "created up front.\n"
            "\n"
            "The first line on stdout is the bootstrap address (host:port,...).\n"
            "\n"
            "options:\n"
            "  --brokers N              number of brokers (default 1)\n"
            "  --topic NAME:PARTITIONS  create a topic (repeatable)\n"
            "  --exit-on-eof            exit when stdin closes (default: keep running)\n"
            "\n"
            "Fault-injection commands, one per line on stdin (each answers one line):\n"
            "  broker-down ID            take broker ID (1..N) down\n"
            "  broker-up ID              bring it back\n"
            "  rtt ID MS                 add MS of round-trip latency to broker ID\n"
            "  topic NAME PARTITIONS     create a topic\n"
            "  error API_KEY ERR [COUNT] make the next COUNT requests of API_KEY fail with\n"
            "                            Kafka error code ERR (e.g. `error 0 7 3`: 3 Produce\n"
            "                            requests time out)\n"
            "  clear-errors              drop all pending injected errors\n"
            "  help                      list the commands\n"
            "\n"
            "Stops on SIGTERM or SIGINT (exit 0).\n");
}

static int add_topic(struct kafka_mock *m, const char *spec)
{
    char name[256];
    const char *colon = strrchr(spec, ':');
    int parts = colon ? atoi(colon + 1) : 1;
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (nl == 0 || nl >= sizeof(name) || parts < 1) {
        fprintf(stderr, "connectd dev-kafka: bad --topic '%s' (expected NAME:PARTITIONS)\n", spec);
        return -1;
    }
    memcpy(name, spec, nl);
    name[nl] = '\0';
    return kafka_mock_topic_create(m, name, parts);
}

/* Reads stdin commands until a signal, or EOF when exit_on_eof. */
static void serve_stdin(struct kafka_mock *m, int exit_on_eof)
{
    char line[512];
    size_t used = 0;
    int stdin_open = 1;
    while (!stop_signal) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (!stdin_open || poll(&p, 1, 200) <= 0) {
            if (!stdin_open)
                usleep(200 * 1000);
            continue;
        }
        ssize_t r = read(0, line + used, sizeof(line) - 1 - used);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (exit_on_eof)
                return;
            stdin_open = 0;
            continue;
        }
        used += (size_t)r;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            char out[512];
            kafka_mock_command(m, line, out, sizeof(out));
            printf("%s\n", out);
            fflush(stdout);
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used + 1);
        }
        if (used == sizeof(line) - 1)
            used = 0; /* an over-long line without newline: drop it */
    }
}

int devkafka_main(int argc, char **argv)
{
    int brokers = 1, exit_on_eof = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--exit-on-eof"))
            exit_on_eof = 1;
        else if (!strcmp(argv[i], "--brokers") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc)
            i++; /* created once the cluster runs */
        else {
            fprintf(stderr, "connectd dev-kafka: bad argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char err[512];
    struct kafka_mock *m = kafka_mock_start(brokers, err, sizeof(err));
    if (!m) {
        fprintf(stderr, "connectd dev-kafka: %s\n", err);
        return 1;
    }
    int rc = kafka_mock_create_internal_topics(m, NULL);
    for (int i = 1; i < argc && !rc; i++)
        if (!strcmp(argv[i], "--topic"))
            rc = add_topic(m, argv[++i]);
    if (rc) {
        kafka_mock_stop(m);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("%s\n", kafka_mock_bootstraps(m));
    fflush(stdout);
    log_info(LOGS_KAFKA, "dev-kafka: %d broker(s) at %s (in memory only)", brokers,
             kafka_mock_bootstraps(m));
    serve_stdin(m, exit_on_eof);
    kafka_mock_stop(m);
    return 0;
}
