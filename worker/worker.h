/* worker.h — what the herder needs from the worker process. */
#ifndef CD_WORKER_H
#define CD_WORKER_H

#include "task.h"

struct cfgstore;

struct herder_opts {
    struct worker_ctx *w;   /* borrowed for the herder's lifetime */
    struct cfgstore *cs;    /* set by herder_new: the herder owns its config store */
    int distributed;
    const char *state_file; /* standalone: where REST-created connectors are kept */
};

struct herder;

/* Opens the config store (its records notify the herder), reads it to the end, starts the
 * herder thread and every connector in its target state. NULL with err on failure. */
struct herder *herder_new(struct herder_opts *o, char *err, size_t errlen);
/* Creates or updates a connector from a config file (standalone command line). */
int herder_put_connector(struct herder *h, json_t *config, char *err, size_t errlen);
/* Marks startup complete: /health answers 200 from now on. */
void herder_set_ready(struct herder *h);
/* Stops every task (task.shutdown.graceful.timeout.ms each) and the herder thread. */
void herder_free(struct herder *h);

#endif
