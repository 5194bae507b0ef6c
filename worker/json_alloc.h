/* json_alloc.h — jansson's allocator for the worker process, and json_dumps that goes with it.
 *
 * A sink turns every record into a jansson tree (a dozen or more small blocks) and frees it a
 * batch later; glibc's malloc spent a quarter of the sink's CPU on that. cd_json_alloc_install
 * gives jansson a per-thread cache of small blocks (up to 8 MB a thread, drained when the
 * thread exits). Memory jansson hands out (json_dumps' text) then needs jansson's free, so the
 * worker calls cd_json_dumps, whose result is freed with free(). ASan builds keep malloc so that
 * the sanitizer still sees every block. */
#ifndef CD_JSON_ALLOC_H
#define CD_JSON_ALLOC_H

#include <jansson.h>

/* Call first thing in main, before any jansson value exists. */
void cd_json_alloc_install(void);

/* json_dumps, with the text allocated by malloc (free() it). */
char *cd_json_dumps(const json_t *json, size_t flags);

#endif
