"""Ray Serve peer for ``benchmarks/serving.py``, run with the peers' venv python.

Configured as Ray Serve's docs suggest for CPU models: one deployment, one replica holding
one CPU (``ray_actor_options={"num_cpus": 1}``), an ``async __call__`` taking the Starlette
request; the torch model batches with ``@serve.batch`` (``max_ongoing_requests`` above the
batch size, as the batching guide says, so a batch can fill).

    python ray_server.py --port 8000 --kind sklearn|torch --model PATH [--columns JSON]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

import numpy as np
import ray
from ray import serve
from starlette.requests import Request


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 1}, max_ongoing_requests=64)
class SklearnModel:
    def __init__(self, path: str, columns: list[str]) -> None:
        import joblib
        import pandas as pd

        self.model, self.columns, self.pd = joblib.load(path), columns, pd

    async def __call__(self, request: Request) -> dict[str, list[int]]:
        body = await request.json()
        rows = self.pd.DataFrame(np.asarray(body["data"]), columns=self.columns)
        return {"predict": self.model.predict(rows).tolist()}


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 1}, max_ongoing_requests=64)
class TorchModel:
    def __init__(self, path: str) -> None:
        import torch

        self.torch = torch
        self.net = torch.load(path, weights_only=False).eval()

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def predict(self, images: list[np.ndarray]) -> list[list[int]]:
        torch = self.torch
        x = torch.from_numpy(np.concatenate(images)).float().div(255).unsqueeze(1)
        with torch.inference_mode():
            classes = self.net(x).argmax(1).tolist()
        return [[c] for c in classes]

    async def __call__(self, request: Request) -> dict[str, list[int]]:
        body = await request.json()
        image = np.asarray(body["data"], dtype=np.uint8).reshape(-1, 28, 28)
        return {"predict": await self.predict(image)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=["sklearn", "torch"], required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--columns", default="[]")
    args = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    app = (SklearnModel.bind(args.model, json.loads(args.columns)) if args.kind == "sklearn"
           else TorchModel.bind(args.model))
    serve.run(app, name="bench", route_prefix="/predict")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
