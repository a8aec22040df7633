"""Saving and loading models: round trip, what meta.json records, and every refusal.

Each refusal test rewrites the checksums in meta.json after tampering, as an attacker who edits
both files would, so that it is the file's *content* that gets refused and not the checksum.
"""
import json
import os
import pickle
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

from classifier import persist
from classifier.errors import ModelFileError
from classifier.persist import ARRAYS, META, FORMAT_VERSION, load_model, read_meta, save_model

FIXTURES = Path(__file__).parent / "fixtures"
OLD_MODEL = FIXTURES / "model-format1-jianfu-0.1.0"
TEXTS = ["每周填表，拍照留痕，迎检材料做到半夜", "社区人手不足，三个人服务八千居民", "今天天气不错"]


@pytest.fixture()
def model_copy(tiny_model_dir, tmp_path):
    path = tmp_path / "m"
    shutil.copytree(tiny_model_dir, path)
    return path


def _meta(path):
    return json.loads((path / META).read_text(encoding="utf-8"))


def _write_meta(path, meta):
    (path / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _reseal(path):
    """Recompute the checksums and sizes in meta.json, as a tamperer who edits it too would."""
    meta = _meta(path)
    for name in meta["files"]:
        meta["files"][name] = persist.sha256(path / name)
        meta["file_bytes"][name] = (path / name).stat().st_size
    _write_meta(path, meta)


def _arrays(path):
    with np.load(path / ARRAYS, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# -- round trip and meta.json -------------------------------------------------------------------
def test_round_trip_gives_identical_predictions(tiny_model, tmp_path):
    out = save_model(tiny_model, tmp_path / "again")
    again = load_model(out)
    np.testing.assert_array_equal(tiny_model.predict_proba(TEXTS), again.predict_proba(TEXTS))
    assert [p.labels for p in again.predict(TEXTS)] == [p.labels for p in tiny_model.predict(TEXTS)]


def test_meta_records_versions_data_and_creation_time(tiny_model_dir, tiny_train_file):
    meta = read_meta(tiny_model_dir)
    assert meta["format_version"] == FORMAT_VERSION
    assert meta[persist.REQUIRES_KEY] == persist.FORMAT_INTRODUCED_IN[FORMAT_VERSION]
    assert {"jianfu", "scikit-learn", "jieba", "numpy"} <= set(meta["versions"])
    assert meta["labels"] == ["formalism", "information_asymmetry", "resource_shortage", "task_overload"]
    assert meta["names"]["formalism"] == "形式主义"
    assert meta["created"].endswith("+00:00")
    data = meta["training_data"]
    assert data["rows"] == 72 and len(data["sha256"]) == 64
    [source] = data["sources"]
    assert source == {"path": str(Path(tiny_train_file).resolve()), "sha256": persist.sha256(tiny_train_file),
                      "bytes": Path(tiny_train_file).stat().st_size}
    assert set(meta["files"]) == set(meta["file_bytes"]) == {"arrays.npz", "userdict.txt", "stopwords.txt"}
    assert meta["cv_scores"]["per_label"]["formalism"]["support"] == 18
    assert meta["params"]["min_df"] == 1


def test_saved_directory_follows_the_umask(tiny_model_dir):
    # not private like a mkdtemp directory: a service account running the tagging jobs must be
    # able to read models trained by analysts
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(tiny_model_dir.stat().st_mode) == 0o777 & ~umask


def test_save_refuses_existing_directory_unless_overwrite(tiny_model, tiny_model_dir, tmp_path):
    with pytest.raises(ModelFileError, match="already exists"):
        save_model(tiny_model, tiny_model_dir)
    out = save_model(tiny_model, tmp_path / "m")
    save_model(tiny_model, out, overwrite=True)
    assert load_model(out).labels == tiny_model.labels
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary directories left behind


def test_old_format_fixture_loads_and_predicts():
    """A model written by jianfu 0.1.0 (format 1, before sizes and source hashes were recorded)."""
    meta = read_meta(OLD_MODEL)
    assert meta["format_version"] == 1 and "file_bytes" not in meta
    assert meta["training_data"]["sources"] == ["tests/fixtures/tiny-train.jsonl"]
    model = load_model(OLD_MODEL)
    preds = model.predict(TEXTS[:2])
    # figures printed by jianfu 0.1.0 right after saving the fixture
    assert preds[0].labels == ["formalism"]
    assert preds[1].labels == ["resource_shortage", "task_overload"]
    assert preds[0].scores["formalism"] == pytest.approx(0.9908, abs=2e-4)
    assert preds[1].scores["task_overload"] == pytest.approx(0.9459, abs=2e-4)
    assert model.name("formalism") == "形式主义"


# -- refusals -----------------------------------------------------------------------------------
def test_refuses_checksum_mismatch(model_copy):
    lines = (model_copy / "stopwords.txt").read_bytes().splitlines(keepends=True)
    (model_copy / "stopwords.txt").write_bytes(b"".join(reversed(lines)))  # same size, other content
    with pytest.raises(ModelFileError, match="stopwords.txt does not match the checksum in meta.json"):
        load_model(model_copy)
    assert load_model(model_copy, verify=False).labels  # an explicit opt-out still loads it


def test_refuses_changed_arrays_with_same_size(model_copy):
    raw = bytearray((model_copy / ARRAYS).read_bytes())
    raw[-30] ^= 0xFF
    (model_copy / ARRAYS).write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="arrays.npz does not match the checksum"):
        load_model(model_copy)


def test_refuses_changed_size_before_hashing(model_copy):
    with open(model_copy / "stopwords.txt", "a", encoding="utf-8") as f:
        f.write("天天\n")
    with pytest.raises(ModelFileError, match=r"stopwords.txt is \d+ bytes but was saved with \d+"):
        load_model(model_copy)


def test_refuses_truncated_file(model_copy):
    raw = (model_copy / ARRAYS).read_bytes()
    (model_copy / ARRAYS).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match=r"arrays.npz is \d+ bytes but was saved with \d+"):
        load_model(model_copy)


class _RunsCode:
    """Unpickling this creates a marker file: proof of code execution if it ever appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_refuses_pickle_renamed_to_arrays_npz_without_running_it(model_copy, tmp_path):
    marker = tmp_path / "code-was-executed"
    with open(model_copy / ARRAYS, "wb") as f:
        pickle.dump({"coef": _RunsCode(marker)}, f)
    _reseal(model_copy)
    with pytest.raises(ModelFileError, match="arrays.npz is a Python pickle, not a jianfu array file; refused"):
        load_model(model_copy)
    assert not marker.exists()


def test_refuses_object_array_inside_npz_without_running_it(model_copy, tmp_path):
    marker = tmp_path / "code-was-executed"
    arrays = _arrays(model_copy)
    arrays["coef"] = np.array([_RunsCode(marker)], dtype=object)
    np.savez(model_copy / ARRAYS, **arrays)
    _reseal(model_copy)
    with pytest.raises(ModelFileError, match="array 'coef' holds Python objects"):
        load_model(model_copy)
    assert not marker.exists()


@pytest.mark.parametrize("dtype", [np.complex128, np.bool_, [("a", "f4"), ("b", "i4")]])
def test_refuses_unexpected_dtypes(model_copy, dtype):
    arrays = _arrays(model_copy)
    arrays["thresholds"] = np.zeros(len(arrays["thresholds"]), dtype=dtype)
    np.savez(model_copy / ARRAYS, **arrays)
    _reseal(model_copy)
    with pytest.raises(ModelFileError, match="holds arrays of unexpected types: 'thresholds'"):
        load_model(model_copy)


def test_refuses_arrays_that_do_not_fit_meta(model_copy):
    arrays = _arrays(model_copy)
    arrays["coef"] = arrays["coef"][:, :2]
    np.savez(model_copy / ARRAYS, **arrays)
    _reseal(model_copy)
    with pytest.raises(ModelFileError, match=r"'coef' \(\d+, 2\) instead of \(\d+, 4\)"):
        load_model(model_copy)


def test_refuses_newer_format_naming_the_needed_release(model_copy):
    meta = _meta(model_copy)
    meta["format_version"] = FORMAT_VERSION + 1
    meta[persist.REQUIRES_KEY] = "9.3.0"
    _write_meta(model_copy, meta)
    with pytest.raises(ModelFileError) as e:
        load_model(model_copy)
    msg = str(e.value)
    assert f"model format {FORMAT_VERSION + 1}" in msg and "needs jianfu 9.3.0 or later" in msg
    assert "pip install -U 'jianfu>=9.3.0'" in msg


def test_refuses_newer_format_without_release_hint(model_copy):
    meta = _meta(model_copy)
    meta["format_version"] = FORMAT_VERSION + 1
    del meta[persist.REQUIRES_KEY]
    _write_meta(model_copy, meta)
    with pytest.raises(ModelFileError, match=r"upgrade jianfu \(pip install -U jianfu\)"):
        load_model(model_copy)


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / META).unlink(), "has no meta.json: it is not a jianfu model directory"),
    (lambda p: (p / META).write_text("{not json", encoding="utf-8"), "meta.json is damaged"),
    (lambda p: (p / "userdict.txt").unlink(), "is missing userdict.txt"),
    (lambda p: shutil.rmtree(p), "no model directory at"),
])
def test_refuses_missing_or_damaged_files(model_copy, damage, message):
    damage(model_copy)
    with pytest.raises(ModelFileError, match=message):
        load_model(model_copy)


def test_other_scikit_learn_version_loads_with_a_warning(model_copy):
    meta = _meta(model_copy)
    meta["versions"]["scikit-learn"] = "0.0.1"
    _write_meta(model_copy, meta)
    with pytest.warns(UserWarning, match="trained with scikit-learn 0.0.1"):
        model = load_model(model_copy)
    assert model.predict(TEXTS[0])[0].labels == ["formalism"]


def test_same_scikit_learn_version_loads_silently(tiny_model_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(tiny_model_dir)


def test_verify_files_lists_every_problem(model_copy):
    assert persist.verify_files(model_copy) == []
    (model_copy / "stopwords.txt").write_text("x\n", encoding="utf-8")
    (model_copy / "userdict.txt").unlink()
    problems = persist.verify_files(model_copy)
    assert len(problems) == 2 and "userdict.txt" in problems[0] and "stopwords.txt" in problems[1]
