"""Saving and loading models without executing code.

A model directory holds

- ``arrays.npz``: the numeric state (vocabulary, IDF, weights, calibration, thresholds), read
  with ``numpy.load(allow_pickle=False)``: only plain numeric and string arrays load, so a file
  cannot run code when it is opened (a pickle renamed to look like a model is refused);
- ``userdict.txt`` and ``stopwords.txt``: the segmentation resources the model was trained with;
- ``meta.json``: format version and the jianfu release needed to read it, library versions,
  labels and names, parameters, the training data (each file's path, SHA-256, size and rows),
  cross-validated and held-out scores, creation time, and the SHA-256 and size of every other
  file, checked on load (a tampered or truncated file is refused).

Nothing here ever unpickles: arrays load with ``allow_pickle=False`` and only numeric and string
dtypes are accepted, so skops or joblib are not needed (they exist to make pickles safer; we have
no pickles). Each refusal is tested in ``tests/test_persist.py``.

Changing the on-disk format: bump :data:`FORMAT_VERSION`, record the jianfu release that
introduces it in :data:`FORMAT_INTRODUCED_IN`, teach :func:`load_model` to read the previous
version, and keep a model of the previous version under ``tests/fixtures/`` with a test that loads
it (``model-format1-jianfu-0.1.0`` was written by jianfu 0.1.0). Adding keys to ``meta.json`` is
not a format change: readers ignore keys they do not know.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
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
#: ``meta.json`` key naming the oldest jianfu that reads the model, so that an *older* jianfu
#: refusing a newer format can say which release to install.
REQUIRES_KEY = "jianfu_required"

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
    """Hex SHA-256 of the file ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_file(path: str | Path, **extra) -> dict:
    """``{"path", "sha256", "bytes"}`` of a data file (absolute path), plus ``extra`` keys.

    A file that no longer exists is described by its path alone.
    """
    p = Path(path)
    out = {"path": str(p.resolve())}
    if p.is_file():
        out.update(sha256=sha256(p), bytes=p.stat().st_size)
    out.update(extra)
    return out


def _describe_sources(training_data: dict) -> dict:
    """Training-data record with each source given by path, hash and size (training records bare
    paths; the files are hashed here, right after training, so ``jianfu train --base`` can find
    and check them later)."""
    out = dict(training_data)
    out["sources"] = [describe_file(s) if isinstance(s, (str, Path)) else s
                      for s in training_data.get("sources", [])]
    return out


def save_model(model: Model, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` to the directory ``path`` atomically (a temporary directory, then a rename).

    Examples
    --------
    >>> path = save_model(model, "models/my-model")        # doctest: +SKIP
    >>> load_model(path).predict("天天填表")               # doctest: +SKIP
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} already exists; choose another directory or allow overwriting")
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp, which makes the directory private) so the model is readable by whoever
    # the umask allows, e.g. a service account that runs the tagging jobs
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    tmp.mkdir()
    try:
        arrays = {name: getattr(model, name) for name in _MODEL_ARRAYS}
        arrays["coef"] = np.ascontiguousarray(arrays["coef"], dtype=np.float32)
        arrays.update(model.featurizer.arrays())
        np.savez(tmp / ARRAYS, **arrays)  # uncompressed: loads without a decompression pause
        (tmp / USER_DICT).write_text(
            "".join(f"{w} {f or ''} {t or ''}".rstrip() + "\n" for w, f, t in model.segmenter.user_words),
            encoding="utf-8")
        (tmp / STOPWORDS).write_text("".join(w + "\n" for w in sorted(model.segmenter.stopwords)),
                                     encoding="utf-8")
        meta = dict(model.meta)
        if isinstance(meta.get("training_data"), dict):
            meta["training_data"] = _describe_sources(meta["training_data"])
        files = (ARRAYS, USER_DICT, STOPWORDS)
        meta.update({
            "format_version": FORMAT_VERSION,
            REQUIRES_KEY: FORMAT_INTRODUCED_IN[FORMAT_VERSION],
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
            "files": {name: sha256(tmp / name) for name in files},
            "file_bytes": {name: (tmp / name).stat().st_size for name in files},
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
        from classifier import __version__

        needed = meta.get(REQUIRES_KEY)
        upgrade = (f"it needs jianfu {needed} or later: pip install -U 'jianfu>={needed}'" if needed
                   else "upgrade jianfu (pip install -U jianfu) to load it")
        raise ModelFileError(
            f"{path} uses model format {version}, newer than jianfu {__version__} reads "
            f"(up to format {FORMAT_VERSION}); {upgrade}")
    return meta


def verify_files(path: str | Path, meta: dict | None = None) -> list[str]:
    """Problems with the files of the model directory ``path``: missing, or not the size and
    SHA-256 that ``meta.json`` recorded when the model was saved (empty list: all intact)."""
    path = Path(path)
    meta = read_meta(path) if meta is None else meta
    sums, sizes = meta.get("files", {}), meta.get("file_bytes", {})
    problems = []
    for name in (ARRAYS, USER_DICT, STOPWORDS):
        f = path / name
        if not f.is_file():
            problems.append(f"{path} is missing {name}; retrain or restore the model")
        elif name in sizes and f.stat().st_size != sizes[name]:
            problems.append(f"{f} is {f.stat().st_size} bytes but was saved with {sizes[name]} (a truncated "
                            f"or changed copy); restore it or retrain")
        elif sums.get(name) != sha256(f):
            problems.append(f"{f} does not match the checksum in {META}: the file was changed after the "
                            f"model was saved; restore it or retrain")
    return problems


def _read_arrays(file: Path) -> dict[str, np.ndarray]:
    """The arrays of ``file``, refusing pickles and anything but numeric and string arrays."""
    with open(file, "rb") as f:
        head = f.read(4)
    if not head.startswith(b"PK"):
        # protocol 2+ pickles start with PROTO (0x80); protocol 0/1 ones with an opcode like '(' or 'c'
        what = "a Python pickle" if head[:1] in (b"\x80", b"(", b"c", b"]", b"}") else "not a NumPy .npz archive"
        raise ModelFileError(
            f"{file} is {what}, not a jianfu array file; refused. jianfu never loads pickles (they "
            f"can run code when opened): use a model directory saved by 'jianfu train'")
    arrays = {}
    try:
        with np.load(file, allow_pickle=False) as z:
            for key in z.files:
                try:
                    arrays[key] = z[key]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise ModelFileError(
                            f"{file}: array '{key}' holds Python objects (a pickle, which can run code "
                            f"when loaded); refused. A jianfu model holds only numbers and strings") from None
                    raise
    except ModelFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{file} is not a readable jianfu array file ({e}); restore it or retrain") from None
    unexpected = {k: str(a.dtype) for k, a in arrays.items() if a.dtype.kind not in "fiuU"}
    if unexpected:
        detail = ", ".join(f"'{k}' ({t})" for k, t in sorted(unexpected.items()))
        raise ModelFileError(f"{file} holds arrays of unexpected types: {detail}; refused. A jianfu model "
                             f"holds only numeric and string arrays")
    return arrays


def _check_shapes(file: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    n_labels = len(meta.get("labels", []))
    n_features = meta.get("n_features")
    expected = {"coef": (n_features, n_labels)} if isinstance(n_features, int) else {}
    expected.update({k: (n_labels,) for k in ("intercept", "calib_a", "calib_b", "thresholds")})
    wrong = [f"'{k}' {arrays[k].shape} instead of {shape}" for k, shape in expected.items()
             if arrays[k].shape != shape]
    if wrong:
        raise ModelFileError(f"{file} does not fit its {META} (arrays {'; '.join(wrong)}); restore the "
                             f"model or retrain")


def load_model(path: str | Path, verify: bool = True) -> Model:
    """Load a model directory written by :func:`save_model`, refusing anything that could run code.

    Raises :class:`~classifier.errors.ModelFileError` for a directory that is not a model, a
    newer format, a file whose size or SHA-256 differs from ``meta.json`` (skipped with
    ``verify=False``), a pickle, object arrays, unexpected dtypes or shapes. Warns when the model
    was trained with another scikit-learn version.
    """
    path = Path(path)
    meta = read_meta(path)
    problems = verify_files(path, meta)
    if not verify:
        problems = [p for p in problems if "is missing" in p]
    if problems:
        raise ModelFileError(problems[0])
    arrays = _read_arrays(path / ARRAYS)
    missing = [k for k in _MODEL_ARRAYS + _FEATURE_ARRAYS if k not in arrays]
    if missing:
        raise ModelFileError(f"{path / ARRAYS} lacks arrays {', '.join(missing)}; restore the model or retrain")
    _check_shapes(path / ARRAYS, arrays, meta)
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
