/* json_alloc.c — see json_alloc.h. Blocks carry a 16-byte header with their size class
 * (16-byte steps up to 256 bytes, 0 = a large block), so a block freed on another thread than
 * the one that made it simply joins that thread's cache. */
#include "json_alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 16
/* Bytes a thread may keep cached. A sink converter frees two batches of up to 20000 records
 * (about 0.7 KB of blocks each) at a time: with 8 MB, batches over ~6000 records spilled into
 * glibc, whose malloc then took a quarter of the worker's CPU sorting its bins. */
#define THREAD_BUDGET (32u << 20)

struct block_hdr {
    uint32_t cls;
    uint32_t pad[3]; /* keeps the block 16-byte aligned, as malloc's are */
};

struct block_cache {
    void *head[CLASSES];
    size_t bytes;
    int registered;
};

static __thread struct block_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_drain(void *arg)
{
    struct block_cache *c = arg;
    for (int i = 0; i < CLASSES; i++) {
        while (c->head[i]) {
            void *next = *(void **)c->head[i];
            free((struct block_hdr *)c->head[i] - 1);
            c->head[i] = next;
        }
    }
    c->bytes = 0;
    c->registered = 0;
}

static void cache_key_make(void)
{
    pthread_key_create(&cache_key, cache_drain);
}

static void *block_alloc(size_t n)
{
    size_t cls = (n + 15) >> 4;
    if (cls >= 1 && cls <= CLASSES) {
        void *p = cache.head[cls - 1];
        if (p) {
            cache.head[cls - 1] = *(void **)p;
            cache.bytes -= cls << 4;
            return p;
        }
    } else {
        cls = 0;
    }
    struct block_hdr *h = malloc((cls ? cls << 4 : n) + sizeof(*h));
    if (!h)
        return NULL;
    h->cls = (uint32_t)cls;
    return h + 1;
}

static void block_free(void *p)
{
    if (!p)
        return;
    struct block_hdr *h = (struct block_hdr *)p - 1;
    size_t cls = h->cls;
    if (!cls || cache.bytes + (cls << 4) > THREAD_BUDGET) {
        free(h);
        return;
    }
    if (!cache.registered) { /* so that the cache is freed when this thread ends */
        pthread_once(&cache_once, cache_key_make);
        if (pthread_setspecific(cache_key, &cache)) {
            free(h);
            return;
        }
        cache.registered = 1;
    }
    *(void **)p = cache.head[cls - 1];
    cache.head[cls - 1] = p;
    cache.bytes += cls << 4;
}

void cd_json_alloc_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)block_alloc;
    (void)block_free;
#else
    json_set_alloc_funcs(block_alloc, block_free);
#endif
}

char *cd_json_dumps(const json_t *json, size_t flags)
{
    char *text = json_dumps(json, flags);
    if (!text)
        return NULL;
    char *out = strdup(text);
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(text);
    return out;
}
