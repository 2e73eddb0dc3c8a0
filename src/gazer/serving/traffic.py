"""Traffic policies: which role (champion or challenger) answers a request."""

from __future__ import annotations

import hashlib
import random

CHAMPION_ONLY, CANARY, SHADOW = "champion", "canary", "shadow"


def pick_role(policy: str, canary_weight: float, key: str | None = None) -> str:
    """``challenger`` for a ``canary_weight`` share of canary traffic, else ``champion``.

    With a request ``key`` the choice is sticky: the same key always gets the same role
    for a given weight.
    """
    if policy != CANARY or canary_weight <= 0:
        return "champion"
    if key:
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    else:
        bucket = random.random()  # nosec B311 # a traffic split, not a secret
    return "challenger" if bucket < canary_weight else "champion"
