"""Moving ``champion`` by hand or by a gate, with a history that ``rollback`` walks back."""

from __future__ import annotations

import json
import time

from gazer.errors import Conflict
from gazer.registry.protocol import CHALLENGER, CHAMPION, ModelVersion, Registry

_HISTORY = "gazer.champion_history"
_KEEP = 50


def champion_history(registry: Registry, name: str) -> list[dict[str, object]]:
    """Past champion moves, oldest first: ``{"version", "at", "reason"}``."""
    raw = registry.model_tags(name).get(_HISTORY)
    return list(json.loads(raw)) if raw else []


def promote(registry: Registry, name: str, version: int, reason: str = "manual") -> ModelVersion:
    """Point ``champion`` at ``version`` and record the move."""
    target = registry.get_version(name, version)
    current = registry.find_alias(name, CHAMPION)
    if current is not None and current.version == target.version:
        return target
    history = champion_history(registry, name)
    history.append({"version": target.version, "at": time.time(), "reason": reason,
                    "previous": current.version if current else None})
    registry.set_alias(name, CHAMPION, target.version)
    challenger = registry.find_alias(name, CHALLENGER)
    if challenger is not None and challenger.version == target.version:
        registry.delete_alias(name, CHALLENGER)
    registry.set_model_tags(name, {_HISTORY: json.dumps(history[-_KEEP:])})
    return registry.get_version(name, target.version)


def _champion_stack(history: list[dict[str, object]]) -> list[int]:
    """Replay the history: promotions push a version, rollbacks pop one."""
    stack: list[int] = []
    for entry in history:
        if str(entry.get("reason", "")).startswith("rollback"):
            if stack:
                stack.pop()
        else:
            stack.append(int(entry["version"]))  # type: ignore[call-overload]
    return stack


def rollback(registry: Registry, name: str) -> ModelVersion:
    """Point ``champion`` back at the champion before the current one was promoted."""
    current = registry.find_alias(name, CHAMPION)
    if current is None:
        raise Conflict(f"model {name!r} has no champion to roll back")
    stack = _champion_stack(champion_history(registry, name))
    if len(stack) < 2:
        raise Conflict(
            f"model {name!r}: champion v{current.version} has no earlier champion to roll back "
            f"to; promote a version instead: gazer models promote {name} VERSION"
        )
    return promote(registry, name, stack[-2], reason=f"rollback from v{current.version}")
