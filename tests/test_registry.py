"""The model registry: listing, showing, promotion with its regression check, rollback.

Every test works in a temporary $JIANFU_MODELS; the repository's models/ is checked untouched.
"""
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from classifier import config, registry
from classifier.cli import _register, cli
from classifier.errors import JianfuError, ModelFileError
from classifier.persist import load_model, read_meta, save_model, sha256

_register()

TEST_ROWS = [
    ("这个月光迎检材料就做了三本，拍照留痕比干活还重要", ["formalism"]),
    ("各种工作群要求每天打卡截图，会议一个接一个", ["formalism"]),
    ("村里两个人要管两千多户，人手和经费都不够", ["resource_shortage"]),
    ("部门的活都压到乡镇，考核指标层层加码，天天加班", ["task_overload"]),
    ("上面的政策没调研过基层实际，通知传下来已经过期了", ["information_asymmetry"]),
    ("请问社保卡丢了去哪里补办", []),
]


@pytest.fixture()
def root(tmp_path, monkeypatch):
    """An empty registry in a temporary directory, with a tiny test split as config.TEST_FILE."""
    shipped = sorted(os.listdir(config.SHIPPED_MODELS_DIR)) if config.SHIPPED_MODELS_DIR.is_dir() else None
    reg = tmp_path / "models"
    reg.mkdir()
    monkeypatch.setenv("JIANFU_MODELS", str(reg))
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps({"text": t, "labels": l}, ensure_ascii=False) + "\n"
                                 for t, l in TEST_ROWS), encoding="utf-8")
    monkeypatch.setattr(config, "TEST_FILE", test_file)
    yield reg
    after = sorted(os.listdir(config.SHIPPED_MODELS_DIR)) if config.SHIPPED_MODELS_DIR.is_dir() else None
    assert after == shipped, "a test wrote to the repository's models/"


@pytest.fixture()
def two_models(root, tiny_model_dir):
    """'a' (the tiny model) and 'b' (the same arrays, saved again under another name)."""
    shutil.copytree(tiny_model_dir, root / "a")
    save_model(load_model(tiny_model_dir), root / "b")
    return root


def _worse(root, name="worse", label="formalism"):
    """The tiny model with ``label`` never predicted (its threshold above any probability)."""
    model = load_model(root / "a")
    model.thresholds = model.thresholds.copy()
    model.thresholds[model.labels.index(label)] = 1.5
    return save_model(model, root / name)


def _dir_hashes(path):
    return {p.name: sha256(p) for p in sorted(path.iterdir())}


# -- names, listing, showing --------------------------------------------------------------------
def test_current_defaults_to_default_without_pointer(root):
    assert registry.current_name() == "default"
    assert registry.list_models() == []


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "CURRENT", "HISTORY", ""])
def test_bad_model_names_are_refused(root, name):
    with pytest.raises(JianfuError, match="cannot name a model"):
        registry.check_name(name)


def test_list_marks_current_and_reports_unreadable(two_models):
    registry.promote("a")
    meta = read_meta(two_models / "b")
    meta["format_version"] = 99
    (two_models / "b" / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    found = {m["name"]: m for m in registry.list_models()}
    assert found["a"]["current"] and not found.get("b", {}).get("current")
    assert found["a"]["rows"] == 72 and found["a"]["cv_micro_f1"] == read_meta(two_models / "a")["cv_scores"]["micro_f1"]
    assert "newer than jianfu" in found["b"]["problem"]


def test_show_reports_meta_and_integrity(two_models):
    info = registry.show("a")
    assert info["name"] == "a" and info["problems"] == [] and info["labels"][0] == "formalism"
    (two_models / "a" / "stopwords.txt").write_text("改过\n", encoding="utf-8")
    assert "stopwords.txt" in registry.show("a")["problems"][0]
    with pytest.raises(ModelFileError, match=r"no model 'zzz' in .* \(models there: a, b\)"):
        registry.show("zzz")


# -- promotion ----------------------------------------------------------------------------------
def test_first_promotion_writes_pointer_and_history(two_models):
    result = registry.promote("a")
    assert result["previous"] == "default" and result["comparison"] is None
    assert (two_models / "CURRENT").read_text(encoding="utf-8") == "a\n"
    [entry] = registry.history()
    assert entry["action"] == "promote" and entry["model"] == "a" and entry["previous"] is None
    assert not [p for p in two_models.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(JianfuError, match="already the current model"):
        registry.promote("a")


def test_promotion_compares_on_held_out_data(two_models):
    registry.promote("a")
    result = registry.promote("b")
    assert result["regressions"] == [] and not result["forced"]
    assert result["comparison"]["n"] == len(TEST_ROWS) and result["comparison"]["changed"] == []
    assert registry.current_name() == "b"


def test_promotion_refuses_a_regression_naming_label_and_drop(two_models):
    registry.promote("a")
    _worse(two_models)
    before = load_model(two_models / "a").predict([t for t, _ in TEST_ROWS])
    with pytest.raises(registry.PromotionRefused) as e:
        registry.promote("worse")
    msg = str(e.value)
    assert "'worse' was not promoted" in msg
    assert "formalism (形式主义) F1 fell from 1.0000 to 0.0000 (-1.0000, more than the tolerance 0.02; 2 texts)" in msg
    assert "--force" in msg
    assert [p.labels for p in before][:2] == [["formalism"], ["formalism"]]
    assert registry.current_name() == "a" and len(registry.history()) == 1


def test_forced_promotion_is_recorded(two_models):
    registry.promote("a")
    _worse(two_models)
    result = registry.promote("worse", force=True)
    assert result["forced"] and [r["label"] for r in result["regressions"]] == ["formalism"]
    assert registry.history()[-1] | {"time": None, "user": None} == {
        "time": None, "user": None, "action": "promote", "model": "worse", "previous": "a", "forced": True,
        "regressions": ["formalism"]}


def test_tolerance_decides(two_models):
    registry.promote("a")
    _worse(two_models)
    assert registry.promote("worse", tolerance=1.0)["regressions"] == []


def test_promotion_without_held_out_data_needs_force(two_models, monkeypatch, tmp_path):
    monkeypatch.setattr(config, "TEST_FILE", tmp_path / "absent.jsonl")
    registry.promote("a")
    with pytest.raises(registry.PromotionRefused, match="no held-out data"):
        registry.promote("b")
    assert registry.promote("b", force=True)["forced"]


def test_promotion_refuses_a_tampered_candidate(two_models):
    registry.promote("a")
    arrays = two_models / "b" / "arrays.npz"
    raw = bytearray(arrays.read_bytes())
    raw[-1] ^= 0xFF
    arrays.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        registry.promote("b", force=True)
    assert registry.current_name() == "a"


def test_pointer_is_replaced_atomically(two_models, monkeypatch):
    registry.promote("a")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        registry.promote("b")
    assert (two_models / "CURRENT").read_text(encoding="utf-8") == "a\n"
    assert not [p for p in two_models.iterdir() if p.name.endswith(".tmp")]
    assert len(registry.history()) == 1


def test_loaded_model_survives_promotion(two_models):
    import classifier

    registry.promote("a")
    _worse(two_models)
    running = classifier.load()
    files_before = _dir_hashes(two_models / "a")
    registry.promote("worse", force=True)
    # the process that loaded 'a' keeps predicting with it; new loads get 'worse'
    assert running.predict(TEST_ROWS[0][0])[0].labels == ["formalism"]
    assert classifier.load().predict(TEST_ROWS[0][0])[0].labels == []
    assert _dir_hashes(two_models / "a") == files_before
    np.testing.assert_array_equal(running.thresholds, load_model(two_models / "a").thresholds)


# -- rollback -----------------------------------------------------------------------------------
def test_rollback_returns_to_previous_model(two_models):
    registry.promote("a")
    registry.promote("b")
    assert registry.rollback() == {"model": "a", "previous": "b"}
    assert registry.current_name() == "a"
    with pytest.raises(JianfuError, match="nothing to roll back to"):
        registry.rollback()
    registry.promote("b")
    assert registry.rollback()["model"] == "a"
    assert [e["action"] for e in registry.history()] == ["promote", "promote", "rollback", "promote", "rollback"]


def test_rollback_refuses_hand_edited_pointer_and_missing_target(two_models):
    registry.promote("a")
    registry.promote("b")
    (two_models / "CURRENT").write_text("a\n", encoding="utf-8")
    with pytest.raises(JianfuError, match="names 'a' but the history's last promotion is 'b'"):
        registry.rollback()
    (two_models / "CURRENT").write_text("b\n", encoding="utf-8")
    shutil.rmtree(two_models / "a")
    with pytest.raises(ModelFileError, match="cannot roll back to 'a'"):
        registry.rollback()


def test_damaged_history_is_reported_with_its_line(two_models):
    registry.promote("a")
    with open(two_models / "HISTORY", "a", encoding="utf-8") as f:
        f.write("{oops\n")
    with pytest.raises(ModelFileError, match=r"HISTORY:2 is damaged"):
        registry.rollback()


# -- command line -------------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_cli_list_show_promote_rollback(two_models):
    r = _run("models", "promote", "a")
    assert r.exit_code == 0 and "'a' is now the current model" in r.output
    r = _run("models", "list")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert any(l.startswith("* a ") for l in lines) and any(l.startswith("  b ") for l in lines)
    r = _run("models", "show", "a")
    assert "(current)" in r.output and "intact" in r.output and "形式主义" in r.output
    assert json.loads(_run("models", "show", "b", "--json").output)["name"] == "b"
    r = _run("models", "promote", "b")
    assert r.exit_code == 0 and "held-out texts" in r.output and "micro-F1" in r.output
    r = _run("models", "rollback")
    assert r.exit_code == 0 and "'a' is now the current model again" in r.output


def test_cli_promotion_refusal_is_one_clean_line(two_models):
    _run("models", "promote", "a")
    _worse(two_models)
    r = _run("models", "promote", "worse")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "error: 'worse' was not promoted: formalism (形式主义) F1 fell from 1.0000 to 0.0000" in r.output
    r = _run("models", "promote", "worse", "--force")
    assert r.exit_code == 0 and "promoted despite regressions" in r.output
    r = _run("models", "show", "nothing")
    assert r.exit_code == 1 and "error: no model 'nothing'" in r.output
