"""BentoML peer for ``benchmarks/serving.py``, run with the peers' venv ``bentoml serve``.

Configured as BentoML's docs suggest for CPU models: a ``@bentoml.service`` with one CPU and
one worker, a sync ``@bentoml.api`` taking a numpy array; the torch model's API is
``batchable`` (adaptive batching along dimension 0). The model file and the scikit-learn
column names come from ``PEER_MODEL`` and ``PEER_COLUMNS``.

    PEER_MODEL=PATH bentoml serve bentoml_service:SklearnModel --port 3000
"""

from __future__ import annotations

import json
import os

import bentoml
import numpy as np


@bentoml.service(resources={"cpu": "1"}, workers=1)
class SklearnModel:
    def __init__(self) -> None:
        import joblib
        import pandas as pd

        self.model = joblib.load(os.environ["PEER_MODEL"])
        self.columns = json.loads(os.environ["PEER_COLUMNS"])
        self.pd = pd

    @bentoml.api
    def predict(self, data: np.ndarray) -> np.ndarray:
        return self.model.predict(self.pd.DataFrame(data, columns=self.columns))


@bentoml.service(resources={"cpu": "1"}, workers=1)
class TorchModel:
    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.net = torch.load(os.environ["PEER_MODEL"], weights_only=False).eval()

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=32, max_latency_ms=1000)
    def predict(self, data: np.ndarray) -> np.ndarray:
        torch = self.torch
        x = torch.from_numpy(data.astype(np.uint8)).float().div(255).unsqueeze(1)
        with torch.inference_mode():
            return self.net(x).argmax(1).numpy()
