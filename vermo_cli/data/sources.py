"""The source-plugin interface and its registry (entry-point group `vermo.sources`).

A source turns one dataset format into `SourceClip`s. `prepare` first asks it to `discover` work
items (usually files) in the paths a user gave, then calls `load` on each item, possibly in
worker processes, so items must be plain strings and sources must be picklable.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

from vermo_cli.errors import VermoError
from vermo_cli.motion.clip import SourceClip

ENTRY_POINT_GROUP = "vermo.sources"


@dataclass(frozen=True)
class SourceOptions:
    """Options `prepare` passes to every source; each source reads the ones it understands.

    `joint_map`: a YAML/JSON joint map for BVH skeletons vermo does not know. `body_model`: the
    user's SMPL/SMPL-H model directory for parameter sources. `clips` and `seed`: size and seed
    of generated corpora (synthetic source).
    """

    joint_map: Path | None = None
    body_model: Path | None = None
    clips: int = 1000
    seed: int = 0


class MotionSource(abc.ABC):
    """One dataset format. Subclasses set `name` and `summary` and implement the two methods."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # False for sources that generate data and take no input paths (the synthetic corpus).
    takes_paths: ClassVar[bool] = True

    def __init__(self, options: SourceOptions) -> None:
        self.options = options

    @abc.abstractmethod
    def discover(self, paths: list[Path]) -> list[str]:
        """Work items (file paths or generator keys) found in `paths`, in a stable order.

        Raises `SourceError` when a path does not exist or holds nothing of this format.
        """

    @abc.abstractmethod
    def load(self, item: str) -> list[SourceClip]:
        """The takes in one work item. Raises `SourceError` (one line, naming the file) when the
        item cannot be read."""


def available_sources() -> dict[str, str]:
    """Installed source names mapped to their entry-point targets."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_source(name: str, options: SourceOptions) -> MotionSource:
    """Instantiate the installed source called `name`."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise VermoError(f"unknown source '{name}' (installed: {known})")
    source_class = found[name].load()
    return source_class(options)
