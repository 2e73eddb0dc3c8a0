"""What the apps' PyTorch models share: weights as a CPU state dict, the module built lazily.

A registered model pickles its config and ``state`` only; ``net()`` rebuilds the module on
first use after loading, so artifacts stay small and load without touching ``torch.nn``.
"""

from __future__ import annotations

from typing import Any


def cpu_state(net: Any) -> dict[str, Any]:
    """A detached CPU copy of ``net``'s state dict (the best epoch, kept while training goes on)."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


class LazyNet:
    """Mix-in: ``self.state`` holds the weights, ``build()`` makes the empty module."""

    state: dict[str, Any]
    _net: Any = None

    def build(self) -> Any:
        raise TypeError(f"{type(self).__name__} must define build()")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_net": None}

    def net(self) -> Any:
        """The module in eval mode, built and loaded on first use."""
        if self._net is None:
            net = self.build()
            net.load_state_dict(self.state)
            self._net = net.eval()
        return self._net
