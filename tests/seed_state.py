#!/usr/bin/env python3
"""Seeds a drishti state file (made by drishti, so the schema is its own)
with simulated history: CHECKS checks run every minute for DAYS days, each
recording one metric.  Raw runs and samples for the last RAW_HOURS hours,
hourly roll-ups (with the sparse histogram drishti writes) for all of it.
usage: seed_state.py STATE_DB CHECKS DAYS RAW_HOURS"""
import math, random, sqlite3, struct, sys, time

db_path, checks, days, raw_hours = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
BASE, FLOOR = 1.2, 1e-6
random.seed(42)


def bucket(v):
    if not v > FLOOR:
        return 0
    b = 1 + math.floor(math.log(v / FLOOR) / math.log(BASE))
    return min(max(b, 1), 255)


db = sqlite3.connect(db_path)
now = time.time()
first_hour = int((now - days * 86400) // 3600)
last_hour = int(now // 3600)
roll, runs, samples = [], [], []
for c in range(checks):
    name = "c%d" % c
    for hour in range(first_hour, last_hour + 1):
        raw = hour * 3600 >= now - raw_hours * 3600 - 3600
        if raw:
            # the raw window: every minute, as the agent would have written it
            counts = [0, 0, 0, 0]
            hist, vals = {}, []
            for m in range(60):
                ts = hour * 3600 + m * 60
                if ts > now:
                    break
                st = 0 if random.random() > 0.002 else 2
                v = random.lognormvariate(math.log(0.05), 0.5)
                counts[st] += 1
                vals.append(v)
                hist[bucket(v)] = hist.get(bucket(v), 0) + 1
                if ts >= now - raw_hours * 3600:
                    runs.append((name, ts, st, v, "ok" if st == 0 else "failed"))
                    samples.append((name, "rt_" + name, ts, v, "s"))
            if not vals:
                continue
            n, s_, mn, mx = sum(counts), sum(vals), min(vals), max(vals)
        else:
            # older hours: the same distribution, drawn coarsely (fast)
            vals = [random.lognormvariate(math.log(0.05), 0.5) for _ in range(6)]
            hist = {}
            for v in vals:
                hist[bucket(v)] = hist.get(bucket(v), 0) + 10
            fails = 1 if random.random() < 0.12 else 0
            counts = [60 - fails, 0, fails, 0]
            n, s_, mn, mx = 60, sum(vals) * 10, min(vals), max(vals)
        blob = b"".join(struct.pack("<BI", b, c) for b, c in sorted(hist.items()))
        roll.append((0, name, hour, n, counts[0], counts[1], counts[2], counts[3], s_, mn, mx, blob))
        roll.append((1, "rt_" + name, hour, n, n, 0, 0, 0, s_, mn, mx, blob))
    if len(roll) > 200000:
        db.executemany("INSERT OR REPLACE INTO rollups VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", roll)
        roll = []
db.executemany("INSERT OR REPLACE INTO rollups VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", roll)
db.executemany("INSERT INTO runs (check_name, ts, status, duration, summary) VALUES (?,?,?,?,?)", runs)
db.executemany("INSERT INTO samples (check_name, metric, ts, value, unit) VALUES (?,?,?,?,?)", samples)
db.commit()
db.execute("VACUUM")
db.close()
