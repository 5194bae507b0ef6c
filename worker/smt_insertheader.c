/* smt_insertheader.c — org.apache.kafka.connect.transforms.InsertHeader: adds header `header`
 * with the literal text `value.literal` to every record. */
#include "smt_util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_def ih_defs[] = {
    {"header", CFG_STRING, NULL, 1, CFG_HIGH, "The name of the header.", NULL, 0, NULL, NULL},
    {"value.literal", CFG_STRING, NULL, 1, CFG_HIGH,
     "The literal value that is to be set as the header value on all records.", NULL, 0, NULL,
     NULL},
    SMT_END_DEFS,
};

struct ih {
    char *header;
    char *literal;
};

static void ih_destroy(void *state)
{
    struct ih *h = state;
    free(h->header);
    free(h->literal);
    free(h);
}

static void *ih_create(json_t *conf, char *err, size_t errlen)
{
    if (smt_config_check(conf, ih_defs, err, errlen))
        return NULL;
    struct ih *h = calloc(1, sizeof(*h));
    h->header = strdup(cfg_get_str(conf, ih_defs, "header"));
    h->literal = strdup(cfg_get_str(conf, ih_defs, "value.literal"));
    return h;
}

/* Kafka parses the literal (Values.parseString) and the header converter writes it back as
 * text, which gives the literal itself for the values people use. */
static int ih_apply(void *state, struct cd_record *r, char *err, size_t errlen)
{
    struct ih *h = state;
    smt_header_add(r, h->header, h->literal, strlen(h->literal));
    return 1;
}

const struct transform_plugin smt_insertheader_plugin = {
    .class_name = SMT_PKG "InsertHeader",
    .config = ih_defs,
    .create = ih_create,
    .destroy = ih_destroy,
    .apply = ih_apply,
};
