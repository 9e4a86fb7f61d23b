#!/usr/bin/env python3
"""Write BENCHMARKS.md, docs/bench/*.dat and the gnuplot PNGs from a `make bench` run.

usage: bench_report.py OUT_DIR REPO_ROOT
OUT_DIR holds results.jsonl (one JSON object per measurement, written by scripts/bench.sh)
and machine.json. Every figure in the report comes from that one run.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

OUT, ROOT = sys.argv[1], sys.argv[2]
DOCS = os.path.join(ROOT, "docs", "bench")
rows = [json.loads(line) for line in open(os.path.join(OUT, "results.jsonl")) if line.strip()]
machine = json.load(open(os.path.join(OUT, "machine.json")))
by = {}
for r in rows:
    by.setdefault(r["name"], []).append(r)


def med(name, key):
    v = [r[key] for r in by.get(name, []) if key in r]
    return statistics.median(v) if v else None


def rng(name, key):
    v = [r[key] for r in by.get(name, []) if key in r]
    return (min(v), max(v)) if v else (None, None)


def total(name, key):
    return sum(r.get(key, 0) for r in by.get(name, []))


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return f"{100 * a / b:.0f} %" if a and b else "–"


def idle(name):
    v = [r["idle_pct"] for r in by.get(name, []) if "idle_pct" in r]
    return f"{min(v)}–{max(v)}" if v else "–"


def cmd(name):
    return by[name][0].get("cmd", "") if name in by else ""


hello = med("hello", "rps")
lines = []
w = lines.append
elapsed = by.get("elapsed", [{}])[0].get("seconds")
w("# Benchmarks\n")
w("Written by `make bench` (`scripts/bench.sh`, then `scripts/bench_report.py`); every figure "
  "below comes from one run of it, references included. What limits each figure, and the "
  "profiles behind that, are in [docs/performance.md](docs/performance.md). Raw data: "
  "[docs/bench/](docs/bench/).\n")
w(f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit `{machine['commit']}`, "
  f"{elapsed} s end to end.\n")
w("## Machine and method\n")
w("| | |\n|---|---|")
w(f"| CPU | {machine['nproc']} × {machine['model']} (paravirtualised VM; no hardware perf counters) |")
w(f"| memory | {machine['mem_gb']} GiB |")
w(f"| kernel | {machine['kernel']} |")
w(f"| network | loopback in a private network namespace ({machine['netns']}), port range "
  f"{'–'.join(machine['port_range'])}, somaxconn {machine['somaxconn']}, `ulimit -n` {machine['nofile']} |")
w(f"| pinning | broker side (every broker process and its threads, or the reference server) on CPU "
  f"{machine['broker_cpus']}; load generator on CPU {machine['load_cpus']} (`taskset -c`) |")
w(f"| load average before | {' '.join(machine['load_before'])} |")
w("")
w(f"Each HTTP figure is the **median of {machine['runs']} runs** of {machine['seconds']} s "
  "(after 0.5 s of unmeasured warm-up), 50 keep-alive connections unless stated, one request "
  "in flight per connection. Before every measurement the script waits (at most 15 s) until "
  "the whole machine is ≥ 90 % idle over 2 s and records the idle level it saw (column "
  "*idle %*: other engineers share this 2-core VM). *Server CPU* is utime+stime of every "
  "server process and thread (`/proc/PID/stat`) divided by the responses: steadier than "
  "req/s when the machine is noisy. Latency percentiles come from a log-linear histogram "
  "(≤ 3 % bucket error). The load generator is `sfb-load` (tests/load/, epoll, about as cheap per "
  "request as wrk; the wrk row is one cross-check run against the same server, so read "
  "it with its idle level).\n")

w("## HTTP: broker against the h2o hello-world reference\n")
w("The reference `sfb-hello` is libh2o-evloop with the frontend's own settings, answering "
  "every request with a fixed 200 (no JSON, no ZeroMQ). The broker is metricsd + matcher + "
  "one frontend, all on the broker CPU.\n")
w("| scenario | median req/s (min–max) | vs hello | p50 / p99 / p999 µs | errors | server CPU µs/req | idle % |")
w("|---|---|---|---|---|---|---|")
http = [("hello", "GET /hello, sfb-hello (reference)"),
        ("proxy-idle", "(a) idle proxy poll: `--proxy-timeout 1ms`, answered `no match`"),
        ("proxy-refused", "(a′) proxy poll refused by relay pattern (immediate 200)"),
        ("client-noproxy", "(b) client poll, no proxy: immediate `no snowflake proxies` 200"),
        ("rendezvous", "(c) full rendezvous, 200 proxy + 50 client loops (all HTTP requests)")]
for name, label in http:
    if name not in by:
        continue
    lo, hi = rng(name, "rps")
    w(f"| {label} | **{fmt(med(name, 'rps'))}** ({fmt(lo)}–{fmt(hi)}) | "
      f"{ratio(med(name, 'rps'), hello) if name != 'hello' else '100 %'} | "
      f"{fmt(med(name, 'p50_us'))} / {fmt(med(name, 'p99_us'))} / {fmt(med(name, 'p999_us'))} | "
      f"{total(name, 'errors')} | {fmt(med(name, 'server_cpu_us_per_req'), 1)} | {idle(name)} |")
if "wrk-hello" in by:
    w(f"| GET /hello with wrk (cross-check of the load generator) | {fmt(med('wrk-hello', 'rps'))} | "
      f"{ratio(med('wrk-hello', 'rps'), hello)} | | | | {idle('wrk-hello')} |")
w("")
if "rendezvous" in by:
    w(f"**Full rendezvous: {fmt(med('rendezvous', 'rendezvous_per_s'))} rendezvous/s** "
      f"(min–max {fmt(rng('rendezvous', 'rendezvous_per_s')[0])}–{fmt(rng('rendezvous', 'rendezvous_per_s')[1])}); "
      f"client offer → answer latency p50 {fmt(med('rendezvous', 'p50_us'))} µs, p99 "
      f"{fmt(med('rendezvous', 'p99_us'))} µs; `no snowflake proxies` answers: "
      f"{sum(r['bodies']['no_proxies'] for r in by['rendezvous'])}. "
      "A rendezvous is: the proxy's poll answered `client match`, its POST /answer answered "
      "`success`, and the client's POST /client answered with that answer.\n")
w("Scenario (a) needs a hold of zero; the matcher's and frontend's `--proxy-timeout` minimum "
  "is 1 ms, so (a) uses 1 ms: every poll is pooled, timed out by the matcher's timer and "
  "answered `no match` (the whole idle path, plus ≥ 1 ms of hold in its latency, which caps "
  "50 connections below 50k req/s). (a′) is the same request refused by the relay-pattern "
  "check: immediate, but it skips pooling. The truth for idle polls lies between the two.\n")

w("## Reference broker\n")
if "reference-skipped" in by:
    w("Skipped: `REFERENCE_BROKER` was not set (no upstream broker is installed on this "
      "machine). To measure one in the same run: `REFERENCE_BROKER='/path/to/broker -addr "
      "127.0.0.1:{port} -disable-tls -allowed-relay-pattern snowflake.torproject.net$' make "
      "bench`; it then runs (a′), (b) and (c) against it with the same pinning, and the "
      "ratios appear here.\n")
else:
    w("| scenario | reference req/s | ours | ours / reference |\n|---|---|---|---|")
    for ref, ours in [("ref-proxy-refused", "proxy-refused"),
                      ("ref-client-noproxy", "client-noproxy"), ("ref-rendezvous", "rendezvous")]:
        key = "rendezvous_per_s" if "rendezvous" in ref else "rps"
        a, b = med(ref, key), med(ours, key)
        w(f"| {ours} ({key}) | {fmt(a)} | {fmt(b)} | {f'{b / a:.2f}×' if a and b else '–'} |")
    w(f"\nCommand: `{os.environ.get('REFERENCE_BROKER', '(see bench-out/reference.log)')}`\n")

w("## Frontends with `--reuseport`\n")
fe = [(1, "client-noproxy"), (2, "client-noproxy-fe2"), (4, "client-noproxy-fe4")]
os.makedirs(DOCS, exist_ok=True)
with open(os.path.join(DOCS, "frontends.dat"), "w") as f:
    f.write("# frontends  median_req_s  min  max  server_cpu_us_per_req  (scenario b)\n")
    for n, name in fe:
        if name in by:
            lo, hi = rng(name, "rps")
            f.write(f"{n} {med(name, 'rps'):.0f} {lo:.0f} {hi:.0f} {med(name, 'server_cpu_us_per_req')}\n")
w("Scenario (b), every frontend on the same single broker CPU (this VM has two cores, one of "
  "them for the load): the curve shows what extra processes cost, not parallel speed-up.\n")
w("| frontends | median req/s (min–max) | server CPU µs/req | idle % |\n|---|---|---|---|")
for n, name in fe:
    if name in by:
        lo, hi = rng(name, "rps")
        w(f"| {n} | {fmt(med(name, 'rps'))} ({fmt(lo)}–{fmt(hi)}) | "
          f"{fmt(med(name, 'server_cpu_us_per_req'), 1)} | {idle(name)} |")
w("\n![req/s against frontends](docs/bench/frontends.png)\n")

w("## Held proxy polls: memory\n")
holds = sorted((int(n.split("-")[1]), n) for n in by if n.startswith("hold-"))
with open(os.path.join(DOCS, "hold-rss.dat"), "w") as f:
    f.write("# held_polls  rss_before_kb  rss_held_kb  bytes_per_held  (all broker processes)\n")
    for n, name in holds:
        r = by[name][0]
        f.write(f"{n} {r['rss_before_kb']} {r['rss_held_kb']} {r['bytes_per_held']}\n")
w("One frontend, `--proxy-timeout 20s`. `sfb-load --scenario hold` opens N connections from "
  "127.0.0.2–5 (4 source addresses × 64k ports), each sends one poll, waits until the "
  "broker's own `/debug` shows N proxies available, then sums VmRSS of every broker process "
  "(metricsd, matcher, frontend); then it waits for every poll's `no match` at the end of "
  "the hold. Errors count anything else (early answer, reset, other body).\n")
w("| held polls | per /debug | RSS before (kB) | RSS held (kB) | bytes per held poll | `no match` answers | errors | idle % |")
w("|---|---|---|---|---|---|---|---|")
for n, name in holds:
    r = by[name][0]
    w(f"| {n:,} | {r['debug_held']:,} | {r['rss_before_kb']:,} | {r['rss_held_kb']:,} | "
      f"**{r['bytes_per_held']:,}** | {r['bodies']['no_match']:,} | {r['errors']} | {r['idle_pct']} |")
w("\n![RSS against held polls](docs/bench/hold-rss.png)\n")
w("Kernel knobs for 100k held polls (the bench sets the per-namespace ones itself): "
  "`ulimit -n` ≥ 2 × N on one host (both ends; the bench raises the hard limit to "
  "`fs.nr_open` = 1048576), `net.ipv4.ip_local_port_range` = `1024 65535` and several "
  "source addresses (`IP_BIND_ADDRESS_NO_PORT`) or frontend ports for the client side, "
  "`net.core.somaxconn` and `net.ipv4.tcp_max_syn_backlog` ≥ the connect burst. Kernel "
  "socket buffers are not in RSS.\n")

w("## Matcher alone (ZeroMQ, no HTTP)\n")
w("`sfb-mtbench`: one DEALER on the load CPU, the matcher (and its ZeroMQ I/O thread) on the "
  "broker CPU, no subscriber on the PUB. A cycle is PROXY_POLL + CLIENT_OFFER → "
  "PROXY_REPLY(match) → PROXY_ANSWER → ANSWER_REPLY + CLIENT_REPLY: 3 requests, 3 replies. "
  "*ops/s* counts requests handled (each with its reply). *hop* is PROXY_ANSWER → ANSWER_REPLY "
  "as the driver sees it (both ZeroMQ I/O threads and the matcher loop).\n")
w("| run | ops/s (min–max) | rendezvous/s | hop p50 / p99 / p999 µs | cycle p50 / p99 µs | idle % |")
w("|---|---|---|---|---|---|")
for name, label in [("matcher", "unpaced, 256 cycles in flight"),
                    ("matcher-half", "paced at half the unpaced rendezvous rate")]:
    if name in by:
        lo, hi = rng(name, "ops_per_s")
        w(f"| {label} | **{fmt(med(name, 'ops_per_s'))}** ({fmt(lo)}–{fmt(hi)}) | "
          f"{fmt(med(name, 'rendezvous_per_s'))} | {fmt(med(name, 'hop_p50_us'))} / "
          f"{fmt(med(name, 'hop_p99_us'))} / {fmt(med(name, 'hop_p999_us'))} | "
          f"{fmt(med(name, 'cycle_p50_us'))} / {fmt(med(name, 'cycle_p99_us'))} | {idle(name)} |")
w("")

w("## metricsd ingest\n")
w("`sfb-evbench`: an XPUB with the matcher's send HWM publishes events (proto/sfb_event.h; "
  "proxy-poll, client-poll and proxy-answer in turn) to one metricsd on the broker CPU; "
  "metricsd's own figures (`snowflake_metricsd_events_total`, `..._missed_events_total`, "
  "unique-set gauges on `--prometheus-addr`) give what it counted and what it lost.\n")
w("*counted* includes the final tail event. *ingest events/s* is what metricsd counted "
  "divided by the time until it had counted or missed every event (10 ms polling).\n")
w("| run | published/s | counted | missed | ingest events/s | idle % |\n|---|---|---|---|---|---|")
for name, label in [("metricsd", "3M events, unpaced"),
                    ("metricsd --rate 1000000", "3M events paced at 1M/s")]:
    for r in by.get(name, []):
        kept = r["rate"] and r["missed"] == 0
        ingest = "kept up (paced)" if kept else fmt(r["ingest_per_s"])
        w(f"| {label} #{r['run']} | {fmt(r['publish_per_s'])} | {fmt(r['counted'])} | "
          f"{fmt(r['missed'])} | {ingest} | {r['idle_pct']} |")
if "metricsd-unique" in by:
    r = by["metricsd-unique"][0]
    w(f"\n**1M unique tags in one interval** (1M proxy-poll events, each a new tag, paced at "
      f"{fmt(r['rate'])}/s): counted {fmt(r['counted'])}, missed {fmt(r['missed'])}; unique "
      f"set {fmt(r['set_entries'])} keys in {fmt(r['set_bytes'] / 2**20, 1)} MiB "
      f"({r['set_bytes'] / max(r['counted'] - 1, 1):.1f} bytes per tag: three keys per tag, "
      f"all/NAT/type); metricsd VmRSS {fmt(r['rss_before_kb'])} → {fmt(r['rss_after_kb'])} kB "
      "(the rest is libzmq's receive queue high-water and allocator slack).\n")

w("## Targets\n")
hold_max = holds[-1] if holds else None
tg = []
for name, label in [("proxy-idle", "idle /proxy (1 ms hold)"), ("proxy-refused", "immediate /proxy (refused)"),
                    ("client-noproxy", "no-proxy /client")]:
    v = med(name, "rps")
    tg.append((f"{label} ≥ 70 % of hello", ratio(v, hello), bool(v and hello and v >= 0.7 * hello)))
rz = med("rendezvous", "rendezvous_per_s")
tg.append(("full rendezvous ≥ 5k/s", f"{fmt(rz)}/s", bool(rz and rz >= 5000)))
hp = med("matcher-half", "hop_p99_us")
tg.append(("matcher hop p99 < 1 ms at half load", f"{fmt(hp)} µs", bool(hp is not None and hp < 1000)))
if hold_max:
    r = by[hold_max[1]][0]
    ok = r["bytes_per_held"] <= 6144 and r["errors"] == 0 and r["debug_held"] >= hold_max[0]
    tg.append((f"{hold_max[0]:,} held polls ≤ 6 KB RSS each, zero errors",
               f"{r['bytes_per_held']:,} B each, {r['errors']} errors", ok))
mo = med("matcher", "ops_per_s")
tg.append(("matcher ≥ 500k ops/s", f"{fmt(mo)} ops/s ({fmt(med('matcher', 'rendezvous_per_s'))} rendezvous/s)",
           bool(mo and mo >= 500000)))
paced = by.get("metricsd --rate 1000000", [])
lossless = paced and all(r["missed"] == 0 for r in paced)
tg.append(("metricsd ≥ 1M events/s without loss",
           f"unpaced ingest {fmt(med('metricsd', 'ingest_per_s'))}/s; at 1M/s missed "
           f"{', '.join(fmt(r['missed']) for r in paced)}", bool(lossless)))
w("| target | measured | met |\n|---|---|---|")
for t, m, ok in tg:
    w(f"| {t} | {m} | {'yes' if ok else '**no**'} |")
w("")

w("## Commands\n")
w("```sh\nmake bench                      # build (Release) + scripts/bench.sh + this report")
w("BENCH_RUNS=5 BENCH_SECONDS=8 make bench   # longer; HOLDS=\"10000\" for a quick one\n```\n")
w("Exact load commands of this run (`RUN` is the bench's temporary ipc directory; "
  f"the server is on 127.0.0.1, port from the namespace):\n")
w("```")
for name in ["hello", "wrk-hello", "proxy-idle", "proxy-refused", "client-noproxy",
             "client-noproxy-fe2", "rendezvous"] + [n for _, n in holds] + \
        ["matcher", "matcher-half", "metricsd", "metricsd --rate 1000000", "metricsd-unique"]:
    if name in by:
        w(f"{name}: {cmd(name)}")
w("```")
w("Broker command lines are in `scripts/bench.sh` (`start_broker`).\n")

open(os.path.join(ROOT, "BENCHMARKS.md"), "w").write("\n".join(lines) + "\n")
shutil.copy(os.path.join(OUT, "results.jsonl"), os.path.join(DOCS, "results.jsonl"))
shutil.copy(os.path.join(OUT, "machine.json"), os.path.join(DOCS, "machine.json"))

base_mb = min((by[n][0]["rss_before_kb"] for _, n in holds), default=0) / 1024
plots = f"""
set terminal pngcairo size 720,420 font ',10'
set grid
set key top left
set output '{DOCS}/frontends.png'
set title 'Scenario (b) no-proxy /client: req/s against frontends (one broker CPU)'
set xlabel 'frontends (--reuseport)'
set ylabel 'requests/s (median, min-max)'
set xtics (1, 2, 4)
set xrange [0.5:4.5]
set yrange [0:*]
plot '{DOCS}/frontends.dat' using 1:2:3:4 with yerrorlines lw 2 title 'broker', \\
     {hello or 0} with lines dt 2 title 'h2o hello-world (1 process)'
set output '{DOCS}/hold-rss.png'
set title 'RSS of all broker processes against held proxy polls'
set xlabel 'held proxy polls'
set ylabel 'MB (VmRSS sum)'
set xtics auto
set xrange [0:*]
plot '{DOCS}/hold-rss.dat' using 1:($3/1024) with linespoints lw 2 title 'held', \\
     '{DOCS}/hold-rss.dat' using 1:($2/1024) with linespoints dt 2 title 'before', \\
     x * 6144 / 1048576 + {base_mb:.1f} with lines dt 3 title 'target: 6 KB per poll'
"""
if shutil.which("gnuplot"):
    subprocess.run(["gnuplot"], input=plots, text=True, check=False)
else:
    print("bench_report: gnuplot missing: no PNG", file=sys.stderr)
print(f"bench_report: wrote {ROOT}/BENCHMARKS.md and {DOCS}/", file=sys.stderr)
