"""``Endpoint``: a served model name, the alias it follows, its traffic policy and slots."""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

from gazer.registry.protocol import CHALLENGER, Registry
from gazer.serving.model import load_served_model
from gazer.serving.slot import ModelSlot
from gazer.settings import EndpointSettings


@dataclasses.dataclass(frozen=True)
class SwapEvent:
    """One attempt to move an endpoint's role to a new version."""

    at: float
    endpoint: str
    role: str
    from_version: int | None
    to_version: int
    ok: bool
    seconds: float
    error: str | None = None


class Endpoint:
    """Champion and challenger slots for one registered model."""

    def __init__(self, config: EndpointSettings, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        model = config.model_name
        self.champion = ModelSlot(
            f"endpoint {config.name!r} ({model}@{config.alias})",
            lambda: load_served_model(registry, model, config.alias),
            serverless=config.serverless, idle_s=config.idle_s,
        )
        self.challenger = ModelSlot(
            f"endpoint {config.name!r} ({model}@{CHALLENGER})",
            lambda: load_served_model(registry, model, CHALLENGER),
            serverless=config.serverless, idle_s=config.idle_s,
        )
        self.swaps: collections.deque[SwapEvent] = collections.deque(maxlen=200)
        self.failed_versions: dict[str, set[int]] = {"champion": set(), "challenger": set()}

    @property
    def name(self) -> str:
        return self.config.name

    def slot(self, role: str) -> ModelSlot:
        return self.champion if role == "champion" else self.challenger

    def roles(self) -> list[tuple[str, str]]:
        """(role, alias) pairs this endpoint keeps loaded under its policy."""
        pairs = [("champion", self.config.alias)]
        if self.config.policy != "champion":
            pairs.append(("challenger", CHALLENGER))
        return pairs

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "model": self.config.model_name,
                               "alias": self.config.alias, "policy": self.config.policy,
                               "canary_weight": self.config.canary_weight,
                               "serverless": self.config.serverless}
        for role in ("champion", "challenger"):
            slot = self.slot(role)
            unused = role == "challenger" and self.config.policy == "champion" \
                and slot.current is None
            out[role] = {"state": "not used" if unused else slot.state, "error": slot.last_error,
                         "version": slot.current.version if slot.current else None}
        return out

    def record(self, event: SwapEvent) -> None:
        self.swaps.append(event)

    def now(self) -> float:
        return time.time()
