/* smt_filter.c — org.apache.kafka.connect.transforms.Filter: drops every record it is applied
 * to; used with a predicate to drop some. */
#include "smt_util.h"

static const struct cfg_def filter_defs[] = {
    SMT_END_DEFS,
};

static void *filter_create(json_t *conf, char *err, size_t errlen)
{
    return (void *)filter_defs; /* stateless; any non-NULL pointer */
}

static void filter_destroy(void *state)
{
}

static int filter_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    return 0;
}

const struct transform_plugin smt_filter_plugin = {
    .class_name = SMT_PKG "Filter",
    .config = filter_defs,
    .create = filter_create,
    .destroy = filter_destroy,
    .apply = filter_apply,
};
