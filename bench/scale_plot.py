#!/usr/bin/python3
"""Plots bench/scale.sh's CSV: each figure of the agent against the store size.

    scale_plot.py SCALE.CSV OUT.PNG

Log-log axes (a straight line of slope 1 is linear growth), idle CPU on a linear
axis (it may be 0). Needs python3-matplotlib (bench/deps.sh).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = list(csv.DictReader(open(sys.argv[1])))
n = [int(r["certificates"]) for r in rows]
panels = [
    ("agent start (ms)", [("exec to /healthz 200", "start_ms", 1)], True),
    ("memory (MiB)", [("RSS, idle", "rss_kib", 1024), ("peak RSS (VmHWM: start-up or a scrape)", "peak_rss_kib", 1024),
                      ("RSS after the scrapes", "rss_after_kib", 1024)], True),
    ("/metrics scrape (ms)", [("median", "scrape_median_ms", 1), ("max", "scrape_max_ms", 1)], True),
    ("scheduler pass (ms)", [("median", "pass_median_ms", 1), ("max", "pass_max_ms", 1)], True),
    ("idle CPU (ms per minute)", [("idle CPU", "idle_cpu_ms_per_min", 1)], False),
]
fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
for ax, (title, series, log) in zip(axes, panels):
    for label, key, div in series:
        if key not in rows[0]:
            continue  # a CSV from before that column
        ax.plot(n, [max(float(r[key]) / div, 1e-3) for r in rows], marker="o", label=label)
    ax.set_xscale("log")
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("certificates in the store")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
fig.suptitle("acmectl agent against store size (log-log: slope 1 = linear growth)")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=80)
