/* job_thread.h — a thread that runs one job at a time for one owner thread, so that the owner
 * maps or encodes the next batch while the job (converting records, a database write, an
 * HTTP append) runs. The job's inputs and outputs live in the owner's own struct (the run
 * function's arg): the owner fills the inputs in before cd_job_post and reads the outputs
 * after cd_job_wait, whose lock orders those accesses, so they need no lock of their own. */
#ifndef CD_JOB_THREAD_H
#define CD_JOB_THREAD_H

struct cd_job_thread;

/* Starts the thread; it calls run(arg) once per posted job. NULL when it cannot start. */
struct cd_job_thread *cd_job_thread_start(void (*run)(void *arg), void *arg);
/* Posts a job. The one posted before must have been waited for. */
void cd_job_post(struct cd_job_thread *jt);
/* Whether the job posted is still queued or running (the owner's own state is not touched). */
int cd_job_busy(struct cd_job_thread *jt);
/* Waits until the job posted, if any, is done. */
void cd_job_wait(struct cd_job_thread *jt);
/* Waits for the job posted, if any, then ends the thread and frees jt. NULL does nothing. */
void cd_job_thread_stop(struct cd_job_thread *jt);

#endif
