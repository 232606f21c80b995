---@meta drishti
-- LuaLS definitions of the API drishti gives rules (docs/rules.md).  Not a
-- rule file: drishti loads only the *.lua directly in the rules directory.
-- With rules/.luarc.json an editor running lua-language-server completes and
-- checks every call below.

---@class drishti.Verdict
---@field status integer 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN
---@field summary string

---@param fmt string a string.format pattern
---@return drishti.Verdict
function ok(fmt, ...) end
---@param fmt string
---@return drishti.Verdict
function warn(fmt, ...) end
---@param fmt string
---@return drishti.Verdict
function crit(fmt, ...) end
---@param fmt string
---@return drishti.Verdict
function unknown(fmt, ...) end

---@class drishti.CheckSpec
---@field every? string|number   "1m"; one of every or cron
---@field cron? string           "0 9 * * 1", local time
---@field jitter? string|number
---@field timeout? string|number
---@field after? integer|string  failing runs in a row, or a duration, before it fires
---@field recover? integer       passing runs before it resolves (default 1)
---@field flap? string           "5/10": 5 failures within the last 10 runs
---@field repeat? string|number  remind while firing
---@field unknown? "fail"|"ignore"
---@field notify? string[]       reporter names (default: all)
---@field labels? table<string, string>
---@field description? string
---@field run fun(): drishti.Verdict

---@class drishti.ReportSpec
---@field every? string|number
---@field cron? string
---@field notify? string[]
---@field description? string
---@field build fun(r: drishti.Report)

---Declares a check: `check "name" { every = "1m", run = function() ... end }`
---@param name string
---@return fun(spec: drishti.CheckSpec)
function check(name) end

---Declares a report: `report "weekly" { cron = "0 9 * * 1", build = function(r) ... end }`
---@param name string
---@return fun(spec: drishti.ReportSpec)
function report(name) end

---@alias drishti.Format "pct"|"ms"|"duration"|"bytes"|"money"|"number"

---@class drishti.ItemOpts
---@field target? number  met when value >= target (also `min`)
---@field min? number
---@field max? number     met when value <= max
---@field met? boolean    the rule's own judgement
---@field format? drishti.Format
---@field currency? string

---@class drishti.ChartOpts
---@field format? drishti.Format
---@field target? number

---@class drishti.Report
local Report = {}
---@param title string
---@return drishti.Report
function Report:section(title) end
---@param label string
---@param value number|string|boolean|nil
---@param opts? drishti.ItemOpts
---@return boolean|nil met true / false against the target, nil without one
function Report:item(label, value, opts) end
---@param fmt string
---@return drishti.Report
function Report:note(fmt, ...) end
---@param title string
---@param points (number|nil)[]|{[1]: number, [2]: number|nil}[]
---@param opts? drishti.ChartOpts
---@return drishti.Report
function Report:chart(title, points, opts) end

---Records a value in history (per run; at most 64).
---@param name string
---@param value number
---@param unit? string
function metric(name, value, unit) end

---@class drishti.ExecResult
---@field code? integer the exit code (nil if it was killed or timed out)
---@field stdout string stdout and stderr together, at most 64 KiB
---@field time number seconds
---@field truncated boolean
---@field signal? integer
---@field error? string "timeout", "killed by signal N"

---Runs an allow-listed command ([sandbox] exec), no shell; the last argument
---may be the options { timeout = "10s" }.
---@param cmd string absolute path
---@return drishti.ExecResult
function exec(cmd, ...) end

---Runs a Nagios plugin: exit code -> verdict, first line -> summary,
---perfdata -> metrics.
---@param cmd string absolute path
---@return drishti.Verdict
function nagios(cmd, ...) end

---[vars] from the config, read-only strings.
---@type table<string, string>
vars = {}

---@return number unix seconds, with fractions
function now() end
---@param s string "5m"
---@return number seconds
function duration(s) end

---@class drishti.FileInfo
---@field path string
---@field size integer
---@field mtime number
---@field age number seconds since mtime

---@class drishti.Newest: drishti.FileInfo
---@field count integer matches of the glob
---@field prev? drishti.FileInfo the second newest

fs = {}
---@return {total: integer, used: integer, free: integer, pct: number}|nil, string?
function fs.usage(path) end
---@return drishti.FileInfo|nil, string?
function fs.stat(path) end
---@param glob string
---@return drishti.Newest|nil, string?
function fs.newest(glob) end
---@param opts? {max?: string|integer}
---@return boolean, string?
function fs.gzip_ok(path, opts) end

log = {}
---@param regex string POSIX extended
---@param opts {last?: integer, since?: string, new?: boolean}
---@return integer|nil, string?
function log.count(path, regex, opts) end
---@return string[]|nil, string?
function log.tail(path, n) end

sys = {}
---@return {load1: number, load5: number, load15: number, cores: integer}|nil, string?
function sys.load() end
---@return {total: integer, available: integer, used: integer, pct: number, swap_total: integer, swap_used: integer, swap_pct: number}|nil, string?
function sys.memory() end
---@return number|nil seconds
function sys.uptime() end

---@class drishti.HttpOpts
---@field timeout? string|number
---@field headers? table<string, string>
---@field follow? boolean
---@field insecure? boolean
---@field ca_file? string
---@field max_body? string|integer
---@field reuse? boolean

---@class drishti.Response
---@field status integer 0 when no answer came
---@field time number seconds
---@field body string
---@field headers table<string, string>
---@field truncated boolean
---@field error? string
local Response = {}
---@return any
function Response:json() end

http = {}
---@param opts? drishti.HttpOpts
---@return drishti.Response
function http.get(url, opts) end
---@param opts? drishti.HttpOpts
---@return drishti.Response
function http.post(url, body, opts) end
---@param opts? drishti.HttpOpts
---@return drishti.Response
function http.head(url, opts) end

tcp = {}
---@return {ok: boolean, time: number, error?: string}
function tcp.connect(host, port, opts) end

tls = {}
---@param opts? {timeout?: string|number, ca_file?: string, servername?: string}
---@return {not_after: number, not_before: number, days_left: number, subject: string, issuer: string, verified: boolean, why?: string, error?: string}
function tls.cert(host, port, opts) end

json = {}
---@type lightuserdata
json.null = nil
---@return any|nil, string?
function json.decode(s) end
---@return string|nil, string?
function json.encode(v) end

---@class drishti.Ago
---@field ago? string|number the window ends this long before now

---@class drishti.Incident
---@field check string
---@field status "warn"|"crit"|"unknown"
---@field alerted number unix seconds
---@field resolved number 0 while open
---@field seconds number from alert to recovery (or to now)
---@field open boolean

history = {}
---@return number|nil share of OK runs, UNKNOWN left out
function history.uptime(check, window, opts) end
---@param status "ok"|"warn"|"crit"|"unknown"|"fail"
---@return number|nil
function history.count(check, status, window, opts) end
---@return number|nil
function history.avg(metric, window, opts) end
---@return number|nil
function history.max(metric, window, opts) end
---@return number|nil
function history.min(metric, window, opts) end
---@return number|nil
function history.sum(metric, window, opts) end
---@param p number 0..100
---@return number|nil
function history.percentile(metric, p, window, opts) end
---@return number|nil value, number? at
function history.last(metric) end
---@return "ok"|"warn"|"crit"|"unknown"|nil status, number? at
function history.status(check) end
---@return "ok"|"warn"|"crit"|"unknown"
function history.worst() end
---@return drishti.Incident[]|nil
function history.incidents(window) end
