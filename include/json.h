/* json.h — JSON trees: parse, walk, build, print.  The only cJSON user; the
 * rest of drishti sees these opaque nodes. */
#ifndef DRISHTI_JSON_H
#define DRISHTI_JSON_H
#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_TREE (64u << 20)   /* heap one parse may hold */

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT, JSON_INVALID };

struct json;

struct json *json_parse(const char *s, size_t len, char *err, size_t errlen);
void json_free(struct json *j);

enum json_type json_type(const struct json *j);
double json_number(const struct json *j);
const char *json_string(const struct json *j);
const struct json *json_child(const struct json *j);   /* first element */
const struct json *json_next(const struct json *j);
const char *json_key(const struct json *j);            /* inside an object */
const struct json *json_get(const struct json *obj, const char *key);

struct json *json_new(enum json_type t);               /* null, bools, containers */
struct json *json_new_number(double v);
struct json *json_new_string(const char *s);
/* Adds child to an array (key NULL) or object; takes child even on error. */
int  json_add(struct json *parent, const char *key, struct json *child);
/* malloc'd text, NULL when out of memory. */
char *json_print(const struct json *j, bool pretty);

#endif
