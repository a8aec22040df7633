"""The shipped default model: trained from the data now in data/, loads, and predicts sensibly."""
import json

import pytest

from classifier import config, load
from classifier.dataset import check_examples, data_hash, read_examples
from classifier.persist import load_model
from classifier.taxonomy import Taxonomy

SHIPPED = config.SHIPPED_MODELS_DIR / config.DEFAULT_MODEL_NAME


def test_shipped_model_was_trained_on_current_train_split():
    meta = json.loads((SHIPPED / "meta.json").read_text(encoding="utf-8"))
    rows = check_examples(read_examples(config.TRAIN_FILE), Taxonomy.load(config.TAXONOMY_FILE).codes)
    assert meta["training_data"]["sha256"] == data_hash(rows), (
        "data/train.jsonl changed since the shipped model was trained: run "
        "'jianfu train data/train.jsonl -o models/default --force'")
    assert meta["training_data"]["rows"] == len(rows)


def test_shipped_model_labels_follow_taxonomy():
    model = load_model(SHIPPED)
    tax = Taxonomy.load(config.TAXONOMY_FILE)
    assert sorted(model.labels) == sorted(tax.codes)
    assert all(model.name(c) == tax.name(c) for c in tax.codes)
    assert model.multilabel


@pytest.mark.parametrize("text, expected", [
    ("一个月迎了七次检查，台账材料做了一摞又一摞", "formalism"),
    ("社区就三个人，要管一万多居民的事，天天加班到深夜", "task_overload"),
    ("村里没有经费，办公室电脑坏了两年也没钱换", "resource_shortage"),
    ("几个部门的系统数据不共享，同一组数字要报五遍", "information_asymmetry"),
])
def test_shipped_model_clear_cases(text, expected):
    assert expected in load().predict(text)[0].labels


def test_shipped_model_leaves_ordinary_requests_untagged():
    preds = load().predict(["小区门口的路灯坏了，请尽快维修", "请问新生儿医保怎么办理"])
    assert [p.labels for p in preds] == [[], []]
