/* test_job_thread.c — the one-job helper thread (worker/job_thread.c) that the sink runtime's
 * converter, the MySQL writer and the Snowflake sender run on: every posted job runs once,
 * with the inputs set before the post and outputs read after the wait; busy until it is done;
 * stop waits for a posted job. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "job_thread.h"

#include <pthread.h>
#include <unistd.h>

struct job {
    int in, out, runs;
    int gated; /* the job waits until open */
    int open;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void run(void *arg)
{
    struct job *j = arg;
    pthread_mutex_lock(&j->mu);
    while (j->gated && !j->open)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    j->out = j->in * 2;
    j->runs++;
}

static void job_init(struct job *j)
{
    *j = (struct job){0};
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
}

static void gate_open(struct job *j)
{
    pthread_mutex_lock(&j->mu);
    j->open = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void test_each_posted_job_runs_once_with_its_inputs(void **state)
{
    (void)state;
    struct job j;
    job_init(&j);
    struct cd_job_thread *jt = cd_job_thread_start(run, &j);
    assert_non_null(jt);
    for (int i = 0; i < 5000; i++) {
        j.in = i;
        cd_job_post(jt);
        cd_job_wait(jt);
        assert_int_equal(j.out, 2 * i);
        assert_int_equal(j.runs, i + 1);
    }
    cd_job_wait(jt); /* nothing posted: returns at once */
    cd_job_thread_stop(jt);
    assert_int_equal(j.runs, 5000);
}

static void test_busy_until_the_job_is_done(void **state)
{
    (void)state;
    struct job j;
    job_init(&j);
    j.gated = 1;
    struct cd_job_thread *jt = cd_job_thread_start(run, &j);
    assert_int_equal(cd_job_busy(jt), 0);
    j.in = 21;
    cd_job_post(jt);
    usleep(20000);
    assert_int_equal(cd_job_busy(jt), 1);
    assert_int_equal(j.runs, 0);
    gate_open(&j);
    cd_job_wait(jt);
    assert_int_equal(cd_job_busy(jt), 0);
    assert_int_equal(j.out, 42);
    cd_job_thread_stop(jt);
}

static void *open_later(void *arg)
{
    usleep(50000);
    gate_open(arg);
    return NULL;
}

static void test_stop_waits_for_the_posted_job(void **state)
{
    (void)state;
    struct job j;
    job_init(&j);
    j.gated = 1;
    j.in = 5;
    struct cd_job_thread *jt = cd_job_thread_start(run, &j);
    cd_job_post(jt);
    pthread_t opener;
    pthread_create(&opener, NULL, open_later, &j);
    cd_job_thread_stop(jt);
    assert_int_equal(j.runs, 1);
    assert_int_equal(j.out, 10);
    pthread_join(opener, NULL);
    cd_job_thread_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_posted_job_runs_once_with_its_inputs),
        cmocka_unit_test(test_busy_until_the_job_is_done),
        cmocka_unit_test(test_stop_waits_for_the_posted_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
