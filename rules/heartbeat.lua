-- heartbeat.lua — a dead man's switch: drishti pings a healthchecks-style URL
-- (healthchecks.io, Uptime Kuma push, Better Uptime heartbeat) every
-- heartbeat_every (5m).  All quiet: GET heartbeat_url.  Something firing:
-- POST heartbeat_url .. "/fail" with the worst status, so the service
-- shows it.  When drishti itself or the host dies, the pings stop and the
-- service alerts: the one failure drishti cannot report by itself.
--
-- [vars]: heartbeat_url (required to declare it), heartbeat_every.

var "heartbeat_url" { type = "url", doc = "the dead man's switch pinged while all is well" }
var "heartbeat_every" { type = "duration", default = "5m", doc = "how often it is pinged" }

if vars.heartbeat_url then
  local url = vars.heartbeat_url:gsub("/+$", "")
  check "heartbeat" {
    every = vars.heartbeat_every or "5m",
    description = "pings " .. url .. " so a silent agent is noticed",
    run = function()
      local worst = history.worst() or "ok"   -- no state file yet: nothing fires
      local r
      if worst == "ok" then
        r = http.get(url, { timeout = "10s" })
      else
        r = http.post(url .. "/fail", "drishti: worst firing alert is " .. worst:upper(),
          { timeout = "10s", headers = { ["Content-Type"] = "text/plain" } })
      end
      if r.status < 200 or r.status > 299 then
        return warn("heartbeat ping failed: %s", r.status == 0 and r.error or ("HTTP " .. r.status))
      end
      if worst == "ok" then return ok("heartbeat sent") end
      return ok("heartbeat sent as a failure (worst firing: %s)", worst:upper())
    end,
  }
end
