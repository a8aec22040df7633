"""Cold start: wall time of ``jianfu predict "…"`` in a new process vs ``import jieba; jieba.initialize()``.

    python benchmarks/coldstart.py [--runs 7] [--model DIR]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TEXT = "村里一个月迎了七次检查，材料做了一摞又一摞，真正干活的时间反倒没有了"


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    jianfu = shutil.which("jianfu") or str(Path(sys.executable).parent / "jianfu")
    wall([jianfu, "predict", TEXT], 1)  # warm the file cache for both
    wall([sys.executable, "-c", "import jieba; jieba.initialize()"], 1)
    cmd = [jianfu, "predict", TEXT] + (["--model", args.model] if args.model else [])
    ours = wall(cmd, args.runs)
    ref = wall([sys.executable, "-c", "import jieba; jieba.initialize()"], args.runs)
    base = wall([sys.executable, "-c", "pass"], args.runs)
    print(f"median of {args.runs} runs: python -c pass {base:.3f}s   "
          f"import jieba; jieba.initialize() {ref:.3f}s   jianfu predict {ours:.3f}s   "
          f"ratio {ours / ref:.2f}x (goal <= 0.6x)")


if __name__ == "__main__":
    main()
