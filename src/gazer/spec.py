"""``ServiceSpec``: how a service is opened again in another process.

A step with a timeout runs in a child process and a Ray step on another machine; a batch
worker loads its model in its own process. Live services (an MLflow client, an S3
connection) do not travel; each implementation declares instead, with ``describe()``, a
small picklable description that opens an equal service where it lands, or ``None`` when
it cannot be reached from elsewhere (the in-memory twins).
"""

from __future__ import annotations

import abc
from typing import Any


class ServiceSpec(abc.ABC):
    """A picklable description of a service; ``open()`` builds one equal to it."""

    @abc.abstractmethod
    def open(self) -> Any:
        """A new, live service equal to the one described."""


def describe(service: Any) -> ServiceSpec | None:
    """The service's own description (``None``: it lives in this process only)."""
    spec: ServiceSpec | None = service.describe()
    return spec
