#!/usr/bin/env python3
"""Benchmarks `labc build` and `labc check` against `nickel export` of the
same lab file, as whole processes, side by side in one run.

    bash bench/run.sh            # builds what it needs, then runs this
    python3 bench/run.py --runs 15 --sizes 100,300,1000

For each lab (the repository's lab.ncl, then synthetic labs from
bench/gen-lab.py) it runs every command `--warmup` times, then `--runs`
times, round-robin so that machine noise hits all commands alike. Wall time
is measured around fork/exec/wait, peak memory is the child's ru_maxrss
(os.wait4). It reports medians with min-max spread, the labc/nickel ratios,
and the cost per app. Nothing here is a test: it prints a table.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(cmd, cwd, before=None):
    """Runs cmd once; returns (seconds, peak RSS in KiB)."""
    if before:
        before()
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(map(str, cmd))} exited {code} in {cwd}:\n{err}")
    return elapsed, usage.ru_maxrss


def lay_out(dir_: Path, lab_text: str):
    dir_.mkdir(parents=True)
    (dir_ / "lab.ncl").write_text(lab_text)
    shutil.copytree(ROOT / "schemas", dir_ / "schemas")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--labc", default=str(ROOT / "target/release/labc"))
    ap.add_argument("--nickel", default=str(ROOT / "target/tools/nickel/bin/nickel"))
    ap.add_argument("--json", default=str(ROOT / "target/bench/results.json"))
    args = ap.parse_args()
    for exe in (args.labc, args.nickel):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is missing: run `bash bench/run.sh` (it builds both)")

    sys.path.insert(0, str(ROOT / "bench"))
    gen = __import__("gen-lab")

    work = Path(tempfile.mkdtemp(prefix="labc-bench-"))
    labs = [("reference", None, (ROOT / "lab.ncl").read_text())]
    labs += [(f"{n} apps", n, gen.lab(n)) for n in map(int, args.sizes.split(","))]
    results = []
    try:
        for name, n_apps, text in labs:
            d = work / name.replace(" ", "-")
            lay_out(d, text)
            gen_dir = d / "generated"
            # The steady state of a pre-commit hook: generated/ exists and is current.
            subprocess.run([args.labc, "build", "-q"], cwd=d, check=True)
            n_files = sum(len(f) for _, _, f in os.walk(gen_dir))
            commands = {
                "nickel export": ([args.nickel, "export", "--format", "json", "lab.ncl"], None),
                "labc check": ([args.labc, "check", "-q"], None),
                "labc build": ([args.labc, "build", "-q"], None),
                "labc build (cold)": (
                    [args.labc, "build", "-q"],
                    lambda: shutil.rmtree(gen_dir, ignore_errors=True),
                ),
            }
            samples = {k: [] for k in commands}
            for i in range(args.warmup + args.runs):
                for label, (cmd, before) in commands.items():
                    t, rss = measure(cmd, d, before)
                    if i >= args.warmup:
                        samples[label].append((t, rss))
            base_t = statistics.median(t for t, _ in samples["nickel export"])
            base_m = statistics.median(m for _, m in samples["nickel export"])
            for label, s in samples.items():
                ts = [t for t, _ in s]
                ms = [m for _, m in s]
                results.append(
                    {
                        "lab": name,
                        "apps": n_apps if n_apps else 7,
                        "files": n_files,
                        "command": label,
                        "median_ms": statistics.median(ts) * 1e3,
                        "min_ms": min(ts) * 1e3,
                        "max_ms": max(ts) * 1e3,
                        "ratio": statistics.median(ts) / base_t,
                        "peak_mib": statistics.median(ms) / 1024,
                        "mem_ratio": statistics.median(ms) / base_m,
                    }
                )
            print(f"done: {name}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.runs} runs after {args.warmup} warm-up runs each; median (min-max).\n")
    print("| lab | command | wall ms | ratio to nickel | peak MiB | memory ratio | ms per app |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        per_app = f"{r['median_ms'] / r['apps']:.3f}"
        print(
            f"| {r['lab']} | {r['command']} | {r['median_ms']:.1f} ({r['min_ms']:.1f}-{r['max_ms']:.1f}) "
            f"| {r['ratio']:.2f} | {r['peak_mib']:.1f} | {r['mem_ratio']:.2f} | {per_app} |"
        )
    sizes = sorted({r["apps"] for r in results if r["lab"] != "reference"})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"\nPer-app cost, {large} apps vs {small} apps (1.00 = linear):\n")
        print("| command | ratio |")
        print("|---|---|")
        for label in ("nickel export", "labc check", "labc build", "labc build (cold)"):
            per = {
                r["apps"]: r["median_ms"] / r["apps"]
                for r in results
                if r["command"] == label and r["lab"] != "reference"
            }
            print(f"| {label} | {per[large] / per[small]:.2f} |")


if __name__ == "__main__":
    main()
