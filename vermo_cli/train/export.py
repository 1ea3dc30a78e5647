"""Export of consolidated Hugging Face weights (safetensors) from a ZeRO-3 partitioned model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import deepspeed
import torch
from transformers import PreTrainedModel
from transformers.utils import logging as hf_logging

from vermo_cli.files import json_text, publish_directory, staging_directory
from vermo_cli.train.run_layout import MODEL_RECORD

ModelFiles = Callable[[Path], None]
"""Writes what else belongs in an exported model folder (the vocabulary) into the folder given."""


def gathered_state_dict(model: PreTrainedModel, rank: int) -> dict[str, torch.Tensor] | None:
    """The model's full weights on CPU, gathered one parameter at a time so that no device holds
    more than one whole parameter. Collective: every rank must call it; rank 0 gets the dict,
    the others None. Parameters keep their training dtype (bf16 on GPUs, float32 on CPU)."""
    persistent = set(model.state_dict().keys())
    state: dict[str, torch.Tensor] = {}
    for name, parameter in model.named_parameters():
        with deepspeed.zero.GatheredParameters([parameter], modifier_rank=None):
            if rank == 0:
                state[name] = parameter.detach().to("cpu", copy=True)
    if rank != 0:
        return None
    for name, buffer in model.named_buffers():
        if name in persistent:
            state[name] = buffer.detach().to("cpu", copy=True)
    return state


@contextmanager
def _as_exported(model: PreTrainedModel) -> Iterator[None]:
    """The model's config as an export writes it: with the key-value cache on, which generation
    wants and training turns off; no progress bars from transformers meanwhile."""
    bars_were_shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    model.config.use_cache = True
    try:
        yield
    finally:
        model.config.use_cache = False
        if bars_were_shown:
            hf_logging.enable_progress_bar()


def save_model_config(model: PreTrainedModel, directory: Path) -> None:
    """Write the model's `config.json` (as an export would) into `directory`, so that weights
    consolidated later from a training checkpoint there have a model to go into."""
    with _as_exported(model):
        model.config.save_pretrained(str(directory))


def export_hf_model(
    model: PreTrainedModel,
    directory: Path,
    rank: int,
    record: dict[str, Any],
    model_files: ModelFiles | None = None,
) -> Path | None:
    """Write the model to `directory` as a Hugging Face checkpoint (config + safetensors) that
    `AutoModelForCausalLM.from_pretrained` loads, with `record` as its `MODEL_RECORD` (which
    step it is) and what `model_files` adds. Collective; rank 0 writes into a temporary sibling
    folder and renames it, so `directory` is either the old or the complete new export.
    Returns `directory` on rank 0, None elsewhere."""
    state = gathered_state_dict(model, rank)
    if state is None:
        return None
    directory = Path(directory)
    partial = staging_directory(directory)
    with _as_exported(model):
        model.save_pretrained(partial, state_dict=state)
    if model_files is not None:
        model_files(partial)
    (partial / MODEL_RECORD).write_text(json_text(record))
    publish_directory(partial, directory)
    return directory
