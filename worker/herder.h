/* herder.h — the one owner of connector and task state.
 *
 * REST threads turn each request into a struct herder_req and call herder_call(), which
 * posts it to the herder thread and waits for the reply (90 s, as Kafka Connect). Replies
 * are Kafka Connect's JSON entities; errors are {"error_code":N,"message":"..."}. */
#ifndef CD_HERDER_H
#define CD_HERDER_H

#include <jansson.h>

struct herder;

enum herder_op {
    HOP_ROOT,           /* GET /                         -> {"version","commit","kafka_cluster_id"} */
    HOP_HEALTH,         /* GET /health                   -> 200 healthy / 503 starting */
    HOP_LIST,           /* GET /connectors[?expand=..]   */
    HOP_CREATE,         /* POST /connectors              body {"name","config","initial_state"} */
    HOP_GET,            /* GET /connectors/{c}           */
    HOP_CONFIG_GET,     /* GET /connectors/{c}/config    */
    HOP_CONFIG_PUT,     /* PUT /connectors/{c}/config    body flat {k:v}; 201 created / 200 */
    HOP_CONFIG_PATCH,   /* PATCH /connectors/{c}/config  body {k:v|null} */
    HOP_STATUS,         /* GET /connectors/{c}/status    */
    HOP_TASKS,          /* GET /connectors/{c}/tasks     */
    HOP_TASKS_CONFIG,   /* GET /connectors/{c}/tasks-config */
    HOP_TASK_STATUS,    /* GET /connectors/{c}/tasks/{t}/status */
    HOP_TASK_RESTART,   /* POST /connectors/{c}/tasks/{t}/restart */
    HOP_RESTART,        /* POST /connectors/{c}/restart[?includeTasks&onlyFailed] */
    HOP_PAUSE,          /* PUT /connectors/{c}/pause     */
    HOP_RESUME,         /* PUT /connectors/{c}/resume    */
    HOP_STOP,           /* PUT /connectors/{c}/stop      */
    HOP_DELETE,         /* DELETE /connectors/{c}        */
    HOP_TOPICS,         /* GET /connectors/{c}/topics    */
    HOP_TOPICS_RESET,   /* PUT /connectors/{c}/topics/reset */
    HOP_OFFSETS_GET,    /* GET /connectors/{c}/offsets   */
    HOP_OFFSETS_PATCH,  /* PATCH /connectors/{c}/offsets body {"offsets":[...]} */
    HOP_OFFSETS_DELETE, /* DELETE /connectors/{c}/offsets */
};

struct herder_req {
    enum herder_op op;
    const char *connector; /* {c} from the path (URL-decoded), NULL when none */
    int task;              /* {t} from the path */
    json_t *body;          /* parsed JSON body, borrowed; NULL when none */
    int include_tasks;     /* restart ?includeTasks=true */
    int only_failed;       /* restart ?onlyFailed=true */
    int expand_status;     /* list ?expand=status */
    int expand_info;       /* list ?expand=info */
};

/* Runs req on the herder thread and waits for it. Returns the HTTP status; *reply gets the
 * JSON body (new reference, caller decrefs) or NULL when the status has no body (202/204). */
int herder_call(struct herder *h, const struct herder_req *req, json_t **reply);

/* Makes a Kafka Connect error body {"error_code":status,"message":msg}. */
json_t *herder_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
