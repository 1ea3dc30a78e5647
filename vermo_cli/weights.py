"""Reading trained weights: a safetensors file or a Hugging Face model directory that is
missing, cut short or corrupt is a one-line error naming it, not a traceback from the reader."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, PreTrainedModel

from vermo_cli.errors import VermoError, first_line

UNREADABLE_WEIGHTS = (SafetensorError, OSError, ValueError, EOFError)
"""What the safetensors and transformers readers raise for a damaged weight file."""


class WeightsError(VermoError):
    """A weight file is missing, cut short or not a weight file at all."""


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file (on the CPU), or a one-line `WeightsError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weight file missing")
    try:
        return load_file(str(path))
    except UNREADABLE_WEIGHTS as error:
        raise WeightsError(
            f"{path}: unreadable weights, cut short or corrupt ({first_line(error)})"
        ) from None


def check_weight_files(directory: Path) -> None:
    """Read the header of every `*.safetensors` file in `directory` (cheap: no tensor is
    loaded) so that a file cut short is a one-line `WeightsError` before any work starts."""
    for path in sorted(Path(directory).glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except UNREADABLE_WEIGHTS as error:
            raise WeightsError(
                f"{path}: unreadable weights, cut short or corrupt ({first_line(error)})"
            ) from None


def load_causal_lm(directory: Path, **options: Any) -> PreTrainedModel:
    """`AutoModelForCausalLM.from_pretrained(directory, **options)`, with a one-line
    `WeightsError` naming the directory when its files cannot be read."""
    try:
        return AutoModelForCausalLM.from_pretrained(str(directory), **options)
    except UNREADABLE_WEIGHTS as error:
        raise WeightsError(
            f"{directory}: unreadable model, a file cut short or corrupt ({first_line(error)})"
        ) from None


def file_sha256(path: Path) -> hashlib._Hash:
    """A sha256 of a weights file's bytes, read in chunks (about a second per GB), that callers
    may extend with what else enters an identity."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256")
