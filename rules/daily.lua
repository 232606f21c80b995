-- daily.lua — the playbook's daily check, run all day instead of once by hand.
--
--   daily.api          the API's /health answers 200            (crit otherwise)
--   daily.website      the website answers 200                  (crit otherwise)
--   daily.api_latency  /health answers within latency_max (2 s) (warn: "slow")
--   daily.log_errors   fewer than log_errors_max (5) ERROR|FATAL lines in the
--                      last 100 lines of the app log            (warn: "high")
--   daily.backup       a *.sql.gz newer than backup_max_age (1d) (crit: "overdue");
--                      beyond the playbook: it must be a whole gzip file and not
--                      less than half the size of the dump before it (a dump
--                      that silently produced nothing is the classic failure)
--   disk usage of /    is host.disk in host.lua (warn past disk_warn, 80 %)
--   report "daily"     every morning: each check's verdict and
--                      "All systems operational" or "Some issues detected"
--
-- [vars] (all optional; a check whose input is neither configured nor present
-- on this host is not declared, and the daily report says so):
--   api_url          https://api.example.com      (health: api_url .. "/health")
--   api_health_url   the full health URL, if it is not api_url .. "/health"
--   site_url         https://www.example.com
--   latency_max      2.0        seconds
--   app_log          /var/log/app.log
--   log_pattern      ERROR|FATAL   (POSIX extended regex)
--   log_lines        100
--   log_errors_max   5
--   backup_glob      /backups/database/*.sql.gz
--   backup_max_age   1d
--   daily_cron       0 8 * * *
--   api_every, site_every, latency_every, log_every, backup_every
--                    how often each check runs (1m each: a log tail count
--                    and a stat of the newest dump cost microseconds)
-- daily.api and daily.website are public: [output] status_page shows them.
-- Dependencies: daily.api_latency depends on daily.api, and so does
-- daily.website when the site is served from the API's host and port: when
-- the app is down, one page (daily.api) says so, not three.
-- fs.* and log.* read only under [sandbox] read_paths: add the log's and the
-- backups' directories there.

-- what this file reads from [vars], typed (drishti help vars lists them)
var "api_url" { type = "url", doc = "the API's base URL; its health is api_url/health" }
var "api_health_url" { type = "url", doc = "the full health URL, if not api_url/health" }
var "site_url" { type = "url", doc = "the website" }
var "latency_max" { type = "duration", default = "2s", doc = "the slowest acceptable /health answer" }
var "app_log" { type = "path", doc = "the app log (default /var/log/app.log when it exists)" }
var "log_pattern" { type = "string", default = "ERROR|FATAL", doc = "what an error line matches (POSIX ERE)" }
var "log_lines" { type = "number", default = 100, doc = "how many last log lines are counted" }
var "log_errors_max" { type = "number", default = 5, doc = "error lines among them that warn" }
var "backup_glob" { type = "glob", doc = "the database dumps (default /backups/database/*.sql.gz when it exists)" }
var "backup_max_age" { type = "duration", default = "1d", doc = "how old the newest dump may be" }
var "daily_cron" { type = "string", default = "0 8 * * *", doc = "when the daily report goes out" }
var "api_every" { type = "duration", default = "1m", doc = "how often daily.api runs" }
var "site_every" { type = "duration", default = "1m", doc = "how often daily.website runs" }
var "latency_every" { type = "duration", default = "1m", doc = "how often daily.api_latency runs" }
var "log_every" { type = "duration", default = "1m", doc = "how often daily.log_errors runs" }
var "backup_every" { type = "duration", default = "1m", doc = "how often daily.backup runs" }

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local function parent(path) return (path:match("^(.*)/[^/]*$")) end
local function every(name, default) return vars[name .. "_every"] or default end
-- a path the config names but [sandbox] read_paths does not cover is a
-- mistake in the config, not an outage of what it points at
local function config_error(err)
  local path = err and err:match("^(.-): outside read_paths$")
  return path and ("config: %s is not under [sandbox] read_paths"):format(path) or nil
end
-- scheme://host:port, the port made explicit, so two URLs of one server match
local function origin(url)
  local scheme, host = url:lower():match("^(%a+)://([^/?#]+)")
  if not scheme then return nil end
  host = host:gsub("^.*@", "")
  if not host:match(":%d+$") then host = host .. (scheme == "https" and ":443" or ":80") end
  return scheme .. "://" .. host
end

local health_url = vars.api_health_url or (vars.api_url and vars.api_url:gsub("/+$", "") .. "/health")
local app_log = vars.app_log or "/var/log/app.log"
local backup_glob = vars.backup_glob or "/backups/database/*.sql.gz"
-- the playbook's layout is used when it is there; anything else is asked for
local have_log = vars.app_log ~= nil or fs.stat(app_log) ~= nil
local have_backups = vars.backup_glob ~= nil or fs.stat(parent(backup_glob)) ~= nil

-- what the daily report covers, in the playbook's order
local covered = {}
local function cover(name, label, why_missing, present)
  covered[#covered + 1] = { name = name, label = label, missing = not present and why_missing }
end
cover("daily.api", "API /health", "set [vars] api_url", health_url ~= nil)
cover("daily.website", "Website", "set [vars] site_url", vars.site_url ~= nil)
cover("daily.api_latency", "API response time", "set [vars] api_url", health_url ~= nil)
cover("daily.log_errors", "Errors in the app log", "set [vars] app_log", have_log)
cover("daily.backup", "Database backup", "set [vars] backup_glob", have_backups)
cover("host.disk", "Disk space", nil, true)

local function up_check(name, url, what, every_var, depends)
  check(name) {
    every = every(every_var, "1m"),
    after = 2,
    depends = depends,
    public = what == "API" and "API" or "Website",   -- on [output] status_page
    description = what .. " answers HTTP 200 (" .. url .. ")",
    run = function()
      local r = http.get(url, { timeout = "10s", follow = true })
      if r.status == 0 then return crit("%s unreachable: %s", what, r.error) end
      if r.status ~= 200 then return crit("%s unhealthy (HTTP %d)", what, r.status) end
      return ok("%s healthy (HTTP 200 in %.0f ms)", what, r.time * 1000)
    end,
  }
end

if health_url then
  up_check("daily.api", health_url, "API", "api")
  check "daily.api_latency" {
    every = every("latency", "1m"),
    after = 3,
    depends = "daily.api",
    description = "the API's /health answers within latency_max seconds",
    run = function()
      local max = num("latency_max", 2.0)
      local r = http.get(health_url, { timeout = "15s" })
      if r.status == 0 then return unknown("no answer from %s: %s (see daily.api)", health_url, r.error) end
      metric("api_response_time", r.time, "s")
      if r.time >= max then return warn("API slow: %.2f s (target < %.1f s)", r.time, max) end
      return ok("API answers in %.0f ms", r.time * 1000)
    end,
  }
end

if vars.site_url then
  local same = health_url and origin(health_url) ~= nil and origin(health_url) == origin(vars.site_url)
  up_check("daily.website", vars.site_url, "website", "site", same and "daily.api" or nil)
end

if have_log then
  check "daily.log_errors" {
    every = every("log", "1m"),
    description = "ERROR|FATAL lines among the last lines of the app log",
    run = function()
      local pattern = vars.log_pattern or "ERROR|FATAL"
      local lines = math.floor(num("log_lines", 100))
      local n, err = log.count(app_log, pattern, { last = lines })
      if not n then return unknown("%s", config_error(err) or err) end
      metric("app_log_errors", n)
      local max = num("log_errors_max", 5)
      if n >= max then return warn("error rate high: %d of the last %d lines match %s", n, lines, pattern) end
      return ok("error rate normal: %d of the last %d lines", n, lines)
    end,
  }
end

if have_backups then
  check "daily.backup" {
    every = every("backup", "1m"),
    description = "the newest database dump is recent, whole, and not shrunk",
    run = function()
      local max_age = vars.backup_max_age
      local b, err = fs.newest(backup_glob)
      if not b and config_error(err) then return unknown("%s", config_error(err)) end
      if not b then return crit("backup overdue: no file matches %s (%s)", backup_glob, err or "none") end
      metric("backup_size", b.size, "B")
      metric("backup_age", b.age, "s")
      local hours = b.age / 3600
      if b.age > max_age then
        return crit("backup overdue: newest %s is %.0f h old", b.path, hours)
      end
      local whole, why = fs.gzip_ok(b.path)
      if not whole then return crit("backup %s is corrupt: %s", b.path, why) end
      if b.prev and b.size < b.prev.size / 2 then
        return crit("backup %s shrank to %d bytes from %d (less than half the one before)",
          b.path, b.size, b.prev.size)
      end
      return ok("backup recent: %s, %.1f h old, %d bytes, gzip whole", b.path, hours, b.size)
    end,
  }
end

report "daily" {
  cron = vars.daily_cron or "0 8 * * *",
  build = function(r)
    r:section("Daily check")
    local all_ok, unchecked = true, 0
    for _, c in ipairs(covered) do
      if c.missing then
        unchecked = unchecked + 1
        r:item(c.label, "not checked: " .. c.missing)
      else
        local st = history.status(c.name)
        local good = r:item(c.label, st and st:upper() or "no data", { met = st == "ok" })
        all_ok = all_ok and good
      end
    end
    local summary = all_ok and "All systems operational" or "Some issues detected"
    if unchecked > 0 then
      summary = summary .. (" (%d of the playbook's checks not set up)"):format(unchecked)
    end
    r:note("%s", summary)
    r:section("Last 24 hours")
    for _, c in ipairs(covered) do
      if not c.missing then
        r:item(c.label .. " uptime", history.uptime(c.name, "24h"), { format = "pct", target = 0.999 })
      end
    end
    if health_url then
      r:item("API response (avg)", history.avg("api_response_time", "24h"), { format = "ms", max = num("latency_max", 2.0) })
    end
  end,
}
