"""Saving and loading models without executing code.

A model directory holds

- ``arrays.npz``: the numeric state (vocabulary, IDF, weights, calibration, thresholds), read
  with ``numpy.load(allow_pickle=False)``: only plain numeric and string arrays load, so a file
  cannot run code when it is opened (a pickle renamed to look like a model is refused);
- ``userdict.txt`` and ``stopwords.txt``: the segmentation resources the model was trained with;
- ``meta.json``: format version, library versions, labels and names, parameters, training-data
  hashes, scores, and the SHA-256 of every other file, checked on load (a tampered file is
  refused).

Changing the on-disk format: bump :data:`FORMAT_VERSION`, teach :func:`load_model` to read the
previous version, and keep a model of the previous version under ``tests/`` with a test that
loads it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from classifier.errors import ModelFileError
from classifier.features import Featurizer
from classifier.model import Model
from classifier.segment import Segmenter, read_stopwords, read_user_dict

FORMAT_VERSION = 1
#: The jianfu release that introduced each format version (for "please upgrade" messages).
FORMAT_INTRODUCED_IN = {1: "0.1.0"}

ARRAYS = "arrays.npz"
META = "meta.json"
USER_DICT = "userdict.txt"
STOPWORDS = "stopwords.txt"

_MODEL_ARRAYS = ("coef", "intercept", "calib_a", "calib_b", "thresholds")
_FEATURE_ARRAYS = ("words", "bigram_keys", "char_keys", "idf")


def package_versions() -> dict[str, str | None]:
    """Versions of the libraries a model depends on (``None`` when not installed)."""
    out = {}
    for dist in ("jianfu", "scikit-learn", "numpy", "jieba", "rjieba"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: Model, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` to the directory ``path`` atomically (a temporary directory, then a rename)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} already exists; choose another directory or allow overwriting")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        arrays = {name: getattr(model, name) for name in _MODEL_ARRAYS}
        arrays["coef"] = np.ascontiguousarray(arrays["coef"], dtype=np.float32)
        arrays.update(model.featurizer.arrays())
        np.savez_compressed(tmp / ARRAYS, **arrays)
        (tmp / USER_DICT).write_text(
            "".join(f"{w} {f or ''} {t or ''}".rstrip() + "\n" for w, f, t in model.segmenter.user_words),
            encoding="utf-8")
        (tmp / STOPWORDS).write_text("".join(w + "\n" for w in sorted(model.segmenter.stopwords)),
                                     encoding="utf-8")
        meta = dict(model.meta)
        meta.update({
            "format_version": FORMAT_VERSION,
            "labels": list(model.labels),
            "names": {c: model.name(c) for c in model.labels},
            "multilabel": bool(model.multilabel),
            "traditional": bool(model.traditional),
            "featurizer": model.featurizer.get_config(),
            "n_features": int(model.featurizer.n_features),
            "n_documents": int(getattr(model.featurizer, "n_documents_", 0)),
            "segmenter": {"backend": model.segmenter.backend,
                          "fingerprint": model.segmenter.fingerprint()},
            "versions": package_versions(),
            "files": {name: sha256(tmp / name) for name in (ARRAYS, USER_DICT, STOPWORDS)},
        })
        meta.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        (tmp / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model.meta = meta
    return path


def read_meta(path: str | Path) -> dict:
    """``meta.json`` of the model directory ``path``, checked for a readable format version."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"no model directory at {path}: pass --model with a directory made by 'jianfu train'")
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path} has no {META}: it is not a jianfu model directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path / META} is damaged ({e}); retrain or restore the model") from None
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path / META} has no format_version: it is not a jianfu model")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model format {version}, newer than this jianfu reads ({FORMAT_VERSION}); "
            f"upgrade jianfu (pip install -U jianfu) to load it")
    return meta


def load_model(path: str | Path, verify: bool = True) -> Model:
    """Load a model directory written by :func:`save_model`, refusing anything that could run code."""
    path = Path(path)
    meta = read_meta(path)
    files = meta.get("files", {})
    for name in (ARRAYS, USER_DICT, STOPWORDS):
        if not (path / name).is_file():
            raise ModelFileError(f"{path} is missing {name}; retrain or restore the model")
        if verify and files.get(name) != sha256(path / name):
            raise ModelFileError(
                f"{path / name} does not match the checksum in {META}: the file was changed after "
                f"the model was saved; restore it or retrain")
    try:
        with np.load(path / ARRAYS, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(
            f"{path / ARRAYS} is not a jianfu array file ({e}); jianfu never loads pickles") from None
    missing = [k for k in _MODEL_ARRAYS + _FEATURE_ARRAYS if k not in arrays]
    if missing:
        raise ModelFileError(f"{path / ARRAYS} lacks arrays {', '.join(missing)}")
    unexpected = {k: str(a.dtype) for k, a in arrays.items() if a.dtype.kind not in "fiuU"}
    if unexpected:
        raise ModelFileError(f"{path / ARRAYS} holds arrays of unexpected types {unexpected}; refused")
    _warn_versions(path, meta)
    seg_info = meta.get("segmenter", {})
    segmenter = Segmenter(read_user_dict(path / USER_DICT), read_stopwords(path / STOPWORDS),
                          backend=seg_info.get("backend", "auto"))
    featurizer = Featurizer.from_arrays(meta["featurizer"], arrays, meta.get("n_documents", 0))
    return Model(
        labels=list(meta["labels"]), featurizer=featurizer, segmenter=segmenter,
        coef=arrays["coef"].astype(np.float32), intercept=arrays["intercept"].astype(np.float64),
        calib_a=arrays["calib_a"].astype(np.float64), calib_b=arrays["calib_b"].astype(np.float64),
        thresholds=arrays["thresholds"].astype(np.float64), multilabel=bool(meta["multilabel"]),
        traditional=bool(meta.get("traditional", True)), names=dict(meta.get("names", {})), meta=meta)


def _warn_versions(path: Path, meta: dict) -> None:
    saved = (meta.get("versions") or {}).get("scikit-learn")
    try:
        current = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        current = None
    if saved and current and saved != current:
        warnings.warn(f"{path} was trained with scikit-learn {saved}, this is {current}; "
                      f"predictions are unaffected (the model is plain arrays), but retrain to be "
                      f"able to compare training runs exactly", stacklevel=3)
