"""Shared fixtures: a tiny labeled corpus written here, and a model trained on it once per session."""
from __future__ import annotations

import json

import pytest

# A small multi-label corpus in the project's label set, written for the tests.
TINY = [
    ("每周要填七八张表，数据还都差不多，填完就没人看", ["formalism"]),
    ("上级检查一个接一个，迎检材料准备到半夜", ["formalism"]),
    ("工作群里天天要求点赞转发，还要截图留痕", ["formalism"]),
    ("开会传达会议精神，再开会落实会议要求", ["formalism"]),
    ("拍照打卡比干活还重要，台账做了一本又一本", ["formalism"]),
    ("社区只有三个人，要服务八千多居民，根本忙不过来", ["resource_shortage", "task_overload"]),
    ("村里没有经费，路灯坏了半年也修不了", ["resource_shortage"]),
    ("乡镇编制紧张，年轻人考走了就再也招不来", ["resource_shortage"]),
    ("卫生室就一个村医，设备还是十年前的", ["resource_shortage"]),
    ("工资低待遇差，留不住人", ["resource_shortage"]),
    ("上面的部门把自己的活都推给乡镇，什么都要属地管理", ["task_overload"]),
    ("一年到头加班加点，周末也要值班，任务压得喘不过气", ["task_overload"]),
    ("一人身兼五六个岗位，分身乏术", ["task_overload"]),
    ("考核指标一年比一年多，层层加码", ["task_overload"]),
    ("县里的政策下来前没人来问过我们，根本不符合村里实际", ["information_asymmetry"]),
    ("几个部门的系统数据不共享，同样的信息要报好几遍", ["information_asymmetry", "formalism"]),
    ("通知传到村里已经过了截止时间", ["information_asymmetry"]),
    ("群众不知道补贴怎么申请，窗口也说不清楚", ["information_asymmetry"]),
    ("基层的困难反映上去就石沉大海", ["information_asymmetry"]),
    ("小区门口路灯坏了，希望尽快维修", []),
    ("请问养老保险转移接续需要带什么材料", []),
    ("今天镇里召开安全生产工作会议，部署节前检查", []),
    ("感谢街道帮我们解决了停车难的问题", []),
    ("公司周报太多，老板天天让加班", []),
]


def tiny_examples(repeat: int = 3):
    """The tiny corpus, each text repeated with a small variation so folds have every label."""
    rows = []
    for r in range(repeat):
        for i, (text, labels) in enumerate(TINY):
            rows.append({"id": f"t{r}-{i}", "text": text + "。" * r, "labels": labels})
    return rows


@pytest.fixture(scope="session")
def tiny_train_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for row in tiny_examples():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_train_file, tmp_path_factory):
    """A model trained on the tiny corpus and saved; tests must not modify it."""
    from classifier.training import train

    result = train([tiny_train_file], loss="logistic", C=10.0, cv=3, min_df=1)
    path = tmp_path_factory.mktemp("models") / "tiny"
    result.model.save(path)
    return path


@pytest.fixture()
def tiny_model(tiny_model_dir):
    from classifier import load

    return load(tiny_model_dir)
