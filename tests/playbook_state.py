#!/usr/bin/env python3
"""History for the playbook report tests, and the recomputation the reports
are checked against.

usage: playbook_state.py seed STATE_DB
       playbook_state.py check STATE_DB REPORT.json NAME [KEY=VALUE ...]

seed writes 35 days of a one-person business into a state file drishti made
(so the schema is its own): daily.api every 10 minutes with scattered
failures and a 3-hour outage, daily.backup hourly with one bad day, the
metrics the shipped rules record (response time, users, MRR, costs, disk,
memory, load, backup size, tier), and four incidents.  Raw rows for the last
48 hours, hourly roll-ups (with drishti's sparse histogram) for all of it.

check recomputes every figure of the weekly or monthly report from the same
file, with drishti's history semantics written out again here (raw rows
inside [store] raw, whole-hour roll-ups beyond it, UNKNOWN on neither side
of uptime), and compares it with the report's JSON: each item's value, its
met/missed mark, each chart point, and the action items.  Prints one line
per mismatch; exits 1 if there is any.  KEY=VALUE: failed_logins=N,
restore_days=N, dr_days=N, backup_size=N, backup_whole=1, lat=2.0."""
import json, math, random, sqlite3, struct, sys, time

RAW = 48 * 3600
DAY = 86400
BASE, FLOOR = 1.2, 1e-6


def bucket(v):
    if not v > FLOOR:
        return 0
    return min(max(1 + math.floor(math.log(v / FLOOR) / math.log(BASE)), 1), 255)


def blob(hist):
    return b"".join(struct.pack("<BI", b, c) for b, c in sorted(hist.items()))


def seed(path):
    random.seed(7)
    db = sqlite3.connect(path)
    now = time.time()
    start = now - 35 * DAY
    first_hour, last_hour = int(start // 3600), int(now // 3600)
    runs, samples, roll = [], [], {}

    def add_run(check, ts, st, dur=0.05):
        if ts >= now - RAW - 3600:
            runs.append((check, ts, st, dur, "seeded"))
        k = (0, check, int(ts // 3600))
        r = roll.setdefault(k, [0, 0, 0, 0, 0, 0.0, math.inf, -math.inf, {}])
        r[0] += 1
        r[1 + st] += 1
        r[5] += dur
        r[6] = min(r[6], dur)
        r[7] = max(r[7], dur)
        r[8][bucket(dur)] = r[8].get(bucket(dur), 0) + 1

    def add_sample(check, metric, ts, v, unit=""):
        if ts >= now - RAW - 3600:
            samples.append((check, metric, ts, v, unit))
        k = (1, metric, int(ts // 3600))
        r = roll.setdefault(k, [0, 0, 0, 0, 0, 0.0, math.inf, -math.inf, {}])
        r[0] += 1
        r[1] += 1
        r[5] += v
        r[6] = min(r[6], v)
        r[7] = max(r[7], v)
        r[8][bucket(v)] = r[8].get(bucket(v), 0) + 1

    outage = (now - 10 * DAY - 3 * 3600, now - 10 * DAY)
    bad_backup_day = (now - 3 * DAY - DAY, now - 3 * DAY)
    # every 10 minutes, on a grid 5 minutes off the seeding time
    t = now - 300
    while t > start:
        f = (t - start) / (now - start)          # 0 .. 1 over the 35 days
        if outage[0] <= t < outage[1]:
            st = 2
        else:
            x = random.random()
            st = 2 if x < 0.01 else 3 if x < 0.012 else 1 if x < 0.015 else 0
        add_run("daily.api", t, st)
        if st != 2:
            add_sample("daily.api_latency", "api_response_time", t,
                       random.lognormvariate(math.log(0.3), 0.4), "s")
        t -= 600
    t = now - 1800
    while t > start:
        f = (t - start) / (now - start)
        add_run("daily.backup", t, 2 if bad_backup_day[0] <= t < bad_backup_day[1] else 0)
        add_sample("host.disk", "disk_used_pct", t, 60 + 6 * f + random.uniform(-0.2, 0.2), "%")
        add_sample("host.memory", "memory_used_pct", t, 50 + random.uniform(-5, 5), "%")
        add_sample("host.load", "load5_per_core", t, 0.3 + random.uniform(-0.1, 0.1))
        users = round(800 + 200 * f)
        mrr = 4500 + 700 * f
        add_sample("business.figures", "users", t, users)
        add_sample("business.figures", "active_users", t, round(users * 0.4))
        add_sample("business.figures", "mrr", t, mrr, "$")
        add_sample("business.figures", "revenue", t, mrr, "$")
        add_sample("business.figures", "infra_cost", t, 180, "$")
        add_sample("business.figures", "tool_cost", t, 71, "$")
        add_sample("tiers.fit", "tier_recommended", t, 3 if mrr >= 5000 else 2)
        add_sample("daily.backup", "backup_size", t, 100e6 * (1 + 0.1 * f), "B")
        t -= 3600
    db.executemany("INSERT INTO runs (check_name, ts, status, duration, summary) VALUES (?,?,?,?,?)", runs)
    db.executemany("INSERT INTO samples (check_name, metric, ts, value, unit) VALUES (?,?,?,?,?)", samples)
    db.executemany("INSERT OR REPLACE INTO rollups VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   [(k[0], k[1], k[2], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], blob(r[8]))
                    for k, r in roll.items()])
    # incidents: alert at A, resolve at A + seconds; stored in time order, as
    # the agent appends them
    for i, (ago, secs, check) in enumerate([(20 * DAY, 900, "daily.api"), (15 * DAY, 240, "daily.backup"),
                                             (10 * DAY, 3 * 3600, "daily.api"), (2 * DAY, 120, "daily.api")]):
        a = now - ago
        db.execute("INSERT INTO events (id, kind, check_name, status, previous, summary, since, at,"
                   " delivered) VALUES (?, 'alert', ?, 2, 0, 'down', ?, ?, 1)", ("a%d" % i, check, a - 60, a))
        db.execute("INSERT INTO events (id, kind, check_name, status, previous, summary, since, at,"
                   " delivered) VALUES (?, 'resolve', ?, 0, 2, 'up', ?, ?, 1)", ("r%d" % i, check, a - 60, a + secs))
    db.commit()


class Hist:
    """drishti's history answers, recomputed"""

    def __init__(self, db, now):
        self.db, self.now = db, now

    def _range(self, window, ago):
        end = self.now - ago
        return end - window, end, window <= RAW - ago

    def counts(self, check, window, ago=0):
        lo, hi, raw = self._range(window, ago)
        if raw:
            r = self.db.execute("SELECT count(*), sum(status=0), sum(status=1), sum(status=2), sum(status=3)"
                                " FROM runs WHERE check_name=? AND ts>=? AND ts<=?", (check, lo, hi)).fetchone()
        else:
            r = self.db.execute("SELECT sum(n), sum(ok), sum(warn), sum(crit), sum(unknown) FROM rollups"
                                " WHERE kind=0 AND name=? AND hour>=? AND hour<=?",
                                (check, math.floor(lo / 3600), math.floor(hi / 3600))).fetchone()
        return None if not r[0] else [x or 0 for x in r]

    def uptime(self, check, window, ago=0):
        c = self.counts(check, window, ago)
        if c is None or c[0] - c[4] <= 0:
            return None
        return c[1] / (c[0] - c[4])

    def count(self, check, status, window, ago=0):
        c = self.counts(check, window, ago)
        if c is None:
            return 0
        return c[2] + c[3] + c[4] if status == "fail" else c[1 + ["ok", "warn", "crit", "unknown"].index(status)]

    def avg(self, metric, window, ago=0):
        lo, hi, raw = self._range(window, ago)
        if raw:
            r = self.db.execute("SELECT avg(value) FROM samples WHERE metric=? AND ts>=? AND ts<=?",
                                (metric, lo, hi)).fetchone()
        else:
            r = self.db.execute("SELECT sum(sum)/sum(n) FROM rollups WHERE kind=1 AND name=? AND hour>=? AND hour<=?",
                                (metric, math.floor(lo / 3600), math.floor(hi / 3600))).fetchone()
        return r[0]

    def p95_exact(self, metric, window):
        # the true value over the raw-equivalent data: the report's
        # histogram answer must be within its documented 10 %
        lo, hi, _ = self._range(window, 0)
        vals = []
        for (h, n) in self.db.execute("SELECT hist, n FROM rollups WHERE kind=1 AND name=? AND hour>=? AND hour<=?",
                                      (metric, math.floor(lo / 3600), math.floor(hi / 3600))):
            for i in range(0, len(h), 5):
                b, c = struct.unpack("<BI", h[i:i + 5])
                vals += [FLOOR * BASE ** (b - 0.5)] * c
        vals.sort()
        return vals[max(0, math.ceil(0.95 * len(vals)) - 1)] if vals else None

    def last(self, metric):
        r = self.db.execute("SELECT value FROM samples WHERE metric=? ORDER BY ts DESC LIMIT 1", (metric,)).fetchone()
        return r[0] if r else None

    def incidents(self, window):
        out = []
        for check, at, st, end in self.db.execute(
                "SELECT a.check_name, a.at, a.status, (SELECT min(r.at) FROM events r WHERE r.kind='resolve'"
                " AND r.check_name=a.check_name AND r.seq>a.seq) FROM events a WHERE a.kind='alert'"
                " ORDER BY a.seq DESC"):
            if at > self.now - window or end is None or end > self.now - window:
                out.append({"check": check, "alerted": at, "seconds": (end if end else self.now) - at,
                            "open": end is None})
        return out


def items_of(doc):
    out = {}
    for s in doc["sections"]:
        for r in s["rows"]:
            if "item" in r:
                out[r["item"]] = r
    return out


def charts_of(doc):
    return {r["chart"]: r for s in doc["sections"] for r in s["rows"] if "chart" in r}


def notes_of(doc, section):
    return [r["note"] for s in doc["sections"] if s["title"] == section for r in s["rows"] if "note" in r]


def main():
    if sys.argv[1] == "seed":
        seed(sys.argv[2])
        return 0
    db = sqlite3.connect(sys.argv[2])
    doc = json.load(open(sys.argv[3]))
    name = sys.argv[4]
    kv = dict(a.split("=", 1) for a in sys.argv[5:])
    lat = float(kv.get("lat", 2.0))
    h = Hist(db, doc["at"])
    items, charts = items_of(doc), charts_of(doc)
    bad = []
    checked = set()

    def expect(label, want, tol=1e-6, met=None):
        checked.add(label)
        it = items.get(label)
        if it is None:
            bad.append("no item %r" % label)
            return
        got = it.get("value")
        if want is None:
            if got is not None:
                bad.append("%s: got %r, want no data" % (label, got))
        elif got is None or abs(got - want) > tol * max(1, abs(want)):
            bad.append("%s: got %r, want %r" % (label, got, want))
        if met is not None and it.get("met") is not met:
            bad.append("%s: met %r, want %r" % (label, it.get("met"), met))

    def expect_chart(title, want, tol=1e-6):
        c = charts.get(title)
        if c is None:
            bad.append("no chart %r" % title)
            return
        got = {round(t): v for t, v in c["points"]}
        want = {round(t): v for t, v in want if v is not None}
        if len(got) != len(want):
            bad.append("%s: %d points, want %d" % (title, len(got), len(want)))
        for t, v in want.items():
            g = min(got.items(), key=lambda kv_: abs(kv_[0] - t))[1] if got else None
            if g is None or abs(g - v) > tol * max(1, abs(v)):
                bad.append("%s at %d: got %r, want %r" % (title, t, g, v))

    users, revenue = h.last("users"), h.last("revenue")
    infra, tools = h.last("infra_cost"), h.last("tool_cost")
    total = infra + tools

    def err_rate(window):
        bad_ = h.count("daily.api", "fail", window)
        good = h.count("daily.api", "ok", window)
        return bad_ / (bad_ + good)

    if name == "weekly":
        up = h.uptime("daily.api", 7 * DAY)
        expect("Uptime", up, met=up >= 0.999)
        avg = h.avg("api_response_time", 7 * DAY)
        expect("Average response", avg, met=avg <= lat)
        p95 = h.p95_exact("api_response_time", 7 * DAY)
        expect("p95 response", p95, tol=0.12)
        er = err_rate(7 * DAY)
        expect("Failed health checks", er, met=er <= 0.01)
        expect_chart("Uptime per day", [(h.now - i * DAY, h.uptime("daily.api", DAY, i * DAY)) for i in range(6, -1, -1)])
        expect_chart("Average response per day", [(h.now - i * DAY, h.avg("api_response_time", DAY, i * DAY)) for i in range(6, -1, -1)])
        expect("Users", users)
        expect("New users this week", users - h.avg("users", DAY, 7 * DAY))
        expect("Active users", h.last("active_users"))
        disk = h.last("disk_used_pct")
        expect("Disk used", disk / 100, met=disk < 80)
        expect("Disk used, change this week", (disk - h.avg("disk_used_pct", DAY, 7 * DAY)) / 100)
        expect("Memory used (avg)", h.avg("memory_used_pct", 7 * DAY) / 100)
        expect("Load per core (avg)", h.avg("load5_per_core", 7 * DAY))
        expect("Infrastructure", infra)
        expect("Third-party tools", tools)
        expect("Cost per user", total / users)
        expect("Cost as share of revenue", total / revenue, met=total / revenue <= 0.2)
        expect("Failed logins", float(kv["failed_logins"]), met=float(kv["failed_logins"]) <= 50)
        expect("Incidents this week", len(h.incidents(7 * DAY)))
        days = sum(1 for i in range(7) if h.count("daily.backup", "ok", DAY, i * DAY) > 0)
        expect("Days with a good backup", days, met=days >= 7)
        expect("Newest dump size", float(kv["backup_size"]))
        before = h.avg("backup_size", DAY, 7 * DAY)
        expect("Dump size change this week", (float(kv["backup_size"]) - before) / before)
        expect_chart("Dump size per day", [(h.now - i * DAY, h.avg("backup_size", DAY, i * DAY)) for i in range(6, -1, -1)])
        rd = int(kv["restore_days"])
        expect("Days since the last restore test", rd, met=rd <= 31)
        checked.add("Newest dump whole (gzip)")
        if items["Newest dump whole (gzip)"].get("met") is not (kv.get("backup_whole") == "1"):
            bad.append("Newest dump whole: wrong mark")
        # every miss, and only a miss, became an action item
        misses = [l for l, it in items.items() if it.get("met") is False]
        actions = notes_of(doc, "Action items")
        if misses and len(actions) != len(misses):
            bad.append("%d misses (%s) but %d action items" % (len(misses), ", ".join(misses), len(actions)))
        if not misses and actions != ["None: every target met."]:
            bad.append("no miss, yet action items: %r" % actions)
    elif name == "monthly":
        up = h.uptime("daily.api", 30 * DAY)
        expect("Uptime", up, met=up >= 0.999)
        avg = h.avg("api_response_time", 30 * DAY)
        expect("Average response", avg, met=avg <= lat)
        er = err_rate(30 * DAY)
        expect("Failed health checks", er, met=er <= 0.01)
        expect_chart("Uptime per day", [(h.now - i * DAY, h.uptime("daily.api", DAY, i * DAY)) for i in range(29, -1, -1)])
        expect("Users", users)
        ub = h.avg("users", DAY, 30 * DAY)
        expect("User growth month over month", (users - ub) / ub)
        mrr = h.last("mrr")
        expect("MRR", mrr)
        mb = h.avg("mrr", DAY, 30 * DAY)
        expect("Revenue growth month over month", (mrr - mb) / mb)
        expect("Next scaling milestone", next(m for m in (1000, 5000, 10000, 25000) if mrr < m))
        expect("Total infrastructure and tools", total)
        expect("Cost per user", total / users)
        expect("Cost as share of revenue", total / revenue, met=total / revenue <= 0.2)
        inc = h.incidents(30 * DAY)
        expect("Incidents", len(inc))
        res = [i["seconds"] for i in inc if not i["open"]]
        mean = sum(res) / len(res)
        expect("Mean time to resolve", mean, met=mean <= 300)
        got = sorted(round(r["value"]) for l, r in items.items() if r.get("format") == "duration" and l != "Mean time to resolve")
        if got != sorted(round(s) for s in res):
            bad.append("incident durations %r, want %r" % (got, sorted(round(s) for s in res)))
        expect("Days since the last restore test", int(kv["restore_days"]), met=int(kv["restore_days"]) <= 31)
        expect("Days since the last disaster-recovery drill", int(kv["dr_days"]), met=int(kv["dr_days"]) <= 92)
        plan = notes_of(doc, "Next month's plan")
        misses = [l for l, it in items.items() if it.get("met") is False
                  and it.get("format") != "duration" or l == "Mean time to resolve" and it.get("met") is False]
        if len(plan) != len(set(misses)):
            bad.append("%d misses (%s) but %d plan items" % (len(set(misses)), ", ".join(sorted(set(misses))), len(plan)))
    for b in bad:
        print("mismatch:", b)
    print("# %s: %d items checked against a recomputation, %d mismatches" % (name, len(checked), len(bad)))
    return 1 if bad else 0


sys.exit(main())
