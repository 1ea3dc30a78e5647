"""The model of any kept training checkpoint: a run's ZeRO-3 checkpoint folder
`RUN/checkpoints/step<N>` consolidated into full weights, read without running code.

ZeRO-3 keeps no whole parameter anywhere. Each data-parallel rank's optimizer file holds its fp32
master partition: for every parameter, in the order the model file's `param_shapes` lists them,
`ceil(numel / ranks)` elements (the last rank's padded), concatenated over the optimizer's
sub-groups. A parameter is its ranks' pieces joined and cut to its size. Every file is read with
`load_checkpoint` (tensors, plain data and DeepSpeed's loss scaler and stage enum only), never
with DeepSpeed's own `zero_to_fp32`, which unpickles anything.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

from vermo_cli.checkpoints import CheckpointError, load_checkpoint
from vermo_cli.train.checkpoint_engine import DEEPSPEED_CHECKPOINT_CLASSES
from vermo_cli.train.run_layout import MODEL_DIR, MODEL_STATES, checkpoint_run, checkpoint_tags

_OPTIMIZER_STATES = re.compile(r"(?:bf16_|fp16_)?zero_pp_rank_(\d+)_mp_rank_00_optim_states\.pt")
"""A rank's optimizer file (the prefix names the training dtype); group 1 is the rank."""


def check_training_checkpoint(tag: Path) -> None:
    """`CheckpointError` naming the kept tags unless `tag` is a checkpoint folder with its
    files (cheap: nothing is loaded)."""
    tag = Path(tag)
    if tag.is_dir() and (tag / MODEL_STATES).is_file() and _optimizer_files(tag):
        return
    kept = ", ".join(path.name for path in checkpoint_tags(tag.parent)) or "none"
    problem = "no such checkpoint" if not tag.exists() else "not a training checkpoint"
    raise CheckpointError(f"{tag}: {problem}; {tag.parent} holds {kept}")


def zero3_state_dict(tag: Path) -> dict[str, torch.Tensor]:
    """The full float32 weights (the optimizer's master copy) of a ZeRO-3 checkpoint folder,
    by parameter name, tied parameters under both names; `CheckpointError` when a file is
    missing, unreadable or holds more than tensors and plain data."""
    check_training_checkpoint(tag)
    model_states = load_checkpoint(tag / MODEL_STATES, "cpu", DEEPSPEED_CHECKPOINT_CLASSES)
    files = _optimizer_files(tag)
    partitions = [_master_partition(path, len(files)) for path in files]
    ranks = len(partitions)
    state: dict[str, torch.Tensor] = {}
    offset = 0
    for group in model_states["param_shapes"]:
        for name, shape in group.items():
            numel = math.prod(shape)
            piece = math.ceil(numel / ranks)
            pieces = [partition[offset : offset + piece] for partition in partitions]
            state[name] = torch.cat(pieces)[:numel].view(shape).clone()
            offset += piece
    if any(offset > len(partition) for partition in partitions):
        raise CheckpointError(f"{tag}: the optimizer files hold fewer weights than the model")
    for name, source in model_states.get("shared_params", {}).items():
        state[name] = state[source]
    buffers = set(model_states.get("buffer_names", ()))
    state.update({name: value for name, value in model_states["module"].items() if name in buffers})
    return state


def checkpoint_model(tag: Path) -> PreTrainedModel:
    """The causal LM of a checkpoint folder `RUN/checkpoints/step<N>`, in float32: the config
    saved beside its weights (or, for checkpoints saved without one, that of `RUN/model`)
    filled with `zero3_state_dict`."""
    tag = Path(tag)
    check_training_checkpoint(tag)
    config_dir = next(
        (
            place
            for place in (tag, checkpoint_run(tag) / MODEL_DIR)
            if (place / "config.json").is_file()
        ),
        None,
    )
    if config_dir is None:
        raise CheckpointError(f"{tag}: no config.json beside it or in the run's {MODEL_DIR}/")
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(config_dir)))
    try:
        model.load_state_dict(zero3_state_dict(tag))
    except RuntimeError:
        raise CheckpointError(
            f"{tag}: its weights do not fit the model of {config_dir / 'config.json'}"
        ) from None
    return model


def _optimizer_files(tag: Path) -> list[Path]:
    """The ranks' optimizer files of a checkpoint folder, in rank order."""
    ranked = []
    for path in tag.iterdir():
        match = _OPTIMIZER_STATES.fullmatch(path.name)
        if match:
            ranked.append((int(match[1]), path))
    return [path for _, path in sorted(ranked)]


def _master_partition(path: Path, ranks: int) -> torch.Tensor:
    """One rank's fp32 master weights as one flat tensor (its sub-groups joined); the file
    must say that the weights were split over `ranks` ranks."""
    content = load_checkpoint(path, "cpu", DEEPSPEED_CHECKPOINT_CLASSES)
    try:
        optimizer = content["optimizer_state_dict"]
        groups, split = optimizer["fp32_flat_groups"], optimizer["partition_count"]
    except (KeyError, TypeError):
        raise CheckpointError(f"{path}: not a ZeRO-3 optimizer file") from None
    if split != ranks:
        raise CheckpointError(
            f"{path.parent}: {ranks} optimizer file(s), but the weights were split over {split}"
        )
    return torch.cat([group.float() for group in groups])
