"""The corpus check runs on the project's data and fails when a structural target is missed."""
import json

from classifier import config
from classifier.corpus import build, check, cohen_kappa, near_duplicate_pairs


def test_project_corpus_meets_its_targets():
    res = check(config.DATA_DIR)
    assert res.ok, res.failures


def test_train_and_test_are_derived_from_the_batches(tmp_path):
    """data/train.jsonl and data/test.jsonl are exactly what 'jianfu corpus build' makes."""
    import shutil

    work = tmp_path / "data"
    shutil.copytree(config.DATA_DIR / "batches", work / "batches")
    if (config.DATA_DIR / "annotations").exists():
        shutil.copytree(config.DATA_DIR / "annotations", work / "annotations")
    build(work)
    for name in ("train.jsonl", "test.jsonl"):
        assert (work / name).read_text(encoding="utf-8") == (config.DATA_DIR / name).read_text(encoding="utf-8")


def test_near_duplicates_found_and_distinct_texts_not():
    a = "上级部门每个月都要求村里报送同样的数据，填了一遍又一遍，真是没完没了"
    b = a.replace("每个月", "每一个月")
    c = "社区只有三名工作人员，却要服务一万两千名居民，人手严重不足"
    pairs = near_duplicate_pairs([a, b, c])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_check_reports_missed_targets(tmp_path):
    rows = [{"id": str(i), "text": "测试文本", "labels": [], "genre": "news"} for i in range(3)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = check(tmp_path)
    assert not res.ok
    assert any("texts, target 4000" in m for m in res.failures)
    assert any("near-duplicate" in m or "opening" in m for m in res.failures)


def test_kappa():
    assert cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert abs(cohen_kappa([True, True, False, False], [True, False, True, False])) < 1e-9
