/* job_thread.c — see job_thread.h. One mutex and one condition variable: the thread waits for
 * a job or the end, the owner for the job's end, so every change is broadcast. */
#include "job_thread.h"

#include <pthread.h>
#include <stdlib.h>

struct cd_job_thread {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int busy; /* a job is posted and not done yet */
    int quit;
    void (*run)(void *arg);
    void *arg;
};

static void *job_main(void *p)
{
    struct cd_job_thread *jt = p;
    pthread_mutex_lock(&jt->mu);
    for (;;) {
        while (!jt->busy && !jt->quit)
            pthread_cond_wait(&jt->cv, &jt->mu);
        if (jt->quit)
            break;
        pthread_mutex_unlock(&jt->mu);
        jt->run(jt->arg);
        pthread_mutex_lock(&jt->mu);
        jt->busy = 0;
        pthread_cond_broadcast(&jt->cv);
    }
    pthread_mutex_unlock(&jt->mu);
    return NULL;
}

struct cd_job_thread *cd_job_thread_start(void (*run)(void *arg), void *arg)
{
    struct cd_job_thread *jt = calloc(1, sizeof(*jt));
    if (!jt)
        return NULL;
    jt->run = run;
    jt->arg = arg;
    pthread_mutex_init(&jt->mu, NULL);
    pthread_cond_init(&jt->cv, NULL);
    if (pthread_create(&jt->thread, NULL, job_main, jt)) {
        pthread_cond_destroy(&jt->cv);
        pthread_mutex_destroy(&jt->mu);
        free(jt);
        return NULL;
    }
    return jt;
}

void cd_job_post(struct cd_job_thread *jt)
{
    pthread_mutex_lock(&jt->mu);
    jt->busy = 1;
    pthread_cond_broadcast(&jt->cv);
    pthread_mutex_unlock(&jt->mu);
}

int cd_job_busy(struct cd_job_thread *jt)
{
    pthread_mutex_lock(&jt->mu);
    int busy = jt->busy;
    pthread_mutex_unlock(&jt->mu);
    return busy;
}

void cd_job_wait(struct cd_job_thread *jt)
{
    pthread_mutex_lock(&jt->mu);
    while (jt->busy)
        pthread_cond_wait(&jt->cv, &jt->mu);
    pthread_mutex_unlock(&jt->mu);
}

void cd_job_thread_stop(struct cd_job_thread *jt)
{
    if (!jt)
        return;
    cd_job_wait(jt);
    pthread_mutex_lock(&jt->mu);
    jt->quit = 1;
    pthread_cond_broadcast(&jt->cv);
    pthread_mutex_unlock(&jt->mu);
    pthread_join(jt->thread, NULL);
    pthread_cond_destroy(&jt->cv);
    pthread_mutex_destroy(&jt->mu);
    free(jt);
}
