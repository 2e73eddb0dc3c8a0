"""Model registry: versions, aliases, gates, promotion history."""

from gazer.registry.gate import Check, Gate, GateDecision, publish
from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import champion_history, promote, rollback
from gazer.registry.protocol import CHALLENGER, CHAMPION, ModelVersion, Registry
from gazer.registry.resolve import registry_from_settings

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "Check",
    "Gate",
    "GateDecision",
    "MemoryRegistry",
    "ModelVersion",
    "Registry",
    "champion_history",
    "promote",
    "publish",
    "registry_from_settings",
    "rollback",
]
