-- weekly.lua — the playbook's Monday review as a report, every figure from
-- the history drishti keeps and from probes run as the report is built: no
-- placeholder.  Each figure with a target is marked met or missed, and every
-- miss becomes an action item at the end.
--
-- Sections: availability and performance (uptime, response time avg and p95,
-- failed health checks = share of /health runs that failed, a chart per day); users
-- (from business.lua's metrics); resources (disk, memory, load); cost (infra
-- and third-party, per user, share of revenue); security (failed logins in
-- the auth log, TLS certificate expiry, incidents); backups (days with a
-- good backup, the size trend, the newest dump's integrity, the last restore
-- test).
--
-- [vars] (optional; the playbook's values are the defaults):
--   weekly_cron        0 9 * * 1          Monday 09:00, local time
--   uptime_target      0.999
--   latency_max        2.0                seconds
--   error_rate_max     0.01
--   disk_warn          80                 percent
--   cost_share_max     0.20               infra + tools as a share of revenue
--   auth_log           /var/log/auth.log
--   failed_logins_max  50                 per week
--   tls_min_days       14
--   api_url, site_url, backup_glob        as in daily.lua
--   last_restore_test  2026-11-01         the date of the last full restore test
--   restore_every      31                 days between restore tests

var "weekly_cron" { type = "string", default = "0 9 * * 1", doc = "when the weekly review goes out" }
var "api_url" { type = "url", doc = "the API's base URL" }
var "api_health_url" { type = "url", doc = "the full health URL" }
var "site_url" { type = "url", doc = "the website" }
var "latency_max" { type = "duration", default = "2s", doc = "the slowest acceptable /health answer" }
var "uptime_target" { type = "number", default = 0.999, doc = "the uptime the reports aim for (a share)" }
var "error_rate_max" { type = "number", default = 0.01, doc = "the error rate allowed (a share)" }
var "access_log" { type = "path", doc = "the web server's access log (common or combined format): the error rate is its share of 5xx" }
var "disk_warn" { type = "percent", default = 80, doc = "disk used that warns" }
var "cost_share_max" { type = "number", default = 0.20, doc = "costs as a share of revenue that is too much" }
var "auth_log" { type = "path", doc = "the auth log failed logins are counted in (default /var/log/auth.log)" }
var "failed_logins_max" { type = "number", default = 50, doc = "failed logins a week that call for action" }
var "journalctl" { type = "string", doc = "journalctl, read where there is no auth log (default /usr/bin/journalctl; allow it in [sandbox] exec)" }
var "tls_min_days" { type = "number", default = 14, doc = "days a TLS certificate must have left" }
var "backup_glob" { type = "glob", doc = "the database dumps" }
var "last_restore_test" { type = "string", doc = "the date of the last restore test, YYYY-MM-DD" }
var "restore_every" { type = "number", default = 31, doc = "days between restore tests" }

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local DAY = 86400

-- "2026-11-01" -> unix time of that local midnight, or nil
local function date_of(s)
  if not s then return nil end
  local y, m, d = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if not y then error(("a date must be YYYY-MM-DD, not %q"):format(s)) end
  return os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 0 })
end

local function host_of(url)
  return url and url:match("^https://([^/:]+)")
end

-- one value per day for the last n days, oldest first, as chart points
local function per_day(fn, name, n, extra)
  local pts = {}
  for i = n - 1, 0, -1 do
    local v
    if extra then v = fn(name, extra, "1d", { ago = i * DAY }) else v = fn(name, "1d", { ago = i * DAY }) end
    pts[#pts + 1] = { now() - i * DAY, v }
  end
  return pts
end

-- how much of a window the history covers: "since 2026-12-01, 1 day of
-- data" when less than all of it (a fresh install), nil when all
local function coverage(check, ndays)
  local first, days = nil, 0
  for i = ndays - 1, 0, -1 do
    local n = (history.count(check, "ok", "1d", { ago = i * 86400 }) or 0) +
      (history.count(check, "fail", "1d", { ago = i * 86400 }) or 0)
    if n > 0 then
      days = days + 1
      first = first or i
    end
  end
  if days >= ndays or not first then return nil end
  return ("since %s, %d day%s of data: figures are judged on what exists"):format(
    os.date("!%Y-%m-%d", math.floor(now() - first * 86400)), days, days == 1 and "" or "s")
end

local function error_rate(check, window)
  local bad = history.count(check, "fail", window)
  local good = history.count(check, "ok", window)
  if not bad or not good or bad + good == 0 then return nil end
  return bad / (bad + good)
end

-- the playbook's error rate: the share of 5xx among the web server's
-- requests (access_log, common or combined format); without one, what the
-- health checks saw, called what it is
local function error_rate_item(item, r, window, max, action_5xx, action_health)
  if vars.access_log then
    local bad, err = log.count(vars.access_log, '" 5[0-9][0-9] ', { since = window })
    local all = bad and log.count(vars.access_log, '" [1-5][0-9][0-9] ', { since = window })
    if all and all > 0 then
      item("Error rate (5xx share of requests)", bad / all, { max = max, format = "pct" }, action_5xx)
    else
      r:item("Error rate (5xx share of requests)", bad and "no requests in the access log" or ("not read: " .. tostring(err)))
    end
  else
    item("Failed health checks", error_rate("daily.api", window), { max = max, format = "pct" }, action_health)
  end
end

report "weekly" {
  cron = vars.weekly_cron or "0 9 * * 1",
  build = function(r)
    local actions = {}
    -- an item whose miss is an action item
    local function item(label, value, opts, action)
      local met = r:item(label, value, opts)
      if met == false then actions[#actions + 1] = action end
    end
    local lat = num("latency_max", 2.0)
    local api = vars.api_url or vars.api_health_url

    r:section("Availability and performance (7 days)")
    if api then
      local cov = coverage("daily.api", 7)
      if cov then r:note("%s", cov) end
      item("Uptime", history.uptime("daily.api", "7d"), { target = num("uptime_target", 0.999), format = "pct" },
        "Uptime below target: go through this week's incidents and fix their causes")
      item("Average response", history.avg("api_response_time", "7d"), { max = lat, format = "ms" },
        "Average response too slow: profile the slowest endpoints")
      item("p95 response", history.percentile("api_response_time", 95, "7d"), { max = lat, format = "ms" },
        "p95 response too slow: look at scaling.lua's advice")
      error_rate_item(item, r, "7d", num("error_rate_max", 0.01),
        "Error rate above target: read the app log's errors behind the 5xx",
        "Health checks failed more than the target: go through this week's incidents")
      r:chart("Uptime per day", per_day(history.uptime, "daily.api", 7), { format = "pct", target = num("uptime_target", 0.999) })
      r:chart("Average response per day", per_day(history.avg, "api_response_time", 7), { format = "ms", target = lat })
    else
      r:item("Uptime", "not checked: set [vars] api_url")
    end
    if vars.site_url then
      -- daily.website depends on daily.api when both are one server: an
      -- outage of it is the API's, and its action item is said once
      local function origin(url)
        local scheme, host = (url or ""):lower():match("^(%a+)://([^/?#]+)")
        if not scheme then return nil end
        host = host:gsub("^.*@", "")
        if not host:match(":%d+$") then host = host .. (scheme == "https" and ":443" or ":80") end
        return scheme .. "://" .. host
      end
      local shared = api and origin(api) ~= nil and origin(api) == origin(vars.site_url)
      item("Website uptime", history.uptime("daily.website", "7d"), { target = num("uptime_target", 0.999), format = "pct" },
        not shared and "Website uptime below target" or nil)
    end

    r:section("Users")
    local users = history.last("users")
    local users_before = history.avg("users", "1d", { ago = "7d" })
    if users then
      r:item("Users", users)
      r:item("New users this week", users_before and (users - users_before) or nil)
      r:item("Active users", (history.last("active_users")))
    else
      r:item("Users", "no figures: see business.lua")
    end

    r:section("Resources")
    local disk = history.last("disk_used_pct")
    item("Disk used", disk and disk / 100, { max = num("disk_warn", 80) / 100, format = "pct" },
      "Disk nearly full: grow the volume or prune old data")
    local disk_before = history.avg("disk_used_pct", "1d", { ago = "7d" })
    if disk and disk_before then
      r:item("Disk used, change this week", (disk - disk_before) / 100, { format = "pct" })
    end
    r:item("Memory used (avg)", (history.avg("memory_used_pct", "7d") or 0 / 0) / 100, { format = "pct" })
    r:item("Load per core (avg)", history.avg("load5_per_core", "7d"))

    r:section("Cost")
    local infra, tools, revenue = history.last("infra_cost"), history.last("tool_cost"), history.last("revenue")
    if infra or tools then
      local total = (infra or 0) + (tools or 0)
      r:item("Infrastructure", infra, { format = "money" })
      r:item("Third-party tools", tools, { format = "money" })
      r:item("Cost per user", users and users > 0 and total / users or nil, { format = "money" })
      item("Cost as share of revenue", revenue and revenue > 0 and total / revenue or nil,
        { max = num("cost_share_max", 0.20), format = "pct" },
        "Cost above 20 % of revenue: drop a tool tier (see tiers.lua) or cut infrastructure")
    else
      r:item("Cost", "no figures: see business.lua")
    end

    r:section("Security")
    -- failed logins: from the auth log where there is one; Debian 12 logs
    -- to the journal instead, read with journalctl when [sandbox] exec
    -- allows it; else the report says how to get the figure
    local pattern = "Failed password|authentication failure|Invalid user"
    local auth_log = vars.auth_log or "/var/log/auth.log"
    local failed, err, at_least = nil, nil, false
    if vars.auth_log or fs.stat(auth_log) then
      failed, err = log.count(auth_log, pattern, { since = "7d" })
    else
      local cmd = vars.journalctl or "/usr/bin/journalctl"
      local okc, res = pcall(exec, cmd, "-q", "--no-pager", "-S", "-7d", "-g", pattern, "-o", "cat",
        { timeout = "20s" })
      if okc and res.code == 0 or okc and res.code == 1 and res.stdout == "" then
        failed = 0
        for _ in res.stdout:gmatch("[^\n]+") do failed = failed + 1 end
        at_least = res.truncated
      elseif okc then
        err = ("%s exited %s: %s"):format(cmd, tostring(res.code), res.error or res.stdout:sub(1, 120))
      else
        err = "no " .. auth_log .. " (logins go to the journal): allow " .. cmd .. " in [sandbox] exec"
      end
    end
    if failed then
      item(at_least and "Failed logins (at least)" or "Failed logins", failed,
        { max = num("failed_logins_max", 50) },
        "Many failed logins: check fail2ban and that password logins are off")
    else
      r:item("Failed logins", "not read: " .. tostring(err))
    end
    for _, url in ipairs({ vars.api_url or false, vars.site_url or false }) do
      local host = url and host_of(url)
      if host then
        local c = tls.cert(host, 443, { timeout = "10s" })
        item("TLS certificate " .. host .. " (days left)", c.days_left, { target = num("tls_min_days", 14) },
          "Renew the TLS certificate of " .. host .. (c.error and (" (" .. c.error .. ")") or ""))
      end
    end
    local inc = history.incidents("7d") or {}
    r:item("Incidents this week", #inc)

    r:section("Backups")
    if vars.backup_glob or fs.stat("/backups/database") then
      -- judged on the days there is history for: a fresh install has
      -- one day, not six bad ones
      local good_days, days = 0, 0
      for i = 0, 6 do
        local ok_n = history.count("daily.backup", "ok", "1d", { ago = i * DAY }) or 0
        local bad_n = history.count("daily.backup", "fail", "1d", { ago = i * DAY }) or 0
        if ok_n + bad_n > 0 then days = days + 1 end
        if ok_n > 0 then good_days = good_days + 1 end
      end
      if days == 0 then
        r:item("Days with a good backup", nil, { target = 7 })
      else
        item(days < 7 and ("Days with a good backup (%d day%s of history)"):format(days, days == 1 and "" or "s")
          or "Days with a good backup", good_days, { target = days },
          "A day went without a good backup: read daily.backup's alerts")
      end
      local b = fs.newest(vars.backup_glob or "/backups/database/*.sql.gz")
      if b then
        local whole, why = fs.gzip_ok(b.path)
        item("Newest dump whole (gzip)", whole, { met = whole }, "The newest backup is corrupt (" .. tostring(why) .. "): run a dump by hand")
        r:item("Newest dump size", b.size, { format = "bytes" })
        local before = history.avg("backup_size", "1d", { ago = "7d" })
        if before and before > 0 then
          r:item("Dump size change this week", (b.size - before) / before, { format = "pct" })
        end
      else
        item("Newest dump", nil, { met = false }, "No backup file found: check the backup job")
      end
      r:chart("Dump size per day", per_day(history.avg, "backup_size", 7), { format = "bytes" })
    else
      r:item("Backups", "not checked: set [vars] backup_glob")
    end
    local last = date_of(vars.last_restore_test)
    local every = num("restore_every", 31)
    if last then
      local age = (now() - last) / DAY
      item("Days since the last restore test", math.floor(age), { max = every },
        "A restore test is due: restore last night's dump into a scratch database")
      r:note("Next restore test due %s", os.date("%Y-%m-%d", last + every * DAY))
    else
      item("Last restore test", nil, { met = false },
        "No restore test on record: do one, then set [vars] last_restore_test")
    end

    r:section("Action items")
    if #actions == 0 then r:note("None: every target met.") end
    for _, a in ipairs(actions) do r:note("%s", a) end
  end,
}
