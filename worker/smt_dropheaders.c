/* smt_dropheaders.c — org.apache.kafka.connect.transforms.DropHeaders: removes every header
 * whose name is listed in `headers`. */
#include "smt_util.h"

#include <stdlib.h>

static const struct cfg_def drop_defs[] = {
    {"headers", CFG_LIST, NULL, 1, CFG_HIGH, "The name of the headers to be removed.", NULL, 0,
     NULL, NULL},
    SMT_END_DEFS,
};

static void *drop_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, drop_defs, err, errlen))
        return NULL;
    json_t *names = smt_config_list(conf, drop_defs, "headers");
    if (!json_array_size(names)) {
        snprintf(err, errlen, "headers: Invalid value [] for configuration headers: Empty list");
        json_decref(names);
        return NULL;
    }
    return names;
}

static void drop_destroy(void *state)
{
    json_decref(state);
}

static int drop_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    size_t i;
    json_t *name;
    if (!r->headers)
        return 1;
    json_array_foreach((json_t *)state, i, name)
        rd_kafka_header_remove(r->headers, json_string_value(name));
    return 1;
}

const struct transform_plugin smt_dropheaders_plugin = {
    .class_name = SMT_PKG "DropHeaders",
    .config = drop_defs,
    .create = drop_create,
    .destroy = drop_destroy,
    .apply = drop_apply,
};
