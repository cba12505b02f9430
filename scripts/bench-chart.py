#!/usr/bin/env python3
"""Turns `jhsim bench churn --json` / `jhsim bench sweep --json` results into the tables
and the chart of Docs/benchmarks.md.

    scripts/bench-chart.py RESULTS.jsonl [--doc Docs/benchmarks.md] [--svg Docs/images/bench-cycles.svg]

RESULTS.jsonl holds one JSON object per line, as scripts/bench-figures.sh writes them.
The tables replace what stands between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in
the doc; everything else in the doc is left alone. Standard library only.
"""
import argparse
import json
import math
import re
import sys


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
    return rows


def dur(ns):
    if ns is None:
        return "–"
    ns = float(ns)
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def num(v, digits=0):
    if v is None:
        return "–"
    if v >= 100 or digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def churn_table(rows):
    out = ["| executor | vCPUs | cell CPUs | procs | cycles | cycles/s | wall p50 | wall p99 | modelled create | "
           "modelled destroy | sim. cycles per modelled create | cycles per CPU-s | mallocs/cycle | peak RSS | handoffs/cycle | "
           "handoff | handoff-bound cycles/s | of bound |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        per_real = r["virtualCreateNs"] / 1e9 * r["cyclesPerSecond"]
        eff = r.get("handoffEfficiency")
        out.append("| " + " | ".join([
            r["executor"], str(r["cpus"]), str(r["cellCpus"]), str(r["processes"]), f'{r["cycles"]:,}',
            num(r["cyclesPerSecond"], 1), dur(r["wallP50Ns"]), dur(r["wallP99Ns"]),
            dur(r["virtualCreateNs"]), dur(r["virtualDestroyNs"]), num(per_real, 2), num(r.get("cyclesPerCPUSecond"), 1),
            num(r.get("mallocsPerCycle")), f'{r["peakRSSBytes"] / 1048576:.0f} MiB',
            num(r.get("handoffsPerCycle"), 1), dur(r.get("handoffNs")),
            num(r.get("handoffLimitCyclesPerSecond"), 1), "–" if eff is None else f"{eff * 100:.0f} %",
        ]) + " |")
    return "\n".join(out)


PHASES = ["lock_wait", "cpu_down", "hypercall", "suspension", "park", "cpu_up", "other"]


def breakdown_table(rows):
    out = ["| vCPUs | cell CPUs | procs | op | " + " | ".join(PHASES) + " | total |",
           "|---:|---:|---:|---|" + "---:|" * (len(PHASES) + 1)]
    seen = set()
    for r in rows:
        key = (r["cpus"], r["cellCpus"], r["processes"])
        if key in seen:  # both executors model the same thing
            continue
        seen.add(key)
        for op, field, total in (("create", "virtualCreateBreakdownNs", "virtualCreateNs"),
                                 ("destroy", "virtualDestroyBreakdownNs", "virtualDestroyNs")):
            b = r[field]
            out.append(f'| {r["cpus"]} | {r["cellCpus"]} | {r["processes"]} | {op} | '
                       + " | ".join(dur(b.get(p, 0)) if b.get(p, 0) else "0" for p in PHASES)
                       + f" | {dur(r[total])} |")
    return "\n".join(out)


def sweep_table(rows):
    out = ["| scenario | runs | runs/s | mean per run | mallocs/run | peak RSS | failing runs |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f'| {r["scenario"]} | {r["runs"]:,} | {num(r["runsPerSecond"], 1)} | '
                   f'{dur(r["wallNs"] / max(1, r["runs"]))} | {num(r.get("mallocsPerRun"))} | '
                   f'{r["peakRSSBytes"] / 1048576:.0f} MiB | {r["failingRuns"]} |')
    return "\n".join(out)


COLOURS = {("inline", "small"): "#1f77b4", ("dispatch", "small"): "#d62728",
           ("inline", "large"): "#6baed6", ("dispatch", "large"): "#ff9896"}


def chart(rows):
    """cycles/s against vCPUs, log–log, one line per executor and cell size."""
    series = {}
    for r in rows:
        if r["processes"] != 1:
            continue
        kind = "small" if r["cellCpus"] == 1 else "large"
        series.setdefault((r["executor"], kind), []).append((r["cpus"], r["cyclesPerSecond"], r["cellCpus"]))
    pts = [p for s in series.values() for p in s]
    if not pts:
        sys.exit("no single-process churn results to draw")
    w, h, left, right, top, bottom = 720, 440, 80, 200, 40, 60
    xs = sorted({p[0] for p in pts})
    xmin, xmax = math.log10(min(xs)), math.log10(max(xs))
    ymin = math.floor(math.log10(max(1e-3, min(p[1] for p in pts))))
    ymax = math.ceil(math.log10(max(p[1] for p in pts)))
    if ymax == ymin:
        ymax += 1

    def x(v):
        return left + (math.log10(v) - xmin) / max(1e-9, xmax - xmin) * (w - left - right)

    def y(v):
        return top + (ymax - math.log10(max(v, 10 ** ymin))) / (ymax - ymin) * (h - top - bottom)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
         'font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<text x="{left}" y="22" font-size="14" font-weight="bold">jhsim bench churn: cycles/s against machine size</text>']
    for e in range(int(ymin), int(ymax) + 1):
        yy = y(10 ** e)
        o.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{w - right}" y2="{yy:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end">{10 ** e:,g}</text>')
    for v in xs:
        xx = x(v)
        o.append(f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{h - bottom}" stroke="#eee"/>')
        o.append(f'<text x="{xx:.1f}" y="{h - bottom + 18}" text-anchor="middle">{v}</text>')
    o.append(f'<text x="{(left + w - right) / 2}" y="{h - 18}" text-anchor="middle">vCPUs of the simulated machine (log)</text>')
    o.append(f'<text x="18" y="{(top + h - bottom) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 18 {(top + h - bottom) / 2})">create+destroy cycles per second (log)</text>')
    o.append(f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="none" stroke="#888"/>')
    legend_y = top + 10
    for key in sorted(series, key=lambda k: (k[1], k[0])):
        pts_s = sorted(series[key])
        colour = COLOURS.get(key, "#444")
        dash = "" if key[1] == "small" else ' stroke-dasharray="6 3"'
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(c):.1f},{y(v):.1f}" for i, (c, v, _) in enumerate(pts_s))
        o.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for c, v, k in pts_s:
            o.append(f'<circle cx="{x(c):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}"><title>{key[0]}, '
                     f'{k}-CPU cell on {c} vCPUs: {v:,.1f} cycles/s</title></circle>')
        label = f"{key[0]}, " + ("1-CPU cell" if key[1] == "small" else "cell of " + "/".join(
            sorted({str(k) for _, _, k in pts_s}, key=int)) + " CPUs")
        o.append(f'<line x1="{w - right + 12}" y1="{legend_y}" x2="{w - right + 36}" y2="{legend_y}" stroke="{colour}" '
                 f'stroke-width="2"{dash}/>')
        o.append(f'<text x="{w - right + 42}" y="{legend_y + 4}">{label}</text>')
        legend_y += 20
    o.append("</svg>")
    return "\n".join(o) + "\n"


def replace_block(doc, name, body):
    pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
    if not pattern.search(doc):
        sys.exit(f"the doc has no <!-- bench:{name} --> … <!-- /bench:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--doc")
    ap.add_argument("--svg")
    ap.add_argument("--stamp", default="", help="a line naming the run (date, commit, machine)")
    a = ap.parse_args()
    rows = load(a.results)
    churn = [r for r in rows if r.get("kind") == "churn"]
    sweeps = [r for r in rows if r.get("kind") == "sweep"]
    churn.sort(key=lambda r: (r["processes"], r["executor"] != "inline", r["cellCpus"] != 1, r["cpus"], r["cellCpus"]))
    tables = {"churn": churn_table(churn), "breakdown": breakdown_table(
        sorted(churn, key=lambda r: (r["processes"], r["cpus"], r["cellCpus"]))), "sweep": sweep_table(sweeps)}
    if a.stamp:
        tables["stamp"] = a.stamp
    if a.svg:
        with open(a.svg, "w", encoding="utf-8") as f:
            f.write(chart(churn))
    if a.doc:
        with open(a.doc, encoding="utf-8") as f:
            doc = f.read()
        for name, body in tables.items():
            doc = replace_block(doc, name, body)
        with open(a.doc, "w", encoding="utf-8") as f:
            f.write(doc)
    else:
        for name, body in tables.items():
            print(f"## {name}\n\n{body}\n")


if __name__ == "__main__":
    main()
