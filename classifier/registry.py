"""The models directory: which model is current, listing, promotion and rollback.

``models/`` (or ``$JIANFU_MODELS``) holds one directory per model and two small files:

- ``CURRENT``: one line, the name of the current model. It is only ever replaced whole with
  ``os.replace`` (atomic on POSIX and Windows), so a reader sees the old name or the new one,
  never half a file. Model directories are never changed once saved: a process that has loaded
  a model keeps predicting with it after a promotion; the next process loads the new one.
- ``HISTORY``: one JSON object per line, appended for every promotion and rollback (time, user,
  action, model, previous model, whether it was forced). Rollback replays it to find the model
  that was current before the current one.

Promotion compares the candidate with the current model on held-out data (see
:func:`classifier.retrain.compare`) and refuses a per-label F1 drop beyond a tolerance unless
forced.
"""
from __future__ import annotations

import getpass
import json
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from classifier import config
from classifier.errors import JianfuError, ModelFileError

CURRENT_FILE = "CURRENT"
HISTORY_FILE = "HISTORY"
_LOCK_FILE = ".lock"
#: Largest per-label F1 drop (absolute) that promotion accepts without ``force``.
DEFAULT_TOLERANCE = 0.02


class PromotionRefused(JianfuError):
    """A candidate is worse than the current model on some label beyond the tolerance."""


def current_name(root: Path | None = None) -> str:
    """Name of the current model: the one line of ``models/CURRENT``, else ``default``."""
    root = root or config.models_dir()
    pointer = root / CURRENT_FILE
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        if name:
            return name
    return config.DEFAULT_MODEL_NAME


def resolve(model: str | Path | None = None) -> Path:
    """The directory of ``model``: a path to a model directory, a name in the registry, or the
    current model when ``None``."""
    if model is None:
        root = config.models_dir()
        path = root / current_name(root)
        if not path.is_dir() and root != config.SHIPPED_MODELS_DIR:
            path = config.SHIPPED_MODELS_DIR / config.DEFAULT_MODEL_NAME
        return path
    p = Path(model)
    if p.is_dir():
        return p
    candidate = config.models_dir() / str(model)
    if candidate.is_dir():
        return candidate
    raise ModelFileError(f"no model '{model}': give a model directory or a name from 'jianfu models list'")


def check_name(name: str) -> str:
    """``name`` if it can name a model directory in the registry, else a :class:`JianfuError`."""
    if (not name or name != Path(name).name or name.startswith(".") or name in (CURRENT_FILE, HISTORY_FILE)
            or any(c in name for c in "/\\:\n")):
        raise JianfuError(f"'{name}' cannot name a model: use letters, digits, '-' or '_' "
                          f"(no path separators, not starting with '.')")
    return name


def model_dir(name: str, root: Path | None = None) -> Path:
    """Directory of the registry model ``name``; :class:`ModelFileError` if there is none."""
    root = root or config.models_dir()
    path = root / check_name(name)
    if not (path / "meta.json").is_file():
        known = ", ".join(m["name"] for m in list_models(root)) or "none"
        raise ModelFileError(f"no model '{name}' in {root} (models there: {known}); "
                             f"save one with 'jianfu train ... --base' or 'jianfu train -o {root}/NAME'")
    return path


# -- listing ------------------------------------------------------------------------------------
def _summary(path: Path, current: str) -> dict:
    from classifier.persist import read_meta

    out = {"name": path.name, "path": str(path), "current": path.name == current}
    try:
        meta = read_meta(path)
    except ModelFileError as e:
        return {**out, "problem": str(e)}
    cv = meta.get("cv_scores") or {}
    held = meta.get("heldout_scores") or {}
    return {**out, "created": meta.get("created"), "labels": meta.get("labels", []),
            "rows": (meta.get("training_data") or {}).get("rows"), "cv_micro_f1": cv.get("micro_f1"),
            "cv_macro_f1": cv.get("macro_f1"), "heldout_micro_f1": held.get("micro_f1"),
            "heldout_macro_f1": held.get("macro_f1"), "base": (meta.get("retrain") or {}).get("base")}


def list_models(root: Path | None = None) -> list[dict]:
    """One summary per model directory in the registry, oldest first.

    Each has ``name``, ``path``, ``current``, ``created``, ``labels``, ``rows`` (training rows),
    cross-validated and held-out micro/macro F1, ``base`` (the model it was retrained from), or
    ``problem`` when its ``meta.json`` cannot be read.
    """
    root = root or config.models_dir()
    if not root.is_dir():
        return []
    current = current_name(root)
    found = [_summary(p, current) for p in root.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file()]
    return sorted(found, key=lambda m: (m.get("created") or "", m["name"]))


def show(name: str, root: Path | None = None) -> dict:
    """Everything ``meta.json`` records about model ``name``, plus ``name``, ``path``,
    ``current`` and ``problems`` (file integrity: empty when every checksum matches)."""
    from classifier.persist import read_meta, verify_files

    root = root or config.models_dir()
    path = model_dir(name, root)
    meta = read_meta(path)
    return {"name": name, "path": str(path), "current": name == current_name(root),
            "problems": verify_files(path, meta), **meta}


# -- changing the current model -----------------------------------------------------------------
@contextmanager
def _locked(root: Path):
    """Serialize promotions and rollbacks (a lock on ``models/.lock``; no-op where unsupported)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK_FILE, "a+b") as f:
        try:
            import fcntl
        except ImportError:  # Windows: two analysts promoting in the same second is not worth msvcrt
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _write_pointer(root: Path, name: str) -> None:
    tmp = root / f".{CURRENT_FILE}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / CURRENT_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers and services
        return None


def history(root: Path | None = None) -> list[dict]:
    """The promotions and rollbacks recorded in ``models/HISTORY``, oldest first."""
    root = root or config.models_dir()
    path = root / HISTORY_FILE
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise ModelFileError(f"{path}:{n} is damaged; fix or remove the line") from None
    return out


def _record(root: Path, entry: dict) -> None:
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "user": _user(), **entry}
    with open(root / HISTORY_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _stack(entries: list[dict]) -> list[str]:
    """The models that were current, in order, with rolled-back ones popped."""
    stack: list[str] = []
    for e in entries:
        if e.get("action") == "promote":
            if not stack and e.get("previous"):
                stack.append(e["previous"])
            stack.append(e["model"])
        elif e.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def promote(name: str, force: bool = False, tolerance: float = DEFAULT_TOLERANCE,
            root: Path | None = None) -> dict:
    """Make model ``name`` the current one, unless it is worse than the current model.

    The candidate must load (checksums, safe arrays). When there is a current model, both are
    scored on the same held-out data (:func:`classifier.retrain.heldout_for`); a label whose F1
    drops by more than ``tolerance`` refuses the promotion with :class:`PromotionRefused`, unless
    ``force``. Returns ``{"model", "previous", "comparison", "regressions", "forced"}``.

    Examples
    --------
    >>> promote("retrain-20261125-153012")            # doctest: +SKIP
    """
    from classifier.persist import load_model
    from classifier.retrain import compare, format_regressions, heldout_for, regressions

    root = root or config.models_dir()
    path = model_dir(name, root)
    candidate = load_model(path)
    previous = current_name(root)
    result = {"model": name, "previous": previous, "comparison": None, "regressions": [], "forced": False}
    if previous == name and (root / CURRENT_FILE).is_file():
        raise JianfuError(f"'{name}' is already the current model")
    if previous != name and (root / previous).is_dir():
        examples, described = heldout_for(candidate.meta)
        if examples:
            comparison = compare(load_model(root / previous), candidate, examples,
                                 current_name=previous, candidate_name=name)
            comparison["data"] = described
            result["comparison"] = comparison
            result["regressions"] = regressions(comparison, tolerance)
            if result["regressions"] and not force:
                raise PromotionRefused(
                    f"'{name}' was not promoted: {format_regressions(result['regressions'], tolerance)} "
                    f"compared with the current model '{previous}' on {comparison['n']} held-out texts. "
                    f"Fix the training data, or promote anyway with --force")
        elif not force:
            raise PromotionRefused(
                f"cannot compare '{name}' with the current model '{previous}': no held-out data "
                f"(no test file and no held-out rows recorded in its meta.json); promote with --force "
                f"to skip the comparison")
        result["forced"] = bool(force and (result["regressions"] or not examples))
    with _locked(root):
        _write_pointer(root, name)
        # an implicit 'default' that does not exist is nothing to roll back to
        before = previous if (root / previous / "meta.json").is_file() else None
        _record(root, {"action": "promote", "model": name, "previous": before, "forced": result["forced"],
                       "regressions": [r["label"] for r in result["regressions"]]})
    return result


def rollback(root: Path | None = None) -> dict:
    """Make the model that was current before the current one current again.

    Returns ``{"model", "previous"}``: the model now current and the one rolled back from.
    """
    root = root or config.models_dir()
    with _locked(root):
        current = current_name(root)
        stack = _stack(history(root))
        if len(stack) < 2:
            raise JianfuError(f"nothing to roll back to: {root / HISTORY_FILE} records no earlier current "
                              f"model; promote the model you want with 'jianfu models promote NAME'")
        if stack[-1] != current:
            raise JianfuError(f"{root / CURRENT_FILE} names '{current}' but the history's last promotion is "
                              f"'{stack[-1]}' (the file was edited by hand?); promote the model you want "
                              f"with 'jianfu models promote NAME'")
        target = stack[-2]
        if not (root / target / "meta.json").is_file():
            raise ModelFileError(f"cannot roll back to '{target}': {root / target} no longer exists; "
                                 f"restore it or promote another model")
        _write_pointer(root, target)
        _record(root, {"action": "rollback", "model": target, "previous": current})
    return {"model": target, "previous": current}
