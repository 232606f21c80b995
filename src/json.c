/* json.c — JSON through cJSON, the only module that includes it.
 *
 * cJSON allocates with malloc, outside any rule's memory cap, so a rule could
 * make the agent build a huge tree from a modest string ("[0,0,0,...]" costs
 * about 60 bytes of heap per byte of text).  Our hooks count what cJSON holds
 * and refuse past JSON_MAX_TREE: the parse fails cleanly instead. */
#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "utf8.h"

static size_t held;                 /* bytes cJSON holds now */

static void *
j_malloc(size_t n)
{
	if (n > JSON_MAX_TREE || held + n > JSON_MAX_TREE)
		return NULL;
	void *p = malloc(n);
	if (p != NULL)
		held += malloc_usable_size(p);
	return p;
}

static void
j_free(void *p)
{
	if (p != NULL)
		held -= malloc_usable_size(p);
	free(p);
}

static void
hooks(void)
{
	static int done;
	if (!done) {
		cJSON_Hooks h = { j_malloc, j_free };
		cJSON_InitHooks(&h);
		done = 1;
	}
}

struct json *
json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	cJSON *j;

	hooks();
	j = cJSON_ParseWithLength(s, len);
	if (j == NULL) {
		const char *at = cJSON_GetErrorPtr();
		if (at != NULL && at >= s && at <= s + len)
			snprintf(err, errlen, "invalid JSON at byte %zu", (size_t)(at - s));
		else
			snprintf(err, errlen, "invalid JSON or too large");
		return NULL;
	}
	return (struct json *)j;
}

void
json_free(struct json *j)
{
	cJSON_Delete((cJSON *)j);
}

enum json_type
json_type(const struct json *j)
{
	const cJSON *c = (const cJSON *)j;

	switch (c->type & 0xff) {
	case cJSON_NULL: return JSON_NULL;
	case cJSON_False: return JSON_FALSE;
	case cJSON_True: return JSON_TRUE;
	case cJSON_Number: return JSON_NUMBER;
	case cJSON_String: return JSON_STRING;
	case cJSON_Array: return JSON_ARRAY;
	case cJSON_Object: return JSON_OBJECT;
	default: return JSON_INVALID;
	}
}

double
json_number(const struct json *j)
{
	return ((const cJSON *)j)->valuedouble;
}

const char *
json_string(const struct json *j)
{
	return ((const cJSON *)j)->valuestring;
}

const struct json *
json_child(const struct json *j)
{
	return (const struct json *)((const cJSON *)j)->child;
}

const struct json *
json_next(const struct json *j)
{
	return (const struct json *)((const cJSON *)j)->next;
}

const char *
json_key(const struct json *j)
{
	return ((const cJSON *)j)->string;
}

const struct json *
json_get(const struct json *obj, const char *key)
{
	return (const struct json *)cJSON_GetObjectItemCaseSensitive((const cJSON *)obj, key);
}

struct json *
json_new(enum json_type t)
{
	hooks();
	switch (t) {
	case JSON_NULL: return (struct json *)cJSON_CreateNull();
	case JSON_FALSE: return (struct json *)cJSON_CreateFalse();
	case JSON_TRUE: return (struct json *)cJSON_CreateTrue();
	case JSON_ARRAY: return (struct json *)cJSON_CreateArray();
	case JSON_OBJECT: return (struct json *)cJSON_CreateObject();
	default: return NULL;
	}
}

struct json *
json_new_number(double v)
{
	hooks();
	return (struct json *)cJSON_CreateNumber(v);
}

struct json *
json_new_string(const char *s)
{
	hooks();
	size_t len = strlen(s);
	if (utf8_valid(s, len))
		return (struct json *)cJSON_CreateString(s);
	/* a rule's or a log's bytes: valid UTF-8 before they reach a receiver */
	size_t cap = len * 3 + 1;
	char *t = malloc(cap);
	if (t == NULL)
		return NULL;
	utf8_clean(t, cap, s, len);
	cJSON *j = cJSON_CreateString(t);
	free(t);
	return (struct json *)j;
}

int
json_add(struct json *parent, const char *key, struct json *child)
{
	cJSON *p = (cJSON *)parent, *c = (cJSON *)child;

	if (p == NULL || c == NULL) {
		cJSON_Delete(c);
		return -1;
	}
	char kb[256];
	if (key != NULL && !utf8_valid(key, strlen(key))) {
		utf8_clean(kb, sizeof kb, key, strlen(key));
		key = kb;
	}
	if (key == NULL ? !cJSON_AddItemToArray(p, c) :
	    !cJSON_AddItemToObject(p, key, c)) {
		cJSON_Delete(c);
		return -1;
	}
	return 0;
}

char *
json_print(const struct json *j, bool pretty)
{
	char *s = pretty ? cJSON_Print((const cJSON *)j) :
	    cJSON_PrintUnformatted((const cJSON *)j);
	char *copy;

	if (s == NULL)
		return NULL;
	/* hand back plain malloc memory, freed with free() */
	copy = strdup(s);
	j_free(s);
	return copy;
}
