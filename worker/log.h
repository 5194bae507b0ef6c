/* log.h — leveled logging, one logger per subsystem, levels changeable at run time
 * (GET/PUT /admin/loggers). Never pass a secret value to these functions. */
#ifndef CD_LOG_H
#define CD_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

enum log_sub {
    LOGS_ROOT = 0,   /* "root" */
    LOGS_WORKER,     /* "connectd.worker" */
    LOGS_HERDER,     /* "connectd.herder" */
    LOGS_STORE,      /* "connectd.store" */
    LOGS_TASK,       /* "connectd.task" */
    LOGS_REST,       /* "connectd.rest" */
    LOGS_KAFKA,      /* "connectd.kafka" */
    LOGS_CONNECTOR,  /* "connectd.connector" */
    LOGS__COUNT
};

/* Parses "ERROR".."TRACE" (case-insensitive; "WARNING", "FATAL"->ERROR, "ALL"->TRACE,
 * "OFF"->ERROR accepted as Log4j names). Returns -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

const char *log_sub_name(int sub);
int log_sub_find(const char *name); /* -1 when unknown */

/* A logger without an explicit level inherits root's. */
void log_set_level(int sub, int level);
int log_get_level(int sub);
int log_has_explicit_level(int sub);
int64_t log_last_modified(int sub); /* ms since epoch of last set, 0 = never */
int log_enabled(int sub, int level);

/* Writes "2026-11-24T06:31:54.123Z LEVEL [logger] message\n" to stderr. */
void log_msg(int sub, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) log_msg(sub, LOG_ERROR, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(sub, LOG_WARN, __VA_ARGS__)
#define log_info(sub, ...) log_msg(sub, LOG_INFO, __VA_ARGS__)
#define log_debug(sub, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(sub, LOG_DEBUG))                                                           \
            log_msg(sub, LOG_DEBUG, __VA_ARGS__);                                                  \
    } while (0)

#endif
