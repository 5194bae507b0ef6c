/* log.c — see log.h */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static const char *sub_names[LOGS__COUNT] = {
    "root",          "connectd.worker", "connectd.herder", "connectd.store",
    "connectd.task", "connectd.rest",   "connectd.kafka",  "connectd.connector",
};
static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

/* -1 = inherit root. Plain ints: a torn read of a level is harmless. */
static volatile int levels[LOGS__COUNT] = {LOG_INFO, -1, -1, -1, -1, -1, -1, -1};
static volatile int64_t modified[LOGS__COUNT];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

int log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= LOG_TRACE; i++)
        if (!strcasecmp(s, level_names[i]))
            return i;
    if (!strcasecmp(s, "WARNING"))
        return LOG_WARN;
    if (!strcasecmp(s, "FATAL") || !strcasecmp(s, "OFF"))
        return LOG_ERROR;
    if (!strcasecmp(s, "ALL"))
        return LOG_TRACE;
    return -1;
}

const char *log_level_name(int level)
{
    return level >= 0 && level <= LOG_TRACE ? level_names[level] : "INFO";
}

const char *log_sub_name(int sub)
{
    return sub >= 0 && sub < LOGS__COUNT ? sub_names[sub] : "root";
}

int log_sub_find(const char *name)
{
    for (int i = 0; i < LOGS__COUNT; i++)
        if (!strcmp(name, sub_names[i]))
            return i;
    return -1;
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void log_set_level(int sub, int level)
{
    if (sub < 0 || sub >= LOGS__COUNT)
        return;
    levels[sub] = level;
    modified[sub] = now_ms();
}

int log_get_level(int sub)
{
    int l = (sub > 0 && sub < LOGS__COUNT) ? levels[sub] : -1;
    return l >= 0 ? l : levels[LOGS_ROOT];
}

int log_has_explicit_level(int sub)
{
    return sub == LOGS_ROOT || (sub > 0 && sub < LOGS__COUNT && levels[sub] >= 0);
}

int64_t log_last_modified(int sub)
{
    return sub >= 0 && sub < LOGS__COUNT ? modified[sub] : 0;
}

int log_enabled(int sub, int level)
{
    return level <= log_get_level(sub);
}

void log_msg(int sub, int level, const char *fmt, ...)
{
    if (!log_enabled(sub, level))
        return;
    char msg[4096], ts[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&out_lock);
    fprintf(stderr, "%s.%03dZ %-5s [%s] %s\n", ts, (int)(tv.tv_usec / 1000),
            log_level_name(level), log_sub_name(sub), msg);
    pthread_mutex_unlock(&out_lock);
}
