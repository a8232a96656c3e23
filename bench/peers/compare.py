#!/usr/bin/env python3
"""Same queries, same events, ClickHouse vs ours: every point compared, latency p50/p99 of each.
Usage: compare.py START_MS END_MS OURS_URL [runs]"""
import datetime, http.client, json, statistics, sys, time, urllib.parse

S, E, URL = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
RUNS = int(sys.argv[4]) if len(sys.argv) > 4 else 20
U = urllib.parse.urlparse(URL)
W = f"ts >= toDateTime({S // 1000}) AND ts < toDateTime({E // 1000})"


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


Q = [  # name, ClickHouse SQL (t, [group], value), our query string
    ("a 24h@1m count evt_00",
     f"SELECT toUnixTimestamp(toStartOfMinute(ts))*1000 AS t, count() FROM bench.events WHERE event_type='evt_00' AND {W} GROUP BY t ORDER BY t",
     "metric=evt_00&function=count&granularity=1m"),
    ("b 24h@1h sum evt_03 value category=cat4",
     f"SELECT toUnixTimestamp(toStartOfHour(ts))*1000 AS t, sum(value) FROM bench.events WHERE event_type='evt_03' AND category='cat4' AND {W} GROUP BY t ORDER BY t",
     "metric=evt_03_value&function=sum&filter=category:cat4&granularity=1h"),
    ("c 24h@1h count evt_00 by device",
     f"SELECT toUnixTimestamp(toStartOfHour(ts))*1000 AS t, device, count() FROM bench.events WHERE event_type='evt_00' AND {W} GROUP BY t, device ORDER BY t, device",
     "metric=evt_00&function=count&groupBy=device&granularity=1h"),
    ("d 24h@1h count evt_00 country=c7 AND device=ios",
     f"SELECT toUnixTimestamp(toStartOfHour(ts))*1000 AS t, count() FROM bench.events WHERE event_type='evt_00' AND country='c7' AND device='ios' AND {W} GROUP BY t ORDER BY t",
     "metric=evt_00&function=count&filter=country:c7&filter=device:ios&granularity=1h"),
    ("e 24h@1h count evt_00 by page (200)",
     f"SELECT toUnixTimestamp(toStartOfHour(ts))*1000 AS t, page, count() FROM bench.events WHERE event_type='evt_00' AND {W} GROUP BY t, page ORDER BY t, page",
     "metric=evt_00&function=count&groupBy=page&limit=200&granularity=1h"),
    ("f 24h@1h max evt_01 value by country (50)",
     f"SELECT toUnixTimestamp(toStartOfHour(ts))*1000 AS t, country, max(value) FROM bench.events WHERE event_type='evt_01' AND {W} GROUP BY t, country ORDER BY t, country",
     "metric=evt_01_value&function=max&groupBy=country&limit=50&granularity=1h"),
]

ch = http.client.HTTPConnection("127.0.0.1", 8123, timeout=600)
ours = http.client.HTTPConnection(U.hostname, U.port, timeout=600)
# The server's API key (read scope at least): export AGGREGATOR_KEY=$(cat data/admin.key)
AUTH = {"Authorization": "Bearer " + __import__("os").environ["AGGREGATOR_KEY"]}


def run_ch(sql):
    ch.request("POST", "/?" + urllib.parse.urlencode({"query": sql}), body=b"")
    r = ch.getresponse(); d = r.read().decode()
    assert r.status == 200, d[:300]
    out = {}
    for line in d.splitlines():
        p = line.split("\t")
        out[(int(p[0]), p[1] if len(p) == 3 else None)] = float(p[-1])
    return out


def run_ours(qs):
    ours.request("GET", f"/api/analytics/query?{qs}&start={S}&end={E}", headers=AUTH)
    r = ours.getresponse(); d = json.loads(r.read())
    assert r.status == 200, d
    out = {}
    if "series" in d:
        for s in d["series"]:
            g = list(s["dimensions"].values())[0]
            for p in s["data"]:
                out[(parse(p["timestamp"]), g)] = p["value"]
    else:
        for p in d["data"]:
            out[(parse(p["timestamp"]), None)] = p["value"]
    return out, d.get("source")


def parse(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def timed(f, arg):
    f(arg)  # warm
    lat = []
    for _ in range(RUNS):
        t0 = time.perf_counter(); f(arg); lat.append((time.perf_counter() - t0) * 1e3)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]


print(f"window {iso(S)} .. {iso(E)}, {RUNS} timed runs each, one query at a time")
print("| query | points | equal | source | ours p50 / p99 ms | ClickHouse p50 / p99 ms |")
print("|---|---|---|---|---|---|")
for name, sql, qs in Q:
    a = run_ch(sql)
    b, src = run_ours(qs)
    bad = [k for k in set(a) | set(b) if k not in a or k not in b or abs(a[k] - b[k]) > 1e-6 * max(1, abs(a[k]))]
    o50, o99 = timed(lambda x: run_ours(x), qs)
    c50, c99 = timed(run_ch, sql)
    print(f"| {name} | {len(a)} | {'all' if not bad else f'{len(bad)} differ, e.g. {sorted(bad)[0]}: CH {a.get(sorted(bad)[0])} ours {b.get(sorted(bad)[0])}'} | {src} | {o50:.1f} / {o99:.1f} | {c50:.1f} / {c99:.1f} |")
