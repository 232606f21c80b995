-- tiers.lua — the playbook's tool tiers by MRR, as data.  tiers.fit says
-- which tier the current MRR calls for, what to add and what may go; it
-- warns when the MRR crosses a tier boundary (either way: yesterday's MRR in
-- another tier than today's) and when tool spend passes tool_share_max
-- (20 %) of revenue.  MRR and spend come from business.lua's metrics, else
-- [vars] mrr / tool_cost / revenue, tiers_every (1h).  Records tier_recommended (1-4).

var "mrr" { type = "number", doc = "monthly recurring revenue" }
var "tool_cost" { type = "number", doc = "monthly spend on tools" }
var "revenue" { type = "number", doc = "monthly revenue (default: MRR)" }
var "tool_share_max" { type = "number", default = 0.20, doc = "tool spend as a share of revenue that is too much" }
var "business_url" { type = "url", doc = "a JSON object of the business figures, fetched" }
var "business_file" { type = "path", doc = "a JSON object of the business figures, read" }
var "tiers_every" { type = "duration", default = "1h", doc = "how often tiers.fit runs" }

local TIERS = {
  { from = 0, name = "$0-1K", tools = {
      { "UptimeRobot (free)", 0 }, { "Sentry (free tier)", 0 },
      { "Google Analytics", 0 }, { "GitHub Actions (free tier)", 0 } } },
  { from = 1000, name = "$1K-5K", tools = {
      { "Better Uptime", 15 }, { "AWS S3", 10 }, { "CloudFlare", 20 }, { "Sentry Pro", 26 } } },
  { from = 5000, name = "$5K-10K", tools = {
      { "LogRocket", 99 }, { "DataDog", 50 }, { "advanced AWS", 100 }, { "security tools", 50 } } },
  { from = 10000, name = "$10K+", tools = {
      { "enterprise monitoring", 200 }, { "advanced security", 100 }, { "compliance", 150 },
      { "24/7 support", 500 } } },
}

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local function tier_of(mrr)
  local t = 1
  for i, tier in ipairs(TIERS) do if mrr >= tier.from then t = i end end
  return t
end

local function list(tier)
  local names, cost = {}, 0
  for _, tool in ipairs(TIERS[tier].tools) do
    names[#names + 1] = tool[2] > 0 and ("%s $%d"):format(tool[1], tool[2]) or tool[1]
    cost = cost + tool[2]
  end
  return table.concat(names, ", "), cost
end

-- the monthly cost of running everything up to and including a tier
local function cumulative(tier)
  local c = 0
  for i = 1, tier do local _, x = list(i) c = c + x end
  return c
end

if vars.mrr or vars.business_url or vars.business_file then
  check "tiers.fit" {
    every = vars.tiers_every or "1h",
    unknown = "ignore",
    description = "the tool tier for the current MRR, and tool spend against revenue",
    run = function()
      local mrr = history.last("mrr") or num("mrr", nil)
      if not mrr then return unknown("no MRR yet (business.lua records it)") end
      local t = tier_of(mrr)
      metric("tier_recommended", t)
      local before = history.avg("mrr", "1d", { ago = "1d" })
      local spend = history.last("tool_cost") or num("tool_cost", nil)
      local revenue = history.last("revenue") or num("revenue", mrr)
      if before and tier_of(before) ~= t then
        local was = tier_of(before)
        if t > was then
          local add = list(t)
          return warn("MRR $%.0f crossed up into tier %s (from %s): add %s (about $%d a month in all)",
            mrr, TIERS[t].name, TIERS[was].name, add, cumulative(t))
        end
        local drop = list(was)
        return warn("MRR $%.0f fell into tier %s (from %s): %s may go (about $%d a month in all)",
          mrr, TIERS[t].name, TIERS[was].name, drop, cumulative(t))
      end
      local max = num("tool_share_max", 0.20)
      if spend and revenue and revenue > 0 and spend / revenue > max then
        return warn("tool spend $%.0f is %.0f%% of revenue $%.0f (target < %.0f%%): drop to tier %s's tools",
          spend, 100 * spend / revenue, revenue, 100 * max, TIERS[t].name)
      end
      local msg = ("MRR $%.0f: tier %s fits (%s)"):format(mrr, TIERS[t].name, (list(t)))
      if TIERS[t + 1] then
        msg = msg .. ("; at $%d add %s"):format(TIERS[t + 1].from, (list(t + 1)))
      end
      return ok("%s", msg)
    end,
  }
end
