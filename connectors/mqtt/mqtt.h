/* mqtt.h — the pure parts of the MQTT source, shared with its unit tests. */
#ifndef CD_MQTT_H
#define CD_MQTT_H

#include <stddef.h>

struct mqtt_uri {
    char host[256];
    int port;
    int tls; /* ssl:// or mqtts:// */
};

/* Parses tcp://host:port, ssl://host:port (also mqtt://, mqtts://; the port defaults to 1883
 * or 8883). Returns 0, or -1 with a message in err. */
int mqtt_uri_parse(const char *s, struct mqtt_uri *u, char *err, size_t errlen);

/* The subscription filter a task uses: the filter itself, or with more than one task an MQTT
 * shared subscription "$share/<group>/<filter>" so the broker spreads messages over the tasks.
 * Writes into out; returns 0, or -1 when it does not fit. */
int mqtt_task_filter(const char *filter, const char *group, int ntasks, char *out, size_t outlen);

#endif
