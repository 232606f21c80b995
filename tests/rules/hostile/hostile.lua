check "h.loop" { every = "1m", run = function() while true do end end }
check "h.pcall_loop" { every = "1m", run = function()
  for i = 1, 1e9 do pcall(function() while true do end end) end
  return ok("escaped")
end }
check "h.xpcall_handler" { every = "1m", run = function()
  xpcall(function() while true do end end, function() while true do end end)
  return ok("escaped")
end }
check "h.xpcall_error" { every = "1m", run = function()
  local r = xpcall(function() error("x") end, function(m) return "handled" end)
  while true do end
end }
check "h.gc_before" { every = "1m", run = function()
  local mt = { __gc = function() while true do end end }
  local ok_, err = pcall(setmetatable, {}, mt)
  return ok_ and ok("gc set") or crit("refused: %s", err)
end }
check "h.gc_after" { every = "1m", run = function()
  local mt = {}
  local t = setmetatable({}, mt)
  mt.__gc = function() while true do end end
  t = nil
  local ok2, err = pcall(setmetatable, {}, mt)
  return ok2 and ok("gc set") or crit("refused: %s", err)
end }
check "h.coroutines" { every = "1m", run = function()
  while true do
    local co = coroutine.wrap(function() for i = 1, 900 do end end)
    co()
  end
end }
check "h.strmem" { every = "1m", run = function()
  local s = "x"
  while true do s = s .. s end
end }
check "h.tablemem" { every = "1m", run = function()
  local t = {}
  for i = 1, 1e9 do t[i] = i end
end }
check "h.comem" { every = "1m", run = function()
  local t = {}
  for i = 1, 1e9 do t[i] = coroutine.create(function() end) end
end }
check "h.strpoison" { every = "1m", run = function()
  local mt = getmetatable("")
  if type(mt) == "table" then mt.__index.upper = function() return "pwned" end end
  string.upper = function() return "pwned" end
  return ok("%s %s", type(mt), ("a"):upper())
end }
check "h.dump" { every = "1m", run = function()
  return ok("%s %s", tostring(string.dump), tostring(load("\27Lua")))
end }
check "h.reach" { every = "1m", run = function()
  return ok("io=%s exec=%s debug=%s package=%s require=%s dofile=%s loadfile=%s",
    tostring(io), tostring(os.execute), tostring(debug), tostring(package), tostring(require), tostring(dofile), tostring(loadfile))
end }
check "h.recursion" { every = "1m", run = function()
  local function f() return f() + 1 end
  return ok("%s", tostring(f()))
end }
check "h.cstack" { every = "1m", run = function()
  local function f(s) return (s:gsub(".", function(c) return f(c) end)) end
  return ok(f("ab"))
end }
check "h.tostring_loop" { every = "1m", run = function()
  error(setmetatable({}, { __tostring = function() while true do end end }))
end }
check "h.close" { every = "1m", run = function()
  local x <close> = setmetatable({}, { __close = function() while true do end end })
  while true do end
end }
check "h.tablemove" { every = "1m", run = function()
  table.move({}, 1, 1e12, 1, {})
end }
check "h.insertlen" { every = "1m", run = function()
  local t = setmetatable({}, { __len = function() return 2^40 end })
  table.insert(t, 1, "x")
end }
check "h.noverdict" { every = "1m", run = function() end }
check "h.yield" { every = "1m", run = function() coroutine.yield() end }
check "h.collect" { every = "1m", run = function() collectgarbage() end }
check "h.loadbin" { every = "1m", run = function() return ok("%s", select(2, pcall(load, "return 1", "x", "b"))) end }
-- busy past its 1 s timeout on few VM instructions (time goes into string.rep),
-- so the wall clock, not the 10M instruction budget, is what ends it
check "h.sleep_timeout" { every = "1m", timeout = "1s", run = function() local t = os.clock() while os.clock() - t < 100 do local _ = ("x"):rep(2e4) end end }
-- load compiles into this file's own environment, text only
check "h.load_env" { every = "1m", run = function()
  marker = "mine"
  local f = load("return marker")
  return ok("%s", tostring(f()))
end }
-- a verdict cannot be forged: the host knows its own metatable
check "h.forged" { every = "1m", run = function()
  return setmetatable({ 0, "forged" }, { __index = function() return "ok" end })
end }
-- pollutes what it can reach; the other file must not see it
polluted = "yes"
string.format = function() return "pwned" end
-- after all the kills above, this file's state still works
check "h.zz_after" { every = "1m", run = function()
  return ok("still alive %d", 7)
end }
