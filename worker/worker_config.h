/* worker_config.h — the worker's keys (Kafka Connect names) as one schema table. */
#ifndef CD_WORKER_CONFIG_H
#define CD_WORKER_CONFIG_H

#include "config.h"

extern const struct cfg_def worker_defs[];

/* Checks a loaded worker config (object of strings): type errors and missing required keys
 * are fatal (-1, err names the key and what was wrong); unknown keys and keys accepted but
 * unused (plugin.path, ...) only log a warning. Keys under producer./consumer./admin. and the
 * Kafka client keys are not "unknown". distributed selects the distributed-mode requirements
 * (group.id, the three *.storage.topic keys); standalone requires offset.storage.filename. */
int worker_config_check(json_t *conf, int distributed, char *err, size_t errlen);

/* Convenience getters that fall back to worker_defs defaults. */
const char *worker_str(json_t *conf, const char *key);
long long worker_int(json_t *conf, const char *key);
int worker_bool(json_t *conf, const char *key);

#endif
