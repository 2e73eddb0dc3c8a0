"""``Endpoint``: a served model name, the alias it follows, its traffic policy and slots."""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from typing import Any

from gazer.registry.protocol import (
    CHALLENGER,
    TRAFFIC_POLICY_TAG,
    TRAFFIC_WEIGHT_TAG,
    Registry,
)
from gazer.serving.model import load_served_model
from gazer.serving.slot import ModelSlot
from gazer.settings import EndpointSettings

log = logging.getLogger("gazer.serving")


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

    def apply_traffic_tags(self) -> bool:
        """Take the policy and canary weight a retraining policy set on the model's registry
        tags (``gazer.traffic.*``); True when they changed this endpoint."""
        try:
            tags = self.registry.model_tags(self.config.model_name)
        except Exception:  # a model not registered yet has no tags: nothing to apply
            return False
        policy = tags.get(TRAFFIC_POLICY_TAG)
        if policy not in ("champion", "canary", "shadow"):
            return False
        try:
            weight = float(tags.get(TRAFFIC_WEIGHT_TAG, self.config.canary_weight))
        except ValueError:
            weight = self.config.canary_weight
        weight = min(1.0, max(0.0, weight))
        if (policy, weight) == (self.config.policy, self.config.canary_weight):
            return False
        log.info("endpoint %s: traffic %s at %.2f from the registry tags of %s", self.name,
                 policy, weight, self.config.model_name)
        self.config = self.config.model_copy(update={"policy": policy, "canary_weight": weight})
        return True

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

    def follow(self, role: str, alias: str) -> SwapEvent | None:
        """Bring ``role`` to the version ``alias`` names: load and warm it aside while the
        old version keeps answering, then swap it in with one reference, or refuse it.

        A refused version stays refused (shown in ``status``) until the alias moves on; a
        registry outage changes nothing; a serverless slot not loaded now loads the alias's
        version on its next request. Returns what happened, or ``None`` when nothing did.
        """
        slot = self.slot(role)
        try:
            target = self.registry.find_alias(self.config.model_name, alias)
        except Exception as exc:  # registry outage: keep serving what is loaded
            log.warning("registry lookup for %s failed: %s", self.name, exc)
            return None
        if target is None:
            return None
        current = slot.current.version if slot.current else None
        if target.version == current or target.version in self.failed_versions[role]:
            return None
        if slot.serverless and slot.current is None:
            return None
        started = time.perf_counter()
        try:
            model = load_served_model(self.registry, self.config.model_name, target.version)
        except Exception as exc:  # a bad version must not take the endpoint down
            self.failed_versions[role].add(target.version)
            slot.refuse(f"v{target.version} refused: {type(exc).__name__}: {exc}")
            event = SwapEvent(time.time(), self.name, role, current, target.version, False,
                              time.perf_counter() - started, slot.last_error)
            log.error("swap of %s %s to v%d refused: %s", self.name, role, target.version, exc)
        else:
            slot.swap(model)
            event = SwapEvent(time.time(), self.name, role, current, target.version, True,
                              time.perf_counter() - started)
            log.info("swapped %s %s v%s -> v%d", self.name, role, current, target.version)
        self.swaps.append(event)
        return event

    def now(self) -> float:
        return time.time()
