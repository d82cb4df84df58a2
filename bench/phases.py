#!/usr/bin/env python3
"""Where a labc process spends its work, phase by phase, next to `nickel
export` of the same lab: runs both once under callgrind (valgrind) and
splits the instruction count by the functions that start each phase.

    python3 bench/phases.py --apps 1000           # labc check, 1000-app lab
    python3 bench/phases.py --apps 1000 build     # steady state
    python3 bench/phases.py --reference check     # the repository's lab.ncl

Also prints user and system CPU time of a plain run (median of 5), because
callgrind counts user-space instructions only: what labc spends in the
kernel (opening and reading every generated file, writing them) shows up
there and nowhere else.

Needs valgrind (Debian: apt-get install valgrind) and the binaries
bench/run.sh builds. Counts are deterministic: the same binary and lab give
the same numbers, whatever else the machine does.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EVAL = "nickel_lang_core::program::Program<EC>::eval_full_for_export"
EMITTERS = ["ansible", "argocd", "compose", "sql", "tofu"]
EMIT_NOTES = {"argocd": " (ArgoCD + Helm values, YAML)", "tofu": " (HCL)"}

LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?:\S*?:)?(.+?)(?: \[[^\]]*\])?$")


def inclusive_counts(out_file):
    """{function: inclusive instructions}, the largest entry per name (callgrind
    lists a function once per source file its inlined code came from)."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", out_file],
        capture_output=True, text=True, check=True,
    ).stdout
    counts, total = {}, None
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = LINE.match(line)
        if not m:
            continue
        n, fn = int(m.group(1).replace(",", "")), m.group(2).strip()
        counts[fn] = max(counts.get(fn, 0), n)
    return total, counts


def callgrind(cmd, cwd, out_file):
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"] + cmd,
        cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return inclusive_counts(out_file)


def cpu_times(cmd, cwd, runs=5):
    us, ss = [], []
    for _ in range(runs + 1):
        p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        us.append(ru.ru_utime)
        ss.append(ru.ru_stime)
    return statistics.median(us[1:]) * 1e3, statistics.median(ss[1:]) * 1e3


def labc_rows(total, c, command):
    """Phases of one labc run, from inclusive counts; the rows add up to the
    total (up to callgrind's approximations)."""
    g = lambda fn: c.get(fn, 0)
    run = g(f"labc::cmd::{command}::run")
    prepare = g("labc::cmd::prepare")
    load = g("labc::load::nickel::load")
    schema_check = g("labc::schema::check")
    validate = g("labc::validate::Cx::lab")
    emit = {e: g(f"labc::emit::{e}::emit") for e in EMITTERS}
    targets = g("labc::cmd::targets")
    files = g("labc::schema::files")
    # The second thread (labs of 250 files or more): counted by callgrind,
    # but it runs while Nickel evaluates, so it adds instructions, not time.
    thread_read = g("labc::output::Snapshot::digest_listed")
    thread_schema = g("labc::schema::prepare")
    out = [
        ("Nickel: parse, typecheck, evaluate (what `nickel export` does)", g(EVAL)),
        ("labc: Nickel value to JSON with spans, Program drop", load - g(EVAL)),
        ("labc: JSON Schema check (fast path; the full validator only for an invalid lab)", schema_check),
        ("labc: validate (cross-references, names)", validate),
    ]
    out += [(f"labc: emit {e}{EMIT_NOTES.get(e, '')}", n) for e, n in emit.items()]
    out += [
        ("labc: compile, other (serde, file map, drops)",
         prepare - load - schema_check - validate - sum(emit.values())),
        ("labc: schemas/ files regenerated to compare", files),
        ("labc: copies of the file set for the output targets", targets - files),
        (f"labc: compare with {'and write ' if command == 'build' else ''}the output folders",
         run - prepare - targets),
        ("second thread, during the evaluation: read and digest generated/", thread_read),
        ("second thread, during the evaluation: compile the schema check, schema files", thread_schema),
    ]
    # Can come out slightly negative: callgrind's per-file split of inlined
    # code makes the inclusive counts above approximate.
    out.append(("process: start-up, exit, everything else", max(total - sum(n for _, n in out), 0)))
    return [(p, max(n, 0)) for p, n in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="check", choices=["check", "build"])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--apps", type=int, help="a synthetic lab of this many apps")
    g.add_argument("--reference", action="store_true", help="the repository's lab.ncl")
    ap.add_argument("--labc", default=str(ROOT / "target/release/labc"))
    ap.add_argument("--nickel", default=str(ROOT / "target/tools/nickel/bin/nickel"))
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is missing (Debian: apt-get install valgrind)")

    sys.path.insert(0, str(ROOT / "bench"))
    gen = __import__("gen-lab")
    text = (ROOT / "lab.ncl").read_text() if args.reference else gen.lab(args.apps)
    work = Path(tempfile.mkdtemp(prefix="labc-phases-"))
    try:
        (work / "lab.ncl").write_text(text)
        shutil.copytree(ROOT / "schemas", work / "schemas")
        subprocess.run([args.labc, "build", "-q"], cwd=work, check=True)
        labc_cmd = [args.labc, args.command, "-q"]
        nickel_cmd = [args.nickel, "export", "--format", "json", "lab.ncl"]
        l_total, l_counts = callgrind(labc_cmd, work, str(work / "labc.cg"))
        n_total, n_counts = callgrind(nickel_cmd, work, str(work / "nickel.cg"))
        l_cpu, n_cpu = cpu_times(labc_cmd, work), cpu_times(nickel_cmd, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    what = "reference lab" if args.reference else f"{args.apps}-app lab"
    print(f"`labc {args.command}` and `nickel export`, {what}: instructions (callgrind) by phase\n")
    print(f"| phase | labc {args.command}, M instr | share | nickel export, M instr |")
    print("|---|---:|---:|---:|")
    n_eval = n_counts.get(EVAL, 0)
    for phase, n in labc_rows(l_total, l_counts, args.command):
        if n == 0:
            continue
        nk = ""
        if phase.startswith("Nickel"):
            nk = f"{n_eval / 1e6:.1f}"
        elif phase.startswith("process"):
            nk = f"{(n_total - n_eval) / 1e6:.1f} (incl. JSON output)"
        print(f"| {phase} | {n / 1e6:.1f} | {100 * n / l_total:.1f}% | {nk} |")
    print(f"| **total** | **{l_total / 1e6:.0f}** | 100% | **{n_total / 1e6:.0f}** |")
    print(
        f"\nCPU time, median of 5 plain runs: labc {args.command} {l_cpu[0]:.0f} ms user + "
        f"{l_cpu[1]:.0f} ms system; nickel export {n_cpu[0]:.0f} ms user + {n_cpu[1]:.0f} ms system."
    )


if __name__ == "__main__":
    main()
