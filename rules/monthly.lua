-- monthly.lua — the playbook's monthly planning (the 1st, 09:00) as a report:
-- the month's uptime, response time and failed health checks against their targets,
-- user and revenue growth month over month, the next scaling milestone,
-- total cost, cost per user and cost as a share of revenue, the tool tier
-- that fits the MRR, every incident of the month with its time to resolve
-- and the month's mean against the 5-minute target, and the backup SOP's
-- restore test and disaster-recovery drill.  Misses become next month's plan.
--
-- [vars] (optional; the playbook's values are the defaults):
--   monthly_cron       0 9 1 * *
--   uptime_target      0.999
--   latency_max        2.0        seconds
--   error_rate_max     0.01
--   cost_share_max     0.20
--   resolve_target     300        seconds from alert to recovery
--   last_restore_test  YYYY-MM-DD        restore_every  31   days
--   last_dr_drill      YYYY-MM-DD        dr_every       92   days

var "monthly_cron" { type = "string", default = "0 9 1 * *", doc = "when the monthly planning goes out" }
var "api_url" { type = "url", doc = "the API's base URL" }
var "api_health_url" { type = "url", doc = "the full health URL" }
var "latency_max" { type = "duration", default = "2s", doc = "the slowest acceptable /health answer" }
var "uptime_target" { type = "number", default = 0.999, doc = "the uptime the reports aim for (a share)" }
var "error_rate_max" { type = "number", default = 0.01, doc = "the error rate allowed (a share)" }
var "access_log" { type = "path", doc = "the web server's access log (common or combined format): the error rate is its share of 5xx" }
var "cost_share_max" { type = "number", default = 0.20, doc = "costs as a share of revenue that is too much" }
var "resolve_target" { type = "duration", default = "5m", doc = "how fast an incident should be resolved" }
var "last_restore_test" { type = "string", doc = "the date of the last restore test, YYYY-MM-DD" }
var "restore_every" { type = "number", default = 31, doc = "days between restore tests" }
var "last_dr_drill" { type = "string", doc = "the date of the last disaster-recovery drill, YYYY-MM-DD" }
var "dr_every" { type = "number", default = 92, doc = "days between disaster-recovery drills" }

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local DAY = 86400
local MONTH = 30 * DAY

local function date_of(s)
  if not s then return nil end
  local y, m, d = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)$")
  if not y then error(("a date must be YYYY-MM-DD, not %q"):format(s)) end
  return os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 0 })
end

-- the playbook's revenue milestones and what each asks for
local milestones = {
  { mrr = 1000, step = "move off free tiers: paid uptime monitoring, S3 backups, a CDN, Sentry Pro" },
  { mrr = 5000, step = "add session replay, APM and security tooling; a second server or a managed database" },
  { mrr = 10000, step = "enterprise monitoring, compliance and 24/7 support; redundancy across two regions" },
  { mrr = 25000, step = "a first hire for operations; formal on-call and incident reviews" },
}
local tier_names = { "$0-1K: free tools only", "$1K-5K", "$5K-10K", "$10K+" }

local function growth(now_v, before)
  if not now_v or not before or before == 0 then return nil end
  return (now_v - before) / before
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

report "monthly" {
  cron = vars.monthly_cron or "0 9 1 * *",
  build = function(r)
    local plan = {}
    local function item(label, value, opts, action)
      if r:item(label, value, opts) == false then plan[#plan + 1] = action end
    end
    local lat = num("latency_max", 2.0)

    r:section("Targets (30 days)")
    if vars.api_url or vars.api_health_url then
      local cov = coverage("daily.api", 30)
      if cov then r:note("%s", cov) end
      item("Uptime", history.uptime("daily.api", "30d"), { target = num("uptime_target", 0.999), format = "pct" },
        "Uptime missed 99.9 %: remove the causes of this month's incidents")
      item("Average response", history.avg("api_response_time", "30d"), { max = lat, format = "ms" },
        "Response time missed 2 s: profile, cache, or scale (see scaling.lua)")
      error_rate_item(item, r, "30d", num("error_rate_max", 0.01),
        "Error rate missed 1 %: fix the top errors behind the 5xx in the app log",
        "Health checks failed more than 1 % of the time: go through this month's incidents")
      local days = {}
      for i = 29, 0, -1 do days[#days + 1] = { now() - i * DAY, history.uptime("daily.api", "1d", { ago = i * DAY }) } end
      r:chart("Uptime per day", days, { format = "pct", target = num("uptime_target", 0.999) })
    else
      r:item("Uptime", "not checked: set [vars] api_url")
    end

    r:section("Growth")
    local users, users_before = history.last("users"), history.avg("users", "1d", { ago = MONTH })
    local mrr, mrr_before = history.last("mrr"), history.avg("mrr", "1d", { ago = MONTH })
    r:item("Users", users)
    r:item("User growth month over month", growth(users, users_before), { format = "pct" })
    if mrr then r:item("MRR", mrr, { format = "money" }) end
    r:item("Revenue growth month over month", growth(mrr, mrr_before), { format = "pct" })
    if mrr then
      local next_m
      for _, m in ipairs(milestones) do
        if mrr < m.mrr then next_m = m break end
      end
      if next_m then
        r:item("Next scaling milestone", next_m.mrr, { format = "money" })
        r:note("At $%d MRR: %s", next_m.mrr, next_m.step)
      else
        r:note("Past every milestone on the list: plan the next one yourself")
      end
    else
      r:item("MRR", "no figures: see business.lua")
    end

    r:section("Cost")
    local infra, tools, revenue = history.last("infra_cost"), history.last("tool_cost"), history.last("revenue")
    if infra or tools then
      local total = (infra or 0) + (tools or 0)
      r:item("Total infrastructure and tools", total, { format = "money" })
      r:item("Cost per user", users and users > 0 and total / users or nil, { format = "money" })
      item("Cost as share of revenue", revenue and revenue > 0 and total / revenue or nil,
        { max = num("cost_share_max", 0.20), format = "pct" },
        "Cost above 20 % of revenue: drop what the tier does not need (see tiers.lua)")
    else
      r:item("Cost", "no figures: see business.lua")
    end
    local tier = history.last("tier_recommended")
    if tier then r:item("Tool tier for this MRR", tier_names[math.floor(tier)] or tostring(tier)) end

    r:section("Incidents (30 days)")
    local target = num("resolve_target", 300)
    local inc = history.incidents("30d") or {}
    local sum, n = 0, 0
    for _, i in ipairs(inc) do
      local label = ("%s %s, %s"):format(i.check, i.status:upper(), os.date("%b %d %H:%M", math.floor(i.alerted)))
      if i.open then
        -- an open incident is open: neither met nor missed yet
        r:item(label, ("open for %.0f min"):format(i.seconds / 60))
      else
        r:item(label, i.seconds, { format = "duration", max = target })
        sum, n = sum + i.seconds, n + 1
      end
    end
    r:item("Incidents", #inc)
    item("Mean time to resolve", n > 0 and sum / n or nil, { format = "duration", max = target },
      "Incidents took longer than 5 minutes to resolve: write a runbook for the slowest")
    if #inc == 0 then r:note("No incident this month.") end

    r:section("Backups")
    local restore, restore_every = date_of(vars.last_restore_test), num("restore_every", 31)
    local drill, dr_every = date_of(vars.last_dr_drill), num("dr_every", 92)
    item("Days since the last restore test", restore and math.floor((now() - restore) / DAY),
      { max = restore_every }, "Restore test due: restore a dump into a scratch database and time it")
    item("Days since the last disaster-recovery drill", drill and math.floor((now() - drill) / DAY),
      { max = dr_every }, "Disaster-recovery drill due: rebuild the server from nothing, from the docs")

    r:section("Next month's plan")
    if #plan == 0 then r:note("Every target met: keep going.") end
    for _, p in ipairs(plan) do r:note("%s", p) end
  end,
}
