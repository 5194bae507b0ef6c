/* offsets_admin.h — GET/PATCH/DELETE /connectors/{c}/offsets. Sink offsets live in the
 * consumer group connect-<name>; source offsets in the offset store. */
#ifndef CD_OFFSETS_ADMIN_H
#define CD_OFFSETS_ADMIN_H

#include "task.h"

#include <jansson.h>

/* Each returns an HTTP status and sets *reply. body NULL = reset everything. */
int offsets_sink_get(struct worker_ctx *w, const char *name, json_t *config, json_t **reply);
int offsets_sink_alter(struct worker_ctx *w, const char *name, json_t *config, json_t *body,
                       json_t **reply);
int offsets_source_alter(struct worker_ctx *w, const char *name, json_t *body, json_t **reply);

#endif
