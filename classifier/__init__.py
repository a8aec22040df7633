"""jianfu (减负): tag Chinese texts by the grassroots burden-reduction problems they raise.

The public API mirrors the command line's verbs:

>>> import classifier
>>> model = classifier.load()                      # the current (shipped) model
>>> [p.labels for p in model.predict(["天天开会，会议一个接一个"])]  # doctest: +SKIP
[['formalism']]
"""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

__all__ = ["load", "train", "train_examples", "tag_file", "explain", "evaluate", "Model",
           "Prediction", "JianfuClassifier", "JianfuError", "__version__"]

from classifier.errors import JianfuError
from classifier.model import Model, Prediction


def load(model: str | Path | None = None) -> Model:
    """Load a model by directory or registry name; ``None`` loads the current model."""
    from classifier.persist import load_model
    from classifier.registry import resolve

    return load_model(resolve(model))


def __getattr__(name):
    # scikit-learn is imported only when training: it costs more than a whole prediction
    if name == "JianfuClassifier":
        from classifier.estimator import JianfuClassifier

        return JianfuClassifier
    if name in ("train", "train_examples"):
        from classifier import training

        return getattr(training, name)
    if name == "tag_file":
        from classifier.tagging import tag_file

        return tag_file
    if name in ("explain", "report", "evaluate", "registry", "retrain"):
        # submodules: ``classifier.explain.explain(model, text)``, ``classifier.report.write_report``…
        import importlib

        return importlib.import_module(f"classifier.{name}")
    raise AttributeError(name)
