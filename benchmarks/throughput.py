"""Throughput: whole-process ``jianfu tag`` vs the naive reference predicting the same texts.

Both are trained on Teddy Cup's train.csv (7 classes) first; the input is Teddy Cup's test
texts repeated to at least 18,000 rows, as JSONL. Times each command from process start to exit,
and samples peak memory (psutil, if installed).

    python benchmarks/throughput.py [--benchmarks ../shared/benchmarks] [--rows 18000] [--jobs N] [--repeat 3]

On a shared virtual machine one run can be 10 % off the next, so both commands run
``--repeat`` times, alternating, and the median speed-up is reported with the range.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd

from memory import measure
from naive import make_pipeline

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", default=str(ROOT.parent / "shared" / "benchmarks"))
    ap.add_argument("--rows", type=int, default=18000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each command (median reported)")
    args = ap.parse_args()
    import joblib
    from classifier.estimator import JianfuClassifier
    from classifier.segment import Segmenter

    bench = Path(args.benchmarks) / "teddycup2020c"
    tr = pd.read_csv(bench / "train.csv", dtype=str, keep_default_na=False)
    te = pd.read_csv(bench / "test.csv", dtype=str, keep_default_na=False)
    tmp = Path(tempfile.mkdtemp(prefix="jianfu-throughput-"))
    try:
        model_dir = tmp / "jianfu-teddy"
        JianfuClassifier(segmenter=Segmenter(), n_jobs=-1).fit(tr.text.tolist(), tr.label.tolist()).model_.save(model_dir)
        joblib.dump(make_pipeline().fit(tr.text.tolist(), tr.label.tolist()), tmp / "naive.joblib")
        texts = te.text.tolist()
        reps = -(-args.rows // len(texts))
        src = tmp / "in.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for i, t in enumerate(texts * reps):
                f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
        n = len(texts) * reps
        mb = src.stat().st_size / 1e6
        jianfu = shutil.which("jianfu") or str(Path(sys.executable).parent / "jianfu")
        cmd = [jianfu, "tag", str(src), "-o", str(tmp / "out.jsonl"), "--model", str(model_dir), "--quiet", "--force"]
        cmd += ["--jobs", str(args.jobs)] if args.jobs else []
        naive_cmd = [sys.executable, str(Path(__file__).parent / "naive.py"), "predict",
                     str(tmp / "naive.joblib"), str(src), str(tmp / "naive-out.jsonl")]
        print(f"{n:,} rows, {mb:.1f} MB of JSONL, {os.cpu_count()} cores")
        ratios = []
        for run in range(1, args.repeat + 1):
            results = {}
            for name, c in (("naive", naive_cmd), ("jianfu", cmd)):
                seconds, code, main_rss, tree_rss = measure(c)
                if code not in (0, 3):
                    sys.exit(f"{name} failed with exit code {code}: {' '.join(c)}")
                results[name] = seconds
                print(f"run {run}  {name:<7} {seconds:7.2f}s  {n / seconds:8,.0f} docs/s  {mb / seconds:6.2f} MB/s  "
                      f"peak RSS main {main_rss / 2**20:5.0f} MiB, all processes (PSS) {tree_rss / 2**20:5.0f} MiB",
                      flush=True)
            ratios.append(results["naive"] / results["jianfu"])
            print(f"run {run}  speed-up {ratios[-1]:.1f}x", flush=True)
        print(f"speed-up median {statistics.median(ratios):.1f}x, range {min(ratios):.1f}-{max(ratios):.1f}x "
              f"over {len(ratios)} runs (goal >= 10x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
