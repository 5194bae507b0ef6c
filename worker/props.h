/* props.h — Java .properties parsing (key=value, key:value, key value; # and ! comments;
 * backslash line continuation; \t \n \r \f \uXXXX escapes), as java.util.Properties. */
#ifndef CD_PROPS_H
#define CD_PROPS_H

#include <jansson.h>
#include <stddef.h>

/* Parses text into a new object of string values (later keys win). Never fails on content. */
json_t *props_parse(const char *text, size_t len);

/* Loads a file: a .json file is read as Kafka Connect's connector JSON ({"name","config"} or a
 * flat object, values stringified); anything else as .properties. Returns a new object of
 * string values, or NULL with err set. */
json_t *props_load(const char *path, char *err, size_t errlen);

#endif
