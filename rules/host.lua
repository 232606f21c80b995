-- host.lua — the host itself: disk, memory and load.
--
-- Thresholds come from [vars] in the config, with these defaults:
--   disk_path = "/"    disk_warn = 80   disk_crit = 90      (percent used)
--   memory_warn = 85   memory_crit = 95                     (percent used)
--   load_warn = 1.0    load_crit = 2.0  (5-minute load per core)
--   disk_every = 1m    memory_every = 1m    load_every = 1m  (how often)
-- The playbook's daily check calls a disk "low" past 80 % used.

var "disk_path" { type = "string", default = "/", doc = "the file system host.disk watches" }
var "disk_warn" { type = "percent", default = 80, doc = "disk used that warns" }
var "disk_crit" { type = "percent", default = 90, doc = "disk used that is critical" }
var "memory_warn" { type = "percent", default = 85, doc = "memory used that warns" }
var "memory_crit" { type = "percent", default = 95, doc = "memory used that is critical" }
var "load_warn" { type = "number", default = 1.0, doc = "5-minute load per core that warns" }
var "load_crit" { type = "number", default = 2.0, doc = "5-minute load per core that is critical" }
var "disk_every" { type = "duration", default = "1m", doc = "how often host.disk runs" }
var "memory_every" { type = "duration", default = "1m", doc = "how often host.memory runs" }
var "load_every" { type = "duration", default = "1m", doc = "how often host.load runs" }

local function num(name, default)
  local v = vars[name]
  if v == nil then return default end
  return tonumber(v) or error(("vars.%s must be a number, not %q"):format(name, v))
end

local function gib(bytes) return bytes / 2^30 end

check "host.disk" {
  every = vars.disk_every or "1m",
  after = 2,
  description = "disk usage of the root file system (df's Use%)",
  run = function()
    local path = vars.disk_path or "/"
    local u, err = fs.usage(path)
    if not u then return unknown("disk %s: %s", path, err) end
    metric("disk_used_pct", u.pct, "%")
    metric("disk_free_bytes", u.free, "B")
    local msg = ("%s %.0f%% used, %.1f GiB free"):format(path, u.pct, gib(u.free))
    if u.pct >= num("disk_crit", 90) then return crit("%s", msg) end
    if u.pct >= num("disk_warn", 80) then return warn("%s", msg) end
    return ok("%s", msg)
  end,
}

check "host.memory" {
  every = vars.memory_every or "1m",
  after = 3,
  description = "memory in use (total minus available, as free(1) shows)",
  run = function()
    local m, err = sys.memory()
    if not m then return unknown("memory: %s", err) end
    metric("memory_used_pct", m.pct, "%")
    local msg = ("memory %.0f%% used (%.1f of %.1f GiB)"):format(m.pct, gib(m.used), gib(m.total))
    if m.pct >= num("memory_crit", 95) then return crit("%s", msg) end
    if m.pct >= num("memory_warn", 85) then return warn("%s", msg) end
    return ok("%s", msg)
  end,
}

check "host.load" {
  every = vars.load_every or "1m",
  after = 5,
  description = "5-minute load average per CPU core",
  run = function()
    local l, err = sys.load()
    if not l then return unknown("load: %s", err) end
    local per_core = l.load5 / l.cores
    metric("load5_per_core", per_core)
    local msg = ("load %.2f %.2f %.2f on %d cores"):format(l.load1, l.load5, l.load15, l.cores)
    if per_core >= num("load_crit", 2.0) then return crit("%s", msg) end
    if per_core >= num("load_warn", 1.0) then return warn("%s", msg) end
    return ok("%s", msg)
  end,
}
