"""Deterministic train/val/test splits from a hash of each take's id."""

from __future__ import annotations

import hashlib

SPLITS: tuple[str, ...] = ("train", "val", "test")
VAL_FRACTION: float = 0.05
TEST_FRACTION: float = 0.05
SPLIT_RULE: str = (
    "sha1(take_id) as a number in [0, 1): below 0.90 train, below 0.95 val, else test; "
    "a source's official split overrides; all windows of one take share its split"
)


def split_for_take(take_id: str) -> str:
    """The split of a take: the same id always gets the same split, on any machine."""
    digest = hashlib.sha1(take_id.encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2.0**64
    if position < 1.0 - VAL_FRACTION - TEST_FRACTION:
        return "train"
    if position < 1.0 - TEST_FRACTION:
        return "val"
    return "test"
