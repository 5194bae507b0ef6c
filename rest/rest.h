/* rest.h — the Kafka Connect REST API on libmicrohttpd. */
#ifndef CD_REST_H
#define CD_REST_H

#include <stddef.h>

struct herder;
struct rest_server;

/* Starts serving on listeners ("http://:8083", "http://127.0.0.1:0", comma-separated list;
 * the first http listener is used; port 0 = ephemeral). Returns NULL with err set. */
struct rest_server *rest_start(const char *listeners, struct herder *h, char *err, size_t errlen);
int rest_port(const struct rest_server *s); /* the bound port */
void rest_stop(struct rest_server *s);

#endif
