"""Peak memory of ``jianfu tag`` on 100,000 and 1,000,000 generated rows: it should stay flat.

Writes JSONL files of ~400-character texts (windows of the seed article in shared/ or of the
training data) to a temporary folder, runs ``jianfu tag`` on each as a separate process, samples
the resident memory of that process and its workers every 0.1 s, and prints, per size: rows,
seconds, rows/s, peak RSS of the main process, and peak RSS summed over all its processes.
Not a test: it takes minutes and needs disk space (about 1.3 GB for the 1M-row input).

    python benchmarks/memory.py                          # 100k and 1M rows, current model
    python benchmarks/memory.py --rows 20000 100000 --jobs 2 --model models/default --output csv
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def corpus() -> str:
    """Chinese text to cut rows from."""
    for path in (ROOT.parent / "shared" / "seed" / "seed-article.txt", ROOT / "data" / "train.jsonl"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".jsonl":
                text = "".join(json.loads(line)["text"] for line in text.splitlines() if line.strip())
            return text.replace("\n", "")
    sys.exit("no Chinese text to generate rows from (shared/seed/seed-article.txt or data/train.jsonl)")


def generate(path: Path, n: int, chars: int = 400) -> None:
    text, rng = corpus(), random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            start = rng.randrange(0, max(1, len(text) - chars))
            f.write(json.dumps({"id": i, "text": text[start:start + chars]}, ensure_ascii=False) + "\n")


def measure(cmd: list[str]) -> tuple[float, int, int, int]:
    """Run ``cmd``; return (seconds, exit code, peak RSS of the process, peak memory of its tree)
    in bytes. The tree's memory is the sum of PSS (proportional set size: a page shared by the
    forked workers counts once in all) where the system reports it, else of RSS (which counts
    shared pages once per process)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    peak_main = peak_tree = 0
    if psutil is not None:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                main = p.memory_info().rss
                procs = [p] + p.children(recursive=True)
                try:
                    tree = sum(q.memory_full_info().pss for q in procs)
                except (AttributeError, psutil.AccessDenied):
                    tree = sum(q.memory_info().rss for q in procs)
            except psutil.Error:
                continue
            peak_main, peak_tree = max(peak_main, main), max(peak_tree, tree)
            time.sleep(0.2)
    code = proc.wait()
    seconds = time.perf_counter() - start
    if psutil is None:  # the largest single process, as the kernel accounts it
        import resource

        peak_main = peak_tree = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return seconds, code, peak_main, peak_tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--model", default=None, help="model directory or name (default: the current model)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--output", default="jsonl", choices=["jsonl", "csv", "xlsx", "parquet"])
    args = ap.parse_args()
    jianfu = shutil.which("jianfu") or str(Path(sys.executable).parent / "jianfu")
    tmp = Path(tempfile.mkdtemp(prefix="jianfu-memory-"))
    print(f"{'rows':>10} {'seconds':>8} {'rows/s':>8} {'main RSS MiB':>12} {'all PSS MiB':>11}  (output .{args.output})")
    try:
        for n in args.rows:
            src, out = tmp / f"in-{n}.jsonl", tmp / f"out-{n}.{args.output}"
            generate(src, n)
            cmd = [jianfu, "tag", str(src), "-o", str(out), "--quiet"]
            cmd += ["--model", args.model] if args.model else []
            cmd += ["--jobs", str(args.jobs)] if args.jobs else []
            seconds, code, main_rss, tree_rss = measure(cmd)
            if code not in (0, 3):
                sys.exit(f"jianfu tag exited with {code}: {' '.join(cmd)}")
            print(f"{n:>10,} {seconds:>8.1f} {n / seconds:>8,.0f} {main_rss / 2**20:>12.0f} {tree_rss / 2**20:>11.0f}",
                  flush=True)
            src.unlink()
            out.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
