-- scaling.lua — the playbook's scaling triggers, each with the next step.
-- They read the history the other rules record (daily.lua's
-- api_response_time, host.lua's load, memory and disk, business.lua's mrr),
-- so they warn about a trend, not a moment; with too little history they say
-- so and stay OK (a fresh install is not a problem).  scaling.response needs
-- [vars] api_url, scaling.revenue an MRR source (business.lua); scaling_every
-- (default 1h, 6h for disk and revenue) sets how often they run.
--
--   scaling.response  p95 response over 7 days above latency_max (2 s)
--   scaling.load      load per core above 1.0 (the core count) over a day
--   scaling.memory    memory above memory_scale (85 %) over a day
--   scaling.disk      disk above disk_warn (80 %), or full within
--                     disk_horizon (30) days on a straight line fitted to
--                     the last 14 days' daily averages
--   scaling.revenue   the next revenue milestone; a warning in the 30 days
--                     after MRR crosses one, with what that milestone asks for

var "api_url" { type = "url", doc = "the API's base URL" }
var "api_health_url" { type = "url", doc = "the full health URL" }
var "latency_max" { type = "duration", default = "2s", doc = "the slowest acceptable /health answer" }
var "load_scale" { type = "number", default = 1.0, doc = "load per core over a day that calls for scaling" }
var "memory_scale" { type = "percent", default = 85, doc = "memory used over a day that calls for scaling" }
var "disk_warn" { type = "percent", default = 80, doc = "disk used that warns" }
var "disk_horizon" { type = "number", default = 30, doc = "days ahead a full disk is warned of" }
var "mrr" { type = "number", doc = "monthly recurring revenue, if not from business.lua's source" }
var "business_url" { type = "url", doc = "a JSON object of the business figures, fetched" }
var "business_file" { type = "path", doc = "a JSON object of the business figures, read" }
var "scaling_every" { type = "duration", doc = "how often the scaling checks run (default 1h, 6h for disk and revenue)" }

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local DAY = 86400

local has_api = vars.api_url or vars.api_health_url
local has_mrr = vars.mrr or vars.business_url or vars.business_file

if has_api then check "scaling.response" {
  every = vars.scaling_every or "1h",
  description = "p95 response time over 7 days",
  run = function()
    local p95 = history.percentile("api_response_time", 95, "7d")
    if not p95 then return ok("collecting history: no response times yet (daily.lua records them)") end
    local max = num("latency_max", 2.0)
    if p95 > max then
      return warn("p95 response %.2f s over 7 days (> %.1f s): next step: profile the slowest endpoints, " ..
        "cache, then a bigger instance", p95, max)
    end
    return ok("p95 response %.0f ms over 7 days", p95 * 1000)
  end,
} end

check "scaling.load" {
  every = vars.scaling_every or "1h",
  description = "load per core averaged over a day",
  run = function()
    local l = history.avg("load5_per_core", "24h")
    if not l then return ok("collecting history: no load figures yet (host.lua records them)") end
    if l > num("load_scale", 1.0) then
      return warn("load %.2f per core over a day (above the core count): next step: more cores, " ..
        "or move batch work off the web server", l)
    end
    return ok("load %.2f per core over a day", l)
  end,
}

check "scaling.memory" {
  every = vars.scaling_every or "1h",
  description = "memory in use averaged over a day",
  run = function()
    local m = history.avg("memory_used_pct", "24h")
    if not m then return ok("collecting history: no memory figures yet (host.lua records them)") end
    local max = num("memory_scale", 85)
    if m > max then
      return warn("memory %.0f%% used over a day (> %d%%): next step: more RAM, or fewer workers", m, max)
    end
    return ok("memory %.0f%% used over a day", m)
  end,
}

-- least squares over (day, value) points: slope per day and intercept
local function fit(pts)
  local n, sx, sy, sxx, sxy = #pts, 0, 0, 0, 0
  for _, p in ipairs(pts) do
    sx, sy, sxx, sxy = sx + p[1], sy + p[2], sxx + p[1] * p[1], sxy + p[1] * p[2]
  end
  local d = n * sxx - sx * sx
  if n < 3 or d == 0 then return nil end
  local b = (n * sxy - sx * sy) / d
  return b, (sy - b * sx) / n
end

check "scaling.disk" {
  every = vars.scaling_every or "6h",
  description = "disk usage now and where the last 14 days' trend leads",
  run = function()
    local now_pct = history.last("disk_used_pct")
    if not now_pct then return ok("collecting history: no disk figures yet (host.lua records them)") end
    local warn_at = num("disk_warn", 80)
    if now_pct >= warn_at then
      return warn("disk %.0f%% used (>= %d%%): next step: grow the volume or prune old data and dumps", now_pct, warn_at)
    end
    local pts = {}
    for i = 13, 0, -1 do
      local v = history.avg("disk_used_pct", "1d", { ago = i * DAY })
      if v then pts[#pts + 1] = { -i, v } end
    end
    local slope, at0 = fit(pts)
    if not slope then return ok("disk %.0f%% used; too little history for a trend", now_pct) end
    metric("disk_growth_pct_per_day", slope, "%")
    if slope > 0 then
      local days = (100 - at0) / slope
      metric("disk_full_in_days", days, "d")
      if days <= num("disk_horizon", 30) then
        return warn("disk %.0f%% used, growing %.2f points a day: full in %.0f days: next step: " ..
          "grow the volume or move dumps off this disk", now_pct, slope, days)
      end
      return ok("disk %.0f%% used, growing %.2f points a day: full in %.0f days", now_pct, slope, days)
    end
    return ok("disk %.0f%% used, not growing", now_pct)
  end,
}

local MILESTONES = {
  { 1000, "paid monitoring and off-site backups (tier $1K-5K in tiers.lua)" },
  { 5000, "a second server or a managed database; APM and security tooling" },
  { 10000, "redundancy across two regions; enterprise monitoring, compliance, 24/7 support" },
  { 25000, "a first operations hire; formal on-call" },
}

if has_mrr then check "scaling.revenue" {
  every = vars.scaling_every or "6h",
  description = "revenue milestones and the step each asks for",
  run = function()
    local mrr = history.last("mrr") or num("mrr", nil)
    if not mrr then return ok("collecting history: no MRR yet (business.lua records it)") end
    local before = history.avg("mrr", "1d", { ago = "30d" })
    for i = #MILESTONES, 1, -1 do
      local m = MILESTONES[i]
      if mrr >= m[1] and before and before < m[1] then
        return warn("MRR $%.0f crossed $%d this month: next step: %s", mrr, m[1], m[2])
      end
    end
    for _, m in ipairs(MILESTONES) do
      if mrr < m[1] then
        return ok("MRR $%.0f; next milestone $%d (%.0f%% there): %s", mrr, m[1], 100 * mrr / m[1], m[2])
      end
    end
    return ok("MRR $%.0f: past every milestone on the list", mrr)
  end,
} end
