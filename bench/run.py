#!/usr/bin/env python3
"""Benchmarks `labc build` and `labc check` against `nickel export` of the
same lab file, as whole processes, side by side in one run.

    bash bench/run.sh            # builds what it needs, then runs this
    python3 bench/run.py --runs 15 --sizes 100,300,1000

For each lab (the repository's lab.ncl, then synthetic labs from
bench/gen-lab.py, each in a scratch folder with a copy of schemas/) it runs
every command `--warmup` times, then `--runs` times, round-robin so that
machine noise hits all commands alike. Wall time is measured around
fork/exec/wait; peak memory is the child's own ru_maxrss (os.wait4), so
Python's memory is not counted. It reports medians with min-max spread, the
labc/nickel ratios, the cost per app, and the issue's targets met or missed.
Nothing here is a test: it prints tables (and writes them, with the raw
samples, under target/bench/).

Commands, all run in the lab's folder:
- `nickel export`: `nickel export --format json lab.ncl`, stdout to /dev/null;
- `labc check`: `labc check -q`, generated/ present and current (exit 0);
- `labc build`: `labc build -q`, generated/ present and current: the steady
  state of a pre-commit hook, where nothing is written;
- `labc build (cold)`: `labc build -q` after deleting generated/ (not timed),
  so every file is written.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The targets (release build).
TARGET_RATIO_REFERENCE = 1.2
TARGET_RATIO_LARGE = 1.3
TARGET_MEM_RATIO = 1.5
TARGET_PER_APP = 1.15
LABC_COMMANDS = ("labc check", "labc build", "labc build (cold)")


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


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine(args):
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (Linux {platform.release()})"
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "os": os_name,
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
        "rustc": first_line(["rustc", "--version"]),
        "labc": first_line([args.labc, "--version"]),
        "nickel": first_line([args.nickel, "--version"]),
        "python": platform.python_version(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per command")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs per command first")
    ap.add_argument("--sizes", default="100,300,1000", help="synthetic labs, in apps")
    ap.add_argument("--labc", default=str(ROOT / "target/release/labc"))
    ap.add_argument("--nickel", default=str(ROOT / "target/tools/nickel/bin/nickel"))
    ap.add_argument("--out", default=str(ROOT / "target/bench"), help="results folder")
    args = ap.parse_args()
    for exe in (args.labc, args.nickel):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is missing: run `bash bench/run.sh` (it builds both)")

    sys.path.insert(0, str(ROOT / "bench"))
    gen = __import__("gen-lab")
    sizes = [int(n) for n in args.sizes.split(",") if n]

    info = machine(args)
    work = Path(tempfile.mkdtemp(prefix="labc-bench-"))
    # Both binaries run from copies in the scratch folder. A binary the
    # linker has just written sits in the page cache as small folios, and
    # every run then takes more page faults to map its code than a copied
    # (or `cargo install`ed) one: measured at ~1.3 ms a run for labc right
    # after `cargo build`, which would be charged to labc alone.
    bin_dir = work / "bin"
    bin_dir.mkdir()
    for attr in ("labc", "nickel"):
        copy = bin_dir / Path(getattr(args, attr)).name
        shutil.copy2(getattr(args, attr), copy)
        setattr(args, attr, str(copy))
    labs = [("reference", (ROOT / "lab.ncl").read_text())]
    labs += [(f"{n} apps", gen.lab(n)) for n in sizes]
    results = []
    raw_samples = {}
    started = time.perf_counter()
    try:
        for name, text in labs:
            d = work / name.replace(" ", "-")
            lay_out(d, text)
            gen_dir = d / "generated"
            # Count the apps from what Nickel itself evaluates.
            exported = subprocess.run(
                [args.nickel, "export", "--format", "json", "lab.ncl"],
                cwd=d, capture_output=True, text=True,
            )
            if exported.returncode != 0:
                sys.exit(f"nickel export failed on the {name} lab:\n{exported.stderr}")
            n_apps = len(json.loads(exported.stdout)["apps"])
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
            raw_samples[name] = samples
            base_t = statistics.median(t for t, _ in samples["nickel export"])
            base_m = statistics.median(m for _, m in samples["nickel export"])
            for label, s in samples.items():
                ts = sorted(t for t, _ in s)
                ms = [m for _, m in s]
                q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0]] * 3
                results.append(
                    {
                        "lab": name,
                        "apps": n_apps,
                        "lab_bytes": len(text.encode()),
                        "files": n_files,
                        "command": label,
                        "median_ms": statistics.median(ts) * 1e3,
                        "min_ms": ts[0] * 1e3,
                        "max_ms": ts[-1] * 1e3,
                        "q1_ms": q[0] * 1e3,
                        "q3_ms": q[2] * 1e3,
                        "ratio": statistics.median(ts) / base_t,
                        "peak_mib": statistics.median(ms) / 1024,
                        "max_peak_mib": max(ms) / 1024,
                        "mem_ratio": statistics.median(ms) / base_m,
                    }
                )
            print(f"[bench] done: {name} ({n_apps} apps, {n_files} files)", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started

    lines = report(results, info, args, elapsed)
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(
        json.dumps(
            {"machine": info, "runs": args.runs, "warmup": args.warmup, "results": results,
             "samples": {lab: {c: s for c, s in cmds.items()} for lab, cmds in raw_samples.items()}},
            indent=1,
        )
        + "\n"
    )
    print(f"[bench] written: {out / 'results.md'}, {out / 'results.json'}", file=sys.stderr)


def report(results, info, args, elapsed):
    lines = []
    w = lines.append
    w("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".")
    w("")
    w(
        f"{args.runs} timed runs after {args.warmup} warm-up runs per command, round-robin; "
        f"wall time median (min-max), interquartile range; whole benchmark {elapsed:.0f} s."
    )
    w("")
    w("| lab | apps | files | command | wall ms, median (min-max) | IQR ms | ratio to nickel | peak MiB | memory ratio | ms per app |")
    w("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        w(
            f"| {r['lab']} | {r['apps']} | {r['files']} | {r['command']} "
            f"| {r['median_ms']:.1f} ({r['min_ms']:.1f}-{r['max_ms']:.1f}) "
            f"| {r['q3_ms'] - r['q1_ms']:.1f} "
            f"| {r['ratio']:.2f} | {r['peak_mib']:.1f} | {r['mem_ratio']:.2f} "
            f"| {r['median_ms'] / r['apps']:.3f} |"
        )

    def get(lab, command):
        return next(r for r in results if r["lab"] == lab and r["command"] == command)

    synthetic = sorted({(r["apps"], r["lab"]) for r in results if r["lab"] != "reference"})
    have_ref = any(r["lab"] == "reference" for r in results)
    if len(synthetic) >= 2:
        (small, small_lab), (large, large_lab) = synthetic[0], synthetic[-1]
        w("")
        w(
            f"Cost per app, {large} apps vs {small} apps (1.00 = linear). `whole` divides the "
            "whole process time by the apps; `marginal` first subtracts the reference lab's "
            "time (start-up, standard library, fixed sections), so it is the cost an extra "
            "app adds."
        )
        w("")
        w(f"| command | whole ms/app, {small} | whole ms/app, {large} | whole ratio | marginal ms/app, {small} | marginal ms/app, {large} | marginal ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for label in ("nickel export",) + LABC_COMMANDS:
            s, l = get(small_lab, label), get(large_lab, label)
            ws, wl = s["median_ms"] / small, l["median_ms"] / large
            row = f"| {label} | {ws:.3f} | {wl:.3f} | {wl / ws:.2f} "
            if have_ref:
                ref = get("reference", label)
                ms_ = (s["median_ms"] - ref["median_ms"]) / (small - ref["apps"])
                ml_ = (l["median_ms"] - ref["median_ms"]) / (large - ref["apps"])
                row += f"| {ms_:.3f} | {ml_:.3f} | {ml_ / ms_:.2f} |"
            else:
                row += "| - | - | - |"
            w(row)

    # The targets of the issue.
    w("")
    w("Targets (issue 8):")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")

    def verdict(ok):
        return "yes" if ok else "**no**"

    checks = []
    if have_ref:
        for label in ("labc build", "labc check"):
            r = get("reference", label)
            checks.append((f"{label} <= {TARGET_RATIO_REFERENCE}x nickel export, reference lab",
                           f"{r['ratio']:.2f}x", r["ratio"] <= TARGET_RATIO_REFERENCE))
    if synthetic:
        large, large_lab = synthetic[-1]
        for label in ("labc build", "labc check"):
            r = get(large_lab, label)
            checks.append((f"{label} <= {TARGET_RATIO_LARGE}x nickel export, {large} apps",
                           f"{r['ratio']:.2f}x", r["ratio"] <= TARGET_RATIO_LARGE))
    worst = max((r for r in results if r["command"] in LABC_COMMANDS), key=lambda r: r["mem_ratio"])
    checks.append((f"peak memory <= {TARGET_MEM_RATIO}x nickel's (every lab, every labc command)",
                   f"worst {worst['mem_ratio']:.2f}x ({worst['command']}, {worst['lab']})",
                   worst["mem_ratio"] <= TARGET_MEM_RATIO))
    if len(synthetic) >= 2:
        (small, small_lab), (large, large_lab) = synthetic[0], synthetic[-1]
        for label in ("labc build", "labc check"):
            s, l = get(small_lab, label), get(large_lab, label)
            ratio = (l["median_ms"] / large) / (s["median_ms"] / small)
            checks.append((f"{label}: ms/app at {large} apps <= {TARGET_PER_APP}x ms/app at {small}",
                           f"{ratio:.2f}x", ratio <= TARGET_PER_APP))
    for what, measured, ok in checks:
        w(f"| {what} | {measured} | {verdict(ok)} |")
    return lines


if __name__ == "__main__":
    main()
