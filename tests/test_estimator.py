import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from classifier.estimator import JianfuClassifier, best_threshold
from tests.conftest import TINY, tiny_examples


def _data():
    rows = tiny_examples()
    return [r["text"] for r in rows], [r["labels"] for r in rows]


def test_multilabel_fit_predict_shapes_and_labels():
    X, y = _data()
    clf = JianfuClassifier(loss="logistic", C=10, cv=3, min_df=1).fit(X, y)
    assert clf.multilabel_ and list(clf.classes_) == sorted({l for r in y for l in r})
    pred = clf.predict(["每周填表，拍照留痕", "社区人手不足，事情太多"])
    assert pred.shape == (2, len(clf.classes_))
    proba = clf.predict_proba(["每周填表"])
    assert proba.shape == (1, 4) and ((proba >= 0) & (proba <= 1)).all()
    assert clf.score(X, y) > 0.8


def test_single_label_when_every_row_has_one_label():
    X = ["下雨了路上积水", "暴雨导致内涝", "学校开学典礼", "中学招生考试", "医院门诊排队", "社区医院看病"] * 4
    y = ["城建", "城建", "教育", "教育", "卫生", "卫生"] * 4
    clf = JianfuClassifier(cv=2, min_df=1).fit(X, y)
    assert not clf.multilabel_
    pred = clf.predict(["积水内涝", "招生考试"])
    assert list(pred) == ["城建", "教育"]
    np.testing.assert_allclose(clf.predict_proba(["积水"]).sum(axis=1), 1.0)
    # label lists with exactly one label each are single-label too; output keeps the input kind
    clf2 = JianfuClassifier(cv=2, min_df=1).fit(X, [[l] for l in y])
    assert not clf2.multilabel_ and clf2.predict(["积水"]).shape == (1, 3)


def test_training_is_deterministic():
    X, y = _data()
    a = JianfuClassifier(cv=3, min_df=1).fit(X, y)
    b = JianfuClassifier(cv=3, min_df=1).fit(X, y)
    probe = [t for t, _ in TINY] + ["完全无关的话", ""]
    np.testing.assert_array_equal(a.predict_proba(probe), b.predict_proba(probe))
    assert a.best_params_ == b.best_params_


def test_parallel_cross_validation_gives_identical_model():
    X, y = _data()
    a = JianfuClassifier(cv=3, min_df=1, n_jobs=1).fit(X, y)
    b = JianfuClassifier(cv=3, min_df=1, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.model_.thresholds, b.model_.thresholds)
    np.testing.assert_array_equal(a.predict_proba(X[:10]), b.predict_proba(X[:10]))


def test_sklearn_contract_clone_and_grid_search():
    X, y = _data()
    clf = JianfuClassifier(loss="logistic", cv=2, min_df=1)
    assert clone(clf).get_params() == clf.get_params()
    Y = np.array([[int(c in r) for c in ["formalism", "resource_shortage"]] for r in y])
    gs = GridSearchCV(JianfuClassifier(loss="logistic", cv=2, min_df=1,
                                       labels=["formalism", "resource_shortage"]),
                      {"C": [1.0, 10.0]}, cv=KFold(2, shuffle=True, random_state=0), scoring="f1_micro")
    gs.fit(X, Y)
    assert gs.best_params_["C"] in (1.0, 10.0)


def test_model_selection_records_candidates():
    X, y = _data()
    clf = JianfuClassifier(cv=3, min_df=1).fit(X, y)
    tried = {(s["loss"], s["C"]) for s in clf.selection_}
    assert ("hinge", 0.3) in tried and ("logistic", 10.0) in tried
    assert (clf.best_params_["loss"], clf.best_params_["C"]) in tried


def test_empty_text_gets_no_labels(tiny_model):
    assert tiny_model.predict(["", "   "])[0].labels == []
    assert tiny_model.predict(["   "])[0].labels == []


@pytest.mark.parametrize("p, y, expected", [
    (np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]), (0.21, 0.8)),
])
def test_best_threshold_separates(p, y, expected):
    t = best_threshold(p, y)
    assert expected[0] <= t <= expected[1]


def test_groups_keep_each_source_within_one_fold():
    X, y = _data()
    groups = [f"writer{i % 4}" for i in range(len(X))]
    clf = JianfuClassifier(cv=2, min_df=1)
    Y, _, multilabel, _ = clf._encode_targets(y)
    for train, test in clf._folds(Y, multilabel, groups):
        assert not {groups[i] for i in train} & {groups[i] for i in test}
    assert clf.fit(X, y, groups=groups).model_ is not None


def test_batch_and_single_scoring_agree(tiny_model):
    texts = [t for t, _ in TINY] * 4
    batch = tiny_model.decision_function(texts)        # sparse product
    single = np.vstack([tiny_model.decision_function([t]) for t in texts[:24]])
    np.testing.assert_allclose(batch[:24], single, atol=1e-5)
