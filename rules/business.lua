-- business.lua — the business figures the reports and tiers.lua work from,
-- recorded every hour as metrics so growth and trends come from history:
--
--   mrr  revenue  infra_cost  tool_cost  users  active_users
--
-- business_every (1h) sets how often.  From [vars] (mrr = 2400, users = 310 ...), or from a JSON object with those
-- keys that the operator's own app exports: vars.business_url (fetched; TLS
-- verified) or vars.business_file (a file under [sandbox] read_paths).  A
-- key in the JSON wins over the same var.  Revenue defaults to MRR.  Not
-- declared until one of these is set.

var "mrr" { type = "number", doc = "monthly recurring revenue" }
var "revenue" { type = "number", doc = "monthly revenue (default: MRR)" }
var "infra_cost" { type = "number", doc = "monthly infrastructure spend" }
var "tool_cost" { type = "number", doc = "monthly spend on tools" }
var "users" { type = "number", doc = "users" }
var "active_users" { type = "number", doc = "active users" }
var "business_url" { type = "url", doc = "a JSON object of the business figures, fetched" }
var "business_file" { type = "path", doc = "a JSON object of the business figures, read" }
var "business_every" { type = "duration", default = "1h", doc = "how often business.figures runs" }

local KEYS = { "mrr", "revenue", "infra_cost", "tool_cost", "users", "active_users" }

local function configured()
  if vars.business_url or vars.business_file then return true end
  for _, k in ipairs(KEYS) do if vars[k] then return true end end
  return false
end

local function from_source()
  if vars.business_url then
    local r = http.get(vars.business_url, { timeout = "10s" })
    if r.status ~= 200 then
      return nil, ("%s: %s"):format(vars.business_url, r.status == 0 and r.error or ("HTTP " .. r.status))
    end
    return r:json()
  end
  if vars.business_file then
    local lines, err = log.tail(vars.business_file, 2000)
    if not lines then return nil, ("%s: %s"):format(vars.business_file, err) end
    return json.decode(table.concat(lines, "\n"))
  end
  return {}
end

if configured() then
  check "business.figures" {
    every = vars.business_every or "1h",
    description = "MRR, revenue, costs and users, recorded for the reports",
    run = function()
      local src, err = from_source()
      if type(src) ~= "table" then
        return unknown("business figures: %s", err or "not a JSON object")
      end
      local got, bad = {}, {}
      for _, k in ipairs(KEYS) do
        local v = src[k]
        if v == nil then v = vars[k] end
        if v ~= nil then
          local n = tonumber(v)
          if n then got[k] = n else bad[#bad + 1] = k end
        end
      end
      if #bad > 0 then return unknown("business figures: not numbers: %s", table.concat(bad, ", ")) end
      if got.revenue == nil then got.revenue = got.mrr end
      local parts = {}
      for _, k in ipairs(KEYS) do
        if got[k] then
          metric(k, got[k], (k == "users" or k == "active_users") and "" or "$")
          parts[#parts + 1] = ("%s %s"):format(k, got[k])
        end
      end
      if #parts == 0 then return unknown("business figures: none found") end
      return ok("%s", table.concat(parts, ", "))
    end,
  }
end
