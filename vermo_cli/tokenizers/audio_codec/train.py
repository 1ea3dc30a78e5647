"""The built-in audio codec's training loop: AdamW on random crops, checkpoints for exact
resume, TensorBoard scalars, and the finished codec written for `load_codec`."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from vermo_cli.checkpoints import load_checkpoint
from vermo_cli.files import check_output_directory, check_replaceable, write_atomically
from vermo_cli.schedule import warmup_cosine_factor
from vermo_cli.tokenizers.audio_codec.data import collect_training_audio, random_crops
from vermo_cli.tokenizers.audio_codec.interface import CodecError
from vermo_cli.tokenizers.audio_codec.network import SpectralCodecNetwork, save_builtin_codec
from vermo_cli.tokenizers.audio_codec.recipe import AudioCodecRecipe

CHECKPOINT_FILE = "checkpoint.pt"
LOG_DIR = "logs"
FINAL_LR_FRACTION = 0.1
"""The cosine decay ends at a tenth of the peak learning rate."""

ProgressCallback = Callable[[int, int, dict[str, float]], None]


def learning_rate_at(step: int, recipe: AudioCodecRecipe) -> float:
    """The learning rate of 0-based step `step`: warm-up, then cosine decay to a tenth."""
    factor = warmup_cosine_factor(step, recipe.warmup_steps, recipe.steps, FINAL_LR_FRACTION)
    return recipe.learning_rate * factor


def check_codec_output(output: Path, resume: bool, overwrite: bool = False) -> None:
    """`CodecError` unless `output` is new, empty, (with `resume`) a run with a checkpoint to
    continue, or (with `overwrite`) a codec run to replace; touches nothing."""
    output = Path(output)
    check_output_directory(output, beside=False)
    if resume and not (output / CHECKPOINT_FILE).is_file():
        raise CodecError(f"{output}: nothing to resume (no {CHECKPOINT_FILE}); drop --resume")
    if resume or not output.exists() or not any(output.iterdir()):
        return
    if not overwrite:
        raise CodecError(f"{output}: already holds files (resume the run or choose another -o)")
    check_replaceable(output, ("codec.json", CHECKPOINT_FILE, LOG_DIR), "an audio codec run")


def remove_codec_run(output: Path) -> None:
    """Delete a codec run directory before `--overwrite` retrains it; refuses (`CodecError`) a
    directory that does not look like one, so a mistyped `-o` cannot delete unrelated files."""
    output = Path(output)
    if not output.exists():
        return
    check_codec_output(output, resume=False, overwrite=True)
    shutil.rmtree(output)


def fit_audio_codec(
    sources: Sequence[Path],
    recipe: AudioCodecRecipe,
    output: Path,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    device: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Train the built-in codec on `sources` (corpora, audio folders or files) and save it.

    Writes `output/checkpoint.pt` every `checkpoint_every` steps (model, optimizer, step and
    random state: a resumed run gives the same weights as an uninterrupted one), TensorBoard
    scalars under `output/logs`, and at the end the codec (`codec.json` + `model.safetensors`,
    loadable with `load_codec(output)`). `progress(step, steps, losses)` is called after each
    step (losses include `codes_used`, the distinct codes in the batch: a collapse shows as 1).
    `device` defaults to CUDA when available, else the CPU. `overwrite` replaces a codec run
    at `output`, deleted only once the training audio has been read. Returns `output`.
    """
    output = Path(output)
    checkpoint_path = output / CHECKPOINT_FILE
    check_codec_output(output, resume, overwrite)
    waveforms = collect_training_audio(sources, recipe.sample_rate)
    if overwrite and not resume:
        remove_codec_run(output)
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        network = SpectralCodecNetwork(recipe.network())
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay
    )
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    network.to(device)
    generator = torch.Generator().manual_seed(recipe.seed)
    step = 0
    if resume and checkpoint_path.is_file():
        step = _restore_checkpoint(checkpoint_path, recipe, network, optimizer, generator)
    output.mkdir(parents=True, exist_ok=True)
    crop = round(recipe.crop_seconds * recipe.sample_rate) // recipe.hop * recipe.hop
    network.train()
    with SummaryWriter(str(output / LOG_DIR), purge_step=step) as writer:
        while step < recipe.steps:
            losses = _train_step(network, optimizer, waveforms, crop, step, recipe, generator)
            step += 1
            if step % recipe.log_every == 0 or step == recipe.steps:
                for name, value in losses.items():
                    writer.add_scalar(f"audio_codec/{name}", value, step)
            if step % recipe.checkpoint_every == 0 or step == recipe.steps:
                _save_checkpoint(checkpoint_path, recipe, network, optimizer, generator, step)
            if progress is not None:
                progress(step, recipe.steps, losses)
    save_builtin_codec(network.cpu().eval(), output)
    return output


def _train_step(
    network: SpectralCodecNetwork,
    optimizer: torch.optim.Optimizer,
    waveforms: list[np.ndarray],
    crop: int,
    step: int,
    recipe: AudioCodecRecipe,
    generator: torch.Generator,
) -> dict[str, float]:
    """One AdamW step on a batch of random crops; returns the losses as floats."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate_at(step, recipe)
    device = next(network.parameters()).device
    audio = random_crops(waveforms, recipe.batch_size, crop, generator).to(device)
    prediction, target, codes = network(audio)
    log_magnitude = (prediction - target).abs().mean()
    predicted, reference = prediction.exp(), target.exp()
    convergence = torch.linalg.norm(reference - predicted) / (torch.linalg.norm(reference) + 1e-7)
    loss = log_magnitude + recipe.convergence_loss_weight * convergence
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(network.parameters(), recipe.gradient_clip)
    optimizer.step()
    return {
        "loss": loss.item(),
        "spectral_convergence": convergence.item(),
        "log_magnitude": log_magnitude.item(),
        "codes_used": float(codes.unique().numel()),
    }


def _save_checkpoint(
    path: Path,
    recipe: AudioCodecRecipe,
    network: SpectralCodecNetwork,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    step: int,
) -> None:
    """Write everything a run needs to continue exactly, atomically."""
    state = {
        "recipe": recipe.model_dump(),
        "step": step,
        "model": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
    }
    write_atomically(path, lambda staging: torch.save(state, staging))


def _restore_checkpoint(
    path: Path,
    recipe: AudioCodecRecipe,
    network: SpectralCodecNetwork,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> int:
    """Load a checkpoint into the run's objects; returns its step. `CodecError` if it was
    written with another recipe, `CheckpointError` if it holds more than tensors and plain data
    (it is read without running any code it names)."""
    device = next(network.parameters()).device
    state = load_checkpoint(path, map_location=device)
    if state["recipe"] != recipe.model_dump():
        raise CodecError(f"{path}: checkpoint was trained with another recipe; cannot resume")
    network.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"].cpu())
    return int(state["step"])
