"""Every channel kind, found by module: a kind is a module in this package that registers a ``ChannelKind``.

Nothing else lists kinds: the subscriptions schema, the CLI, pacing, burst folding and the resend rule all
ask the registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from services.alerts.channels.base import ChannelKind

#: Modules of the package that are not kinds.
_NOT_KINDS = frozenset({"base", "registry"})
_kinds: dict[str, ChannelKind] = {}
_loaded = False

K = TypeVar("K", bound=type[ChannelKind])


def register(cls: K) -> K:
    """Class decorator: make the kind known under ``cls.name``."""
    existing = _kinds.get(cls.name)
    if existing is not None and type(existing).__qualname__ != cls.__qualname__:
        raise ValueError(f"two channel kinds named {cls.name!r}: {type(existing).__module__} and {cls.__module__}")
    _kinds[cls.name] = cls()
    return cls


def _load_kind_modules() -> None:
    global _loaded
    if _loaded:
        return
    import services.alerts.channels as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _NOT_KINDS and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    _loaded = True


def channel_kinds() -> dict[str, ChannelKind]:
    """Every kind by name, in name order."""
    _load_kind_modules()
    return dict(sorted(_kinds.items()))


def channel_kind(name: str) -> ChannelKind:
    """The kind ``name``; ValueError naming the known kinds when there is none."""
    kinds = channel_kinds()
    if name not in kinds:
        raise ValueError(f"unknown channel kind {name!r}; known: {', '.join(kinds)}")
    return kinds[name]


def find_channel_kind(name: str) -> ChannelKind | None:
    """The kind ``name``, or None for a kind no module defines (e.g. a stored channel whose module was removed:
    its sends fail for good, and nothing else about it may stop the delivery sweep)."""
    return channel_kinds().get(name)


def forget_loaded_modules() -> None:
    """Look for kind modules again at the next lookup (after a test adds a directory to the package path)."""
    global _loaded
    _loaded = False
