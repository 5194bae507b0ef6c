/* errors.h — Kafka Connect's errors.* handling for one task: tolerance, retries, error log,
 * and the dead letter queue (sink tasks). Stages and DLQ headers are Connect's. */
#ifndef CD_ERRORS_H
#define CD_ERRORS_H

#include "plugin.h"

#include <stdint.h>

struct task_ctx;

/* Connect's stage names, used in logs, traces and the __connect.errors.stage header. */
#define STAGE_KEY_CONVERTER "KEY_CONVERTER"
#define STAGE_VALUE_CONVERTER "VALUE_CONVERTER"
#define STAGE_HEADER_CONVERTER "HEADER_CONVERTER"
#define STAGE_TRANSFORMATION "TRANSFORMATION"
#define STAGE_TASK_PUT "TASK_PUT"
#define STAGE_TASK_POLL "TASK_POLL"
#define STAGE_KAFKA_PRODUCE "KAFKA_PRODUCE"
#define STAGE_KAFKA_CONSUME "KAFKA_CONSUME"

struct errh_counts {
    int64_t failed;  /* records that failed at any stage */
    int64_t retried; /* retried operations */
    int64_t skipped; /* records tolerated (errors.tolerance=all) */
    int64_t dlq;     /* records written to the dead letter queue */
};

/* The original form of a record, for the DLQ and traces (sink: as consumed from Kafka). */
struct errh_orig {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const rd_kafka_headers_t *headers;
};

struct errh;

/* Reads errors.* from the task's connector config. The DLQ producer is made on first use. */
struct errh *errh_new(struct task_ctx *t);
void errh_free(struct errh *h);

/* A record failed at stage in class (a converter or transform class name, may be NULL) with
 * message msg. Returns 0 when tolerated (the caller drops the record and counts its offset
 * as done), -1 when the task must fail: the task error is set to a trace naming the stage and
 * the record's topic/partition/offset. */
int errh_record_failed(struct errh *h, const char *stage, const char *class_name,
                       const char *msg, const struct errh_orig *orig);

/* Retry policy for retriable operations: 1 = retry after *delay_ms (exponential from 300 ms up
 * to errors.retry.delay.max.ms), 0 = errors.retry.timeout has run out since first_failure_ms
 * (a monotonic time). errors.retry.timeout=0 (the default) keeps Connect's behaviour for sink
 * puts: retry for as long as the task runs. */
int errh_should_retry(struct errh *h, int64_t first_failure_ms, int attempt, int *delay_ms);

/* Waits until every DLQ record is acknowledged; offsets of DLQ'd records may be committed
 * only after this returns 0. -1 with the task error set when the DLQ write failed. */
int errh_flush(struct errh *h, int timeout_ms);

struct errh_counts errh_counts(const struct errh *h);

/* Fills orig from a consumed message (sink side). */
void errh_orig_from_msg(struct errh_orig *o, const rd_kafka_message_t *m);

#endif
