/* test_json_alloc.c — jansson on the worker's block cache: values made on one thread and freed
 * on another, texts from cd_json_dumps freed with free(), caches drained at thread exit (the
 * ASan build, which keeps malloc, checks the same code paths for leaks and misuse). */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "json_alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static json_t *make(int i)
{
    json_t *o = json_object();
    json_object_set_new(o, "patient_id", json_sprintf("patient-%04d", i % 100));
    json_object_set_new(o, "heart_rate", json_integer(60 + i % 40));
    char pad[300];
    memset(pad, 'x', sizeof(pad));
    json_object_set_new(o, "pad", json_stringn(pad, (size_t)(i % 300)));
    return o;
}

static void *make_many(void *arg)
{
    json_t **v = arg;
    for (int i = 0; i < N; i++)
        v[i] = make(i);
    return NULL;
}

static void *free_many(void *arg)
{
    json_t **v = arg;
    for (int i = 0; i < N; i++)
        json_decref(v[i]);
    return NULL;
}

static void test_values_cross_threads(void **state)
{
    (void)state;
    json_t **v = calloc(N, sizeof(*v));
    for (int round = 0; round < 3; round++) {
        pthread_t a, b;
        assert_int_equal(pthread_create(&a, NULL, make_many, v), 0);
        pthread_join(a, NULL);
        for (int i = 0; i < N; i += 997) {
            assert_int_equal(json_integer_value(json_object_get(v[i], "heart_rate")), 60 + i % 40);
            assert_int_equal(json_string_length(json_object_get(v[i], "pad")), i % 300);
        }
        assert_int_equal(pthread_create(&b, NULL, free_many, v), 0);
        pthread_join(b, NULL);
    }
    free(v);
}

static void test_dumps_is_malloced(void **state)
{
    (void)state;
    json_t *o = make(7);
    char *text = cd_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"heart_rate\":67"));
    free(text); /* must be plain malloc memory */
    json_decref(o);
}

int main(void)
{
    cd_json_alloc_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_cross_threads),
        cmocka_unit_test(test_dumps_is_malloced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
