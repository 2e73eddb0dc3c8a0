"""``ServedModel``: a registered model version loaded for serving, with its warm-up input."""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import numpy as np

from gazer.errors import GazerError, InvalidInput
from gazer.ml.profiles import vocabulary_of
from gazer.registry.protocol import EXAMPLE_TAG, Registry, decode_example


@dataclasses.dataclass
class ServedModel:
    """One loaded version; ``predict`` maps a 2-D input to named output arrays.

    A model offers ``predict`` (and ``probabilities`` when it has ``predict_proba``), or
    names its own outputs: an ``output_names`` sequence (``predict`` first) and
    ``predict_outputs(x, wanted)`` returning those of them asked for, computed in one pass
    (a word model's top candidates, a summary's sentence indexes).
    """

    name: str
    version: int
    model: Any
    example: Any = None
    load_s: float = 0.0
    loaded_at: float = dataclasses.field(default_factory=time.time)
    outputs_like: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def _prepare(self, inputs: Any) -> Any:
        columns = getattr(self.model, "feature_names_in_", None)
        if isinstance(inputs, np.ndarray) and columns is not None:
            if inputs.ndim != 2 or inputs.shape[1] != len(columns):
                raise InvalidInput(
                    f"model {self.name} v{self.version} expects rows of {len(columns)} "
                    f"features; got shape {list(inputs.shape)}"
                )
            import pandas as pd

            return pd.DataFrame(inputs, columns=columns)
        return inputs

    @functools.cached_property
    def class_names(self) -> tuple[str, ...] | None:
        """Names of the class indexes ``predict`` answers with, when it answers indexes."""
        names = getattr(self.model, "class_names", None)
        return tuple(str(n) for n in names) if names is not None else None

    @functools.cached_property
    def vocabulary(self) -> frozenset[str] | None:
        """The words a text model knows (for the drift features' out-of-vocabulary rate)."""
        return vocabulary_of(self.model)

    def knows_label(self, label: str) -> bool | None:
        """Whether ``label`` is one this version can answer (``None``: it has no label set,
        as a summariser). From the model's ``labels``, ``class_names`` or scikit-learn's
        ``classes_``."""
        labels = getattr(self.model, "labels", None)
        if labels is None:
            labels = self.class_names
        if labels is None and getattr(self.model, "classes_", None) is not None:
            labels = [str(c) for c in self.model.classes_]
        if labels is None:
            return None
        if not isinstance(labels, set | frozenset | dict):
            labels = set(map(str, labels))
        return label in labels

    @property
    def _own_outputs(self) -> bool:
        return (getattr(self.model, "output_names", None) is not None
                and callable(getattr(self.model, "predict_outputs", None)))

    @property
    def output_names(self) -> list[str]:
        if self._own_outputs:
            return list(self.model.output_names)
        names = ["predict"]
        if hasattr(self.model, "predict_proba"):
            names.append("probabilities")
        return names

    def predict(self, inputs: Any, outputs: set[str] | None = None) -> dict[str, np.ndarray]:
        """``{"predict": ...}``; the other ``output_names`` too when asked for."""
        x = self._prepare(inputs)
        wanted = outputs or {"predict"}
        unknown = wanted - set(self.output_names)
        if unknown:
            raise InvalidInput(f"model {self.name} has outputs {self.output_names}; "
                               f"got a request for {sorted(unknown)}")
        try:
            if self._own_outputs:
                own = self.model.predict_outputs(x, set(wanted))
                return {k: np.asarray(own[k]) for k in self.output_names if k in wanted}
            result = {}
            if "predict" in wanted:
                result["predict"] = np.asarray(self.model.predict(x))
            if "probabilities" in wanted:
                result["probabilities"] = np.asarray(self.model.predict_proba(x))
        except GazerError:
            raise  # already says what was wrong, in the user's terms
        except ValueError as exc:
            raise InvalidInput(f"model {self.name} v{self.version} refused the input: {exc}") \
                from exc
        return result

    def warm(self) -> None:
        """Answer the example input once, every output; raises if the version cannot serve it.

        The answers are kept (``outputs_like``) as the version's output signature.
        """
        if self.example is None:
            return
        rows = len(self.example)
        out = self.predict(self.example, set(self.output_names))
        if len(out["predict"]) != rows:
            raise ValueError(f"warm-up gave {len(out['predict'])} answers for {rows} rows")
        self.outputs_like = out


def load_served_model(registry: Registry, name: str, ref: str | int) -> ServedModel:
    """Load ``name`` at ``ref`` (a version or alias) and warm it."""
    started = time.perf_counter()
    version = registry.get_version(name, ref)
    model = registry.load_model(name, version.version)
    example = decode_example(version.tags.get(EXAMPLE_TAG))
    served = ServedModel(name, version.version, model, example)
    served.warm()
    served.load_s = time.perf_counter() - started
    return served
