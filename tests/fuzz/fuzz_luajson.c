/* fuzz_luajson.c — libFuzzer target: JSON from outside (an http.get body
 * a rule decodes, a business file) into Lua values with json.decode's own
 * decoder, then encoded back; any input must give a value or an error,
 * never a crash, a leak or a Lua stack left unbalanced. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include "rules_lib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
decode(lua_State *L)
{
	size_t n;
	const char *s = lua_tolstring(L, 1, &n);
	return rules_json_decode(L, s, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State *L = luaL_newstate();

	if (L == NULL)
		return 0;
	lua_pushcfunction(L, decode);
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK)
		lua_pop(L, 1);
	lua_settop(L, 0);
	lua_close(L);
	return 0;
}
