"""Accuracy on real text nobody on this project wrote: jianfu vs the naive reference.

For each benchmark in ``shared/benchmarks`` (read in place, never copied): train on its
train.csv, score its test.csv. Prints accuracy, macro-F1, per-class F1 and training time (model
selection included) for jianfu and for ``TfidfVectorizer(tokenizer=jieba.lcut)`` + ``LinearSVC``.

    python benchmarks/accuracy.py [--benchmarks ../shared/benchmarks] [--only teddycup2020c]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from naive import make_pipeline

ROOT = Path(__file__).resolve().parent.parent


def load(bench: Path):
    tr = pd.read_csv(bench / "train.csv", dtype=str, keep_default_na=False)
    te = pd.read_csv(bench / "test.csv", dtype=str, keep_default_na=False)
    return tr.text.tolist(), tr.label.tolist(), te.text.tolist(), te.label.tolist()


def report(name, system, y_true, y_pred, seconds, labels):
    per = f1_score(y_true, y_pred, average=None, labels=labels)
    print(f"{name:<16} {system:<8} accuracy {accuracy_score(y_true, y_pred):.4f}   "
          f"macro-F1 {f1_score(y_true, y_pred, average='macro'):.4f}   train {seconds:6.1f}s")
    print(" " * 26 + "  ".join(f"{l} {f:.3f}" for l, f in zip(labels, per)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmarks", default=str(ROOT.parent / "shared" / "benchmarks"))
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--jobs", type=int, default=-1)
    args = ap.parse_args()
    from classifier.estimator import JianfuClassifier
    from classifier.segment import Segmenter

    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}")
    for bench in sorted(Path(args.benchmarks).iterdir()):
        if not (bench / "train.csv").exists() or (args.only and bench.name not in args.only):
            continue
        Xtr, ytr, Xte, yte = load(bench)
        labels = sorted(set(ytr))
        t = time.perf_counter()
        naive = make_pipeline().fit(Xtr, ytr)
        report(bench.name, "naive", yte, naive.predict(Xte), time.perf_counter() - t, labels)
        t = time.perf_counter()
        # the domain dictionary is for burden-reduction text; a general benchmark gets plain jieba
        clf = JianfuClassifier(segmenter=Segmenter(), n_jobs=args.jobs).fit(Xtr, ytr)
        seconds = time.perf_counter() - t
        report(bench.name, "jianfu", yte, clf.predict(Xte), seconds, labels)
        print(" " * 26 + f"selected {clf.best_params_} by {clf.cv}-fold CV on train", flush=True)


if __name__ == "__main__":
    main()
