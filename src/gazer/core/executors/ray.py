"""``RayExecutor``: each step a Ray task on a local instance or an existing cluster.

Artifacts still travel by reference through shared storage (a local folder all workers
see, or S3), so results match the local executor's exactly. Ray is imported lazily.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

from gazer.core.task import StepResult, StepTask, execute_task
from gazer.errors import GazerError


def connect(address: str | None, num_cpus: int | None = None, log_to_driver: bool = True
            ) -> bool:
    """Join the Ray cluster at ``address``, or start a local instance on 127.0.0.1 (never one
    that ``ray start`` left in /tmp/ray); True when this call started it (so its caller shuts
    it down). Nothing happens when Ray is already initialised in this process."""
    import ray

    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": log_to_driver,
                               "configure_logging": False}
    if address:
        ray.init(address=address, **options)
        return False
    ray.init(address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1", **options)
    return True


class RayExecutor:
    """Submit tasks to Ray at ``address`` (``None`` starts a local instance on 127.0.0.1)."""

    name = "ray"
    shares_memory = False

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise GazerError(
                "the ray executor needs Ray: pip install 'gazer[ray]'"
            ) from exc
        self._ray = ray
        self._started_here = connect(address, num_cpus=num_cpus, log_to_driver=True)
        self._remote = ray.remote(max_retries=0)(execute_task)

    def submit(self, task: StepTask) -> Future[StepResult]:
        options = ray_options(task.step.resources)
        missing = self._infeasible(options)
        if missing:  # Ray would wait for such a node forever: fail the step now, say why
            now = time.time()
            failed: Future[StepResult] = Future()
            failed.set_result(StepResult({}, 1, now, now, error=(
                f"step {task.step.name!r} asks for {missing}: no node of the Ray cluster has "
                f"that much ({self._capacity_text()})")))
            return failed
        ref = self._remote.options(name=f"gazer:{task.step.name}", **options).remote(task)
        if task.step.timeout_s is None:
            future: Future[StepResult] = ref.future()
            return future
        return _with_timeout(self._ray, ref, task)

    def _largest_node(self) -> dict[str, float]:
        largest: dict[str, float] = {}
        for node in self._ray.nodes():
            if node.get("Alive"):
                for key, amount in node.get("Resources", {}).items():
                    largest[key] = max(largest.get(key, 0.0), float(amount))
        return largest

    def _infeasible(self, options: dict[str, Any]) -> str:
        wanted = {"CPU": options.get("num_cpus", 1), "GPU": options.get("num_gpus", 0),
                  "memory": options.get("memory", 0), **options.get("resources", {})}
        largest = self._largest_node()
        short = [f"{key}={amount:g}" for key, amount in wanted.items()
                 if amount and amount > largest.get(key, 0.0)]
        return ", ".join(short)

    def _capacity_text(self) -> str:
        largest = self._largest_node()
        keys = [k for k in sorted(largest) if not k.startswith("node:")][:8]
        return "largest node: " + ", ".join(f"{k}={largest[k]:g}" for k in keys)

    def shutdown(self) -> None:
        if self._started_here:
            self._ray.shutdown()


def ray_options(resources: dict[str, float] | Any) -> dict[str, Any]:
    """A step's ``resources`` as ``ray.remote(...).options`` keywords."""
    options: dict[str, Any] = {}
    custom = {}
    for key, amount in dict(resources).items():
        if key in ("num_cpus", "num_gpus"):
            options[key] = amount
        elif key == "memory":
            options[key] = int(amount)
        else:
            custom[key] = amount
    if custom:
        options["resources"] = custom
    return options


def _with_timeout(ray: Any, ref: Any, task: StepTask) -> Future[StepResult]:
    import threading

    future: Future[StepResult] = Future()
    started = time.time()

    def wait() -> None:
        ready, _ = ray.wait([ref], timeout=task.step.timeout_s)
        if ready:
            future.set_result(ray.get(ref))
            return
        ray.cancel(ref, force=True)
        future.set_result(StepResult({}, 1, started, time.time(),
                                     error=f"step {task.step.name!r} timed out after "
                                           f"{task.step.timeout_s:g}s"))

    threading.Thread(target=wait, daemon=True).start()
    return future
