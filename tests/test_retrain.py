"""Retraining: merging new rows into a base model's data, the comparison, a fifth category end to end.

Every test works in a temporary $JIANFU_MODELS and passes its own test split; nothing reads or
writes the repository's data/ or models/.
"""
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier import config, registry
from classifier.cli import _register, cli
from classifier.comparison import compare, format_comparison, format_regressions, regressions
from classifier.dataset import Example, data_hash
from classifier.errors import DataError, ModelFileError
from classifier.persist import load_model, read_meta
from classifier.retrain import base_examples, format_merge, merge, retrain

_register()

FIXTURE_MODEL = Path(__file__).parent / "fixtures" / "model-format1-jianfu-0.1.0"

# 权责不对等 / 压力层层传导: responsibility pushed down without the power or means to carry it.
RESPONSIBILITY = [
    "镇里把安全生产的责任全压给村里，可村里既没有执法权也没有处罚权",
    "有责无权，出了事先问责村干部，可审批权都在县里部门手里",
    "街道要对辖区食品安全负总责，可我们连进店检查的权限都没有",
    "压力层层传导到最后一级，责任一级一级往下压，权力却一级一级往上收",
    "乡镇签了一摞责任状，可是人财物的支配权都不在乡镇",
    "权小责大，村干部成了什么都要管却什么都管不了的人",
    "上级部门只管下任务不管给权限，出了问题就追究基层的责任",
    "环保督察问题整改要社区负责，可社区对企业根本没有管理权",
    "违建拆除的责任落在村里，村里却没有任何强制手段",
    "部门把监管责任通过属地管理转给乡镇，执法主体资格却没给",
    "一票否决的责任压下来，乡镇连调度一辆车的权力都没有",
    "责任清单越拉越长，权力清单一条没给村里",
    "河长制把治水责任压到村级河长，可排污企业归县里部门管",
]
RESPONSIBILITY_AND_OVERLOAD = [
    "属地管理成了甩锅的借口，权力留在上面，责任推到下面，村干部天天加班收拾",
    "责任层层下压到社区，五六个部门的活都压过来，社区却没有一项处置权",
]
OTHER_NEW = [
    ("防汛、禁烧、征兵、普查同时压下来，一个人顶三个人用", ["task_overload"]),
    ("新建的便民服务中心只有一台电脑，网络还经常断", ["resource_shortage"]),
    ("周末组织志愿者给独居老人送饺子", []),
]
TEST_SPLIT = [
    ("这个月光迎检材料就做了三本，拍照留痕比干活还重要", ["formalism"]),
    ("村里两个人要管两千多户，人手和经费都不够", ["resource_shortage"]),
    ("部门的活都压到乡镇，考核指标层层加码，天天加班", ["task_overload"]),
    ("上面的政策没调研过基层实际，通知传下来已经过期了", ["information_asymmetry"]),
    ("请问社保卡丢了去哪里补办", []),
]
UNSEEN = "县里把食品安全的责任都压给村里，可村里没有任何执法权和检查权"


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def setup(tmp_path, monkeypatch, tiny_model_dir):
    """A registry whose current model 'base' is the tiny model; new data, a 5-category taxonomy
    and a test split written to tmp_path."""
    reg = tmp_path / "models"
    reg.mkdir()
    monkeypatch.setenv("JIANFU_MODELS", str(reg))
    shutil.copytree(tiny_model_dir, reg / "base")
    registry.promote("base")
    rows = ([{"id": f"r{i}", "text": t, "labels": ["responsibility_mismatch"]} for i, t in enumerate(RESPONSIBILITY)]
            + [{"id": f"ro{i}", "text": t, "labels": ["responsibility_mismatch", "task_overload"]}
               for i, t in enumerate(RESPONSIBILITY_AND_OVERLOAD)]
            + [{"id": f"o{i}", "text": t, "labels": l} for i, (t, l) in enumerate(OTHER_NEW)])
    taxonomy = json.loads(config.TAXONOMY_FILE.read_text(encoding="utf-8"))
    taxonomy["categories"].append({"code": "responsibility_mismatch", "name": "权责不对等",
                                   "description": "责任层层下压而权力、手段不随之下放：有责无权、权小责大、压力层层传导。"})
    test = _jsonl(tmp_path / "test.jsonl", [{"text": t, "labels": l} for t, l in TEST_SPLIT])
    monkeypatch.setattr(config, "TEST_FILE", test)
    tax = tmp_path / "taxonomy5.json"
    tax.write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
    return {"root": reg, "new": _jsonl(tmp_path / "new.jsonl", rows), "taxonomy": tax, "test": test,
            "tmp": tmp_path}


def ex(text, labels, line=0, source="x.jsonl"):
    return Example(text, labels, None, source, line)


# -- merging ------------------------------------------------------------------------------------
BASE = [ex("每周要填七八张表，数据还都差不多，填完就没人看", ["formalism"], 1, "base.jsonl"),
        ex("社区只有三个人，要服务八千多居民，根本忙不过来", ["resource_shortage"], 2, "base.jsonl"),
        ex("工资低待遇差，留不住人", ["resource_shortage"], 3, "base.jsonl")]


def test_exact_duplicates_ignore_whitespace_and_width():
    new = [ex("每周要填七八张表， 数据还都差不多，填完就没人看", ["formalism"], 1),
           ex("工资低待遇差，留不住人", ["resource_shortage"], 2),
           ex("工资低待遇差，留不住人", ["resource_shortage"], 3)]
    m = merge(BASE, new, holdout=0)
    assert m.train == BASE and len(m.exact_duplicates) == 3
    assert m.exact_duplicates[2][1] is BASE[2]


@pytest.mark.parametrize("policy, kept", [("new", ["task_overload"]), ("base", ["formalism"])])
def test_conflicting_labels_are_reported_and_resolved(policy, kept):
    new = [ex(BASE[0].text, ["task_overload"], 7)]
    m = merge(BASE, new, holdout=0, on_conflict=policy)
    assert m.conflicts == [(new[0], BASE[0])]
    assert [e.labels for e in m.train if e.text == BASE[0].text] == [kept]
    assert "x.jsonl:7 ['task_overload'] vs base.jsonl:1 ['formalism']" in format_merge(m)
    assert (BASE[0] in m.dropped_rows()) == (policy == "new")


def test_conflicting_labels_can_stop_the_run():
    with pytest.raises(DataError, match=r"x.jsonl:7 \['task_overload'\] vs base.jsonl:1 \['formalism'\]"):
        merge(BASE, [ex(BASE[0].text, ["task_overload"], 7)], holdout=0, on_conflict="error")


def test_near_duplicates_dropped_or_reported():
    same = ex("社区只有三个人，要服务八千多居民，根本忙不过来啊", ["resource_shortage"], 1)
    other = ex("每周要填七八张表，数据还都差不多，填完就没人看了", ["task_overload"], 2)
    twin_a = ex("上面的部门把自己的活都推给乡镇，什么都要属地管理", ["task_overload"], 3)
    twin_b = ex("上面的部门把自己的活都推给乡镇，什么都要属地管理了", ["task_overload"], 4)
    m = merge(BASE, [same, other, twin_a, twin_b], holdout=0)
    assert [(a.line, b.line) for a, b, _ in m.near_duplicates] == [(1, 2), (4, 3)]
    assert [(a.line, b.line) for a, b, _ in m.near_conflicts] == [(2, 1)]
    assert m.train == BASE + [other, twin_a]
    assert "near duplicates with different labels, both kept (1)" in format_merge(m)


def test_rows_near_a_test_text_are_left_out():
    test = [ex("村里的路灯坏了半年也修不了，因为没有经费", ["resource_shortage"], 1, "test.jsonl")]
    leak = ex("村里的路灯坏了半年也修不了，因为没有经费啊", ["resource_shortage"], 5)
    m = merge(BASE, [leak], test, holdout=0)
    assert m.leaks[0][:2] == (leak, test[0]) and leak not in m.train and m.counts()["leaks"] == 1


def test_holdout_takes_a_share_of_each_label_set_and_keeps_order():
    new = [ex(f"第{i}条关于权责不对等的新材料，编号{i * 7919}", ["responsibility_mismatch"], i) for i in range(10)]
    new += [ex(f"只有一条的标签组合{i}", ["formalism", "task_overload"], 20 + i) for i in range(1)]
    m = merge(BASE, new, holdout=0.3, random_state=0)
    assert len(m.holdout) == 3 and all(e.labels == ["responsibility_mismatch"] for e in m.holdout)
    assert new[-1] in m.train  # a label set's only row is never held out
    assert m.train[:3] == BASE and [e.line for e in m.train[3:]] == sorted(e.line for e in m.train[3:])
    assert {e.line for e in merge(BASE, new, holdout=0.3, random_state=0).holdout} == {e.line for e in m.holdout}
    assert not set(map(id, m.holdout)) & set(map(id, m.train))


# -- the base model's data ----------------------------------------------------------------------
def test_base_rows_are_rebuilt_exactly(tiny_model_dir, tiny_train_file):
    meta = read_meta(tiny_model_dir)
    rows, sources, notes = base_examples(meta)
    assert notes == [] and data_hash(rows) == meta["training_data"]["sha256"]
    assert sources[0]["path"] == str(Path(tiny_train_file).resolve())


def test_base_rows_from_a_jianfu_0_1_0_model():
    rows, _, notes = base_examples(read_meta(FIXTURE_MODEL))
    assert notes == [] and len(rows) == 72


def test_missing_base_data_says_what_to_do(tiny_model_dir, tmp_path, tiny_train_file):
    meta = read_meta(tiny_model_dir)
    meta["training_data"]["sources"][0]["path"] = str(tmp_path / "moved.jsonl")
    with pytest.raises(DataError, match="moved.jsonl is not found; give its training data with --base-data"):
        base_examples(meta)
    rows, sources, _ = base_examples(meta, base_data=[tiny_train_file])
    assert len(rows) == 72 and sources[0]["sha256"] == meta["training_data"]["sources"][0]["sha256"]
    del meta["training_data"]
    with pytest.raises(DataError, match="does not record the files it was trained on"):
        base_examples(meta)


def test_changed_base_data_is_noted(tiny_model_dir, tmp_path, tiny_train_file):
    changed = tmp_path / "changed.jsonl"
    changed.write_text(Path(tiny_train_file).read_text(encoding="utf-8") + json.dumps(
        {"text": "新加的一行", "labels": []}, ensure_ascii=False) + "\n", encoding="utf-8")
    meta = read_meta(tiny_model_dir)
    meta["training_data"]["sources"][0]["path"] = str(changed)
    rows, _, notes = base_examples(meta)
    assert len(rows) == 73 and "has changed since the base model was trained" in notes[0]


# -- comparison ---------------------------------------------------------------------------------
class FakeModel:
    """Predicts fixed labels per text: enough for compare()."""

    def __init__(self, labels, answers, names=None):
        self.labels, self.answers, self.multilabel = labels, answers, True
        self.names = names or {}

    def name(self, code):
        return self.names.get(code, code)

    def predict(self, texts):
        from classifier.model import Prediction

        return [Prediction(t, self.answers[t], {}) for t in texts]


def test_regressions_name_the_label_and_the_drop():
    rows = [ex("a", ["x"]), ex("b", ["x"]), ex("c", ["y"]), ex("d", [])]
    current = FakeModel(["x", "y"], {"a": ["x"], "b": ["x"], "c": ["y"], "d": []}, {"x": "甲"})
    candidate = FakeModel(["x", "y", "z"], {"a": ["x"], "b": [], "c": ["y"], "d": ["z"]}, {"x": "甲"})
    comp = compare(current, candidate, rows)
    assert comp["only_candidate"] == ["z"] and comp["current"]["per_label"]["x"]["f1"] == 1.0
    assert [(c["where"], c["verdict"]) for c in comp["changed"]] == [("x.jsonl:0", "broken"), ("x.jsonl:0", "broken")]
    [reg] = regressions(comp, 0.02)
    assert reg["label"] == "x" and reg["drop"] == pytest.approx(0.3333)
    assert format_regressions([reg], 0.02) == (
        "x (甲) F1 fell from 1.0000 to 0.6667 (-0.3333, more than the tolerance 0.02; 2 texts)")
    assert regressions(comp, 0.5) == []
    table = format_comparison(comp)
    assert "new label z: the current model cannot predict it" in table and "2 broken" in table


def test_a_dropped_label_is_a_regression_even_without_support():
    rows = [ex("a", ["x"])]
    comp = compare(FakeModel(["x", "y"], {"a": ["x"]}), FakeModel(["x"], {"a": ["x"]}), rows)
    assert [(r["label"], r["missing"]) for r in regressions(comp, 0.02)] == [("y", True)]


# -- retraining end to end ----------------------------------------------------------------------
def test_fifth_category_end_to_end(setup):
    """权责不对等 added to the taxonomy and labeled: retrained, predicted, evaluated, explained, promoted."""
    from classifier.evaluate import evaluate
    from classifier.explain import explain

    result = retrain([setup["new"]], "base", taxonomy=setup["taxonomy"], holdout=0.2,
                     test_path=setup["test"], output=setup["root"] / "five")
    model = load_model(result.path)
    assert "responsibility_mismatch" in model.labels and model.name("responsibility_mismatch") == "权责不对等"
    held = [e for e in result.merged.holdout if "responsibility_mismatch" in e.labels]
    assert len(held) == 3 and result.merged.counts()["new_train"] == 15

    comp = result.comparison
    assert comp["n"] == len(TEST_SPLIT) + len(result.merged.holdout)
    assert comp["only_candidate"] == ["responsibility_mismatch"]
    assert comp["current"]["per_label"]["responsibility_mismatch"]["f1"] == 0.0
    assert comp["candidate"]["per_label"]["responsibility_mismatch"]["f1"] >= 0.8

    assert "responsibility_mismatch" in model.predict(UNSEEN)[0].labels
    scores = evaluate(model, [e.text for e in held], [e.labels for e in held])
    assert scores["per_label"]["responsibility_mismatch"]["recall"] >= 2 / 3
    why = explain(model, UNSEEN).label("responsibility_mismatch")
    assert why.up and why.up[0].contribution > 0

    meta = model.meta
    assert meta["retrain"]["base"] == "base" and meta["heldout_scores"] == comp["candidate"]
    assert meta["params"]["min_df"] == 1 and meta["params"]["C"] == 10.0  # the base model's parameters
    assert [s["path"] for s in meta["holdout"]["new"]] == [str(setup["new"].resolve())]
    # on 5 test texts one changed prediction moves a label's F1 by 0.5, so the regression check
    # may well object here (tested on its own in test_registry.py); the analyst decides
    promoted = registry.promote("five", force=True)
    assert promoted["comparison"]["only_candidate"] == ["responsibility_mismatch"]
    assert registry.current_name() == "five"


def test_retrained_model_is_a_base_rebuilt_exactly(setup):
    first = retrain([setup["new"]], "base", taxonomy=setup["taxonomy"], test_path=setup["test"],
                    output=setup["root"] / "five")
    meta = read_meta(first.path)
    rows, _, notes = base_examples(meta)
    assert notes == [] and data_hash(rows) == meta["training_data"]["sha256"] and len(rows) == first.n_rows
    more = _jsonl(setup["tmp"] / "more.jsonl", [{"text": "村里担着防疫的全部责任，却连隔离点设在哪里都说了不算",
                                                 "labels": ["responsibility_mismatch"]}])
    second = retrain([more], "five", test_path=setup["test"], holdout=0)  # taxonomy: the base's five labels
    assert second.n_rows == first.n_rows + 1 and "responsibility_mismatch" in second.model.labels


def test_new_category_needs_a_taxonomy_entry(setup):
    with pytest.raises(DataError, match=r"unknown label codes: 'responsibility_mismatch' at .*new.jsonl:1"):
        retrain([setup["new"]], "base", test_path=setup["test"])


def test_bad_new_rows_are_listed_with_file_and_line(setup):
    bad = _jsonl(setup["tmp"] / "bad.jsonl", [{"id": "a", "text": "有责无权，出了事先问责", "labels": ["responsibility_mismatch"]},
                                               {"id": "a", "text": "有责无权，出了事先问责", "labels": ["formalism"]}])
    with pytest.raises(DataError, match=r"conflicting labels: .*bad.jsonl:1 .* vs .*bad.jsonl:2"):
        retrain([bad], "base", taxonomy=setup["taxonomy"], test_path=setup["test"])


def test_holdout_leaving_too_few_examples_says_so(setup):
    few = _jsonl(setup["tmp"] / "few.jsonl", [{"text": t, "labels": ["responsibility_mismatch"]} for t in RESPONSIBILITY[:5]])
    with pytest.raises(DataError, match=r"'responsibility_mismatch' \(5 rows, 1 held out, 4 left\).*lower --holdout"):
        retrain([few], "base", taxonomy=setup["taxonomy"], test_path=setup["test"])


def test_the_current_model_is_never_overwritten(setup, monkeypatch):
    import classifier.training

    monkeypatch.setattr(classifier.training, "train_examples", None)  # the check comes before training
    with pytest.raises(ModelFileError, match="is the current model"):
        retrain([setup["new"]], "base", taxonomy=setup["taxonomy"], test_path=setup["test"],
                output=setup["root"] / "base", overwrite=True)
    with pytest.raises(ModelFileError, match="already exists; choose another name, or overwrite it with --force"):
        retrain([setup["new"]], "base", output=setup["root"])


def test_parameters_can_be_overridden(setup):
    result = retrain([setup["new"]], "base", taxonomy=setup["taxonomy"], test_path=None, holdout=0.2, C=1.0)
    assert result.model.meta["params"]["C"] == 1.0 and result.model.meta["params"]["min_df"] == 1
    assert result.comparison["n"] == len(result.merged.holdout)  # held-out new rows only


# -- command line -------------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_cli_retrain_compare_promote_predict_explain(setup):
    r = _run("train", setup["new"], "--base", "base", "--taxonomy", setup["taxonomy"], "--test", setup["test"],
             "-o", setup["root"] / "five")
    assert r.exit_code == 0, r.output
    assert "retrained from 'base'" in r.output and "held-out texts" in r.output
    assert "responsibility_mismatch (权责不对等)" in r.output and "the current model cannot predict it" in r.output
    assert "texts whose labels changed" in r.output and "jianfu models promote five" in r.output
    r = _run("models", "promote", "five", "--force")
    assert r.exit_code == 0 and "'five' is now the current model" in r.output
    r = _run("predict", UNSEEN)
    assert "✔ 权责不对等 responsibility_mismatch" in r.output
    r = _run("explain", UNSEEN)
    assert r.exit_code == 0 and "权责不对等" in r.output
    r = _run("evaluate", setup["new"], "--json")
    assert json.loads(r.output)["per_label"]["responsibility_mismatch"]["support"] == 15


def test_cli_retrain_json_and_promote_flag(setup):
    r = _run("train", setup["new"], "--base", "base", "--taxonomy", setup["taxonomy"], "--test", "none",
             "--json", "--promote", "--tolerance", "1")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["promoted"] and out["merge"]["holdout"] == 3 and out["regressions"] == []
    assert Path(out["model"]).parent == setup["root"] and registry.current_name() == Path(out["model"]).name


def test_cli_retrain_errors_are_clean(setup):
    r = _run("train", setup["new"], "--base", "base", "--test", setup["test"])
    assert r.exit_code == 1 and "Traceback" not in r.output and "error: unknown label codes" in r.output
    r = _run("train", setup["new"])
    assert r.exit_code == 2 and "required unless --base" in r.output



def test_cli_promote_flag_refusal_comes_after_the_comparison(setup, monkeypatch):
    def refuse(name, **kwargs):
        raise registry.PromotionRefused(f"'{name}' was not promoted: formalism F1 fell")

    monkeypatch.setattr(registry, "promote", refuse)
    r = _run("train", setup["new"], "--base", "base", "--taxonomy", setup["taxonomy"], "--test", setup["test"],
             "--promote")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.index("held-out texts") < r.output.index("error: 'retrained-")
    r = _run("train", setup["new"], "--base", "base", "--taxonomy", setup["taxonomy"], "--test", setup["test"],
             "--promote", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout.splitlines()[0])["refused"].endswith("formalism F1 fell")


def test_default_names_never_reuse_a_directory(tmp_path):
    from classifier.retrain import default_name

    first = default_name(tmp_path)
    (tmp_path / first).mkdir()
    second = default_name(tmp_path)
    assert second.startswith("retrained-") and second != first and not (tmp_path / second).exists()


def test_moved_base_data_is_found_in_the_data_directory_by_its_hash(tiny_model_dir, tiny_train_file, tmp_path,
                                                                   monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    meta = read_meta(tiny_model_dir)
    meta["training_data"]["sources"][0]["path"] = "/elsewhere/on/the/training/machine/tiny.jsonl"
    monkeypatch.setattr(config, "DATA_DIR", data_dir)
    with pytest.raises(DataError, match="is not found"):
        base_examples(meta)
    shutil.copy(tiny_train_file, data_dir / "tiny.jsonl")
    rows, sources, notes = base_examples(meta)
    assert len(rows) == 72 and notes == [] and sources[0]["path"] == str((data_dir / "tiny.jsonl").resolve())
    (data_dir / "tiny.jsonl").write_text("{}\n", encoding="utf-8")  # same name, other content: not taken
    with pytest.raises(DataError, match="is not found"):
        base_examples(meta)


def test_retraining_keeps_the_base_models_groups(tmp_path, monkeypatch):
    """A base trained with --group-column: the candidate's folds use it too, the new rows (which
    lack the column) forming one group per file; 'none' turns it off."""
    from tests.conftest import tiny_examples
    from classifier.training import train

    rows = [dict(r, batch=f"b{i % 4}") for i, r in enumerate(tiny_examples())]
    data = _jsonl(tmp_path / "grouped.jsonl", rows)
    base = train([data], loss="logistic", C=10.0, cv=3, min_df=1, group_column="batch")
    base.model.save(tmp_path / "base")
    assert base.model.meta["cv_groups"] == "batch"
    new = _jsonl(tmp_path / "new.jsonl", [{"text": t, "labels": l} for t, l in OTHER_NEW])
    test = _jsonl(tmp_path / "test.jsonl", [{"text": t, "labels": l} for t, l in TEST_SPLIT])
    result = retrain([new], tmp_path / "base", test_path=test, holdout=0)
    assert result.model.meta["cv_groups"] == "batch"
    off = retrain([new], tmp_path / "base", test_path=test, holdout=0, inherit_groups=False)
    assert off.model.meta["cv_groups"] is None
    with pytest.raises(DataError, match="no 'batch'"):
        train([data, new], loss="logistic", C=10.0, cv=3, min_df=1, group_column="batch")
