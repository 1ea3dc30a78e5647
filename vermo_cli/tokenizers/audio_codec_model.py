"""The built-in audio codec: its convolutional network, its recipe, and the loop that trains it.

Waveform at 24 kHz -> strided 1-D convolutions (600 samples per step, 40 tokens per second) ->
one finite scalar quantizer (FSQ) -> transposed convolutions -> waveform. Trained on random crops
with a multi-resolution STFT loss (spectral convergence + log magnitude) plus a waveform L1.

FSQ rather than a learned codebook (VectorQuantize with EMA and dead-code replacement): FSQ
has no codebook to collapse, no commitment loss and no k-means initialisation, so it uses its
codes from the first steps even with the small batches a CPU affords, and training stays a
deterministic function of the seed, which makes exact resume simple.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from vector_quantize_pytorch import FSQ

from vermo_cli.data.audio import load_audio
from vermo_cli.data.store import SIDECAR_NAME, open_corpus
from vermo_cli.errors import VermoError
from vermo_cli.tokenizers.audio_codec import CodecError, write_codec_manifest

WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.pt"
LOG_DIR = "logs"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".aiff", ".aif")
# FSQ levels per supported codebook size (the product of the levels): near-equal levels
# quantize each latent dimension about equally finely.
FSQ_LEVELS: dict[int, tuple[int, ...]] = {
    1000: (8, 5, 5, 5),
    1024: (8, 8, 4, 4),
    2048: (8, 8, 8, 4),
    4096: (8, 8, 8, 8),
    4375: (7, 5, 5, 5, 5),
}
# Long audio is coded in windows of this many tokens, each seen with `_CONTEXT_TOKENS` of
# audio on either side (more than the network's receptive field), so memory stays bounded.
_WINDOW_TOKENS = 750
_CONTEXT_TOKENS = 40

ProgressCallback = Callable[[int, int, dict[str, float]], None]


class RecipeError(VermoError):
    """A recipe file is missing, unreadable or invalid."""


class AudioCodecNetworkConfig(BaseModel):
    """Shape of the codec network: everything `codec.json` needs to rebuild it."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: int = 24_000
    """Hz."""
    hop: int = 600
    """Samples per token (24,000 / 600 = 40 tokens per second)."""
    strides: list[int] = [4, 5, 5, 6]
    """Downsampling factor of each encoder level (their product is `hop`)."""
    codebook_size: int = 4096
    """Number of tokens; one of the keys of `FSQ_LEVELS`."""
    channels: int = 32
    """Width of the first encoder level; doubles at each level up to `max_channels`."""
    max_channels: int = 256
    latent_dim: int = 64
    """Channels of the latent that FSQ projects to its few quantized dimensions."""
    residual_units: int = 1
    """Residual units (dilated convolutions) per level."""

    @model_validator(mode="after")
    def _check_shape(self) -> AudioCodecNetworkConfig:
        if math.prod(self.strides) != self.hop:
            raise ValueError(f"the product of strides {self.strides} must equal hop {self.hop}")
        if self.codebook_size not in FSQ_LEVELS:
            raise ValueError(f"codebook_size must be one of {sorted(FSQ_LEVELS)}")
        return self

    @property
    def tokens_per_second(self) -> float:
        """Tokens per second of audio."""
        return self.sample_rate / self.hop


class AudioCodecRecipe(AudioCodecNetworkConfig):
    """A training recipe for the built-in codec (a YAML file with `kind: audio-codec`)."""

    kind: Literal["audio-codec"]
    steps: int = 2000
    batch_size: int = 8
    crop_seconds: float = 1.0
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 50
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    stft_sizes: list[int] = [2048, 1024, 512, 256, 128]
    """FFT sizes (samples) of the multi-resolution STFT loss; hop is a quarter of each."""
    waveform_loss_weight: float = 1.0
    gradient_clip: float = 1.0
    """Largest gradient norm per step."""

    @model_validator(mode="after")
    def _check_training(self) -> AudioCodecRecipe:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.crop_seconds * self.sample_rate < 2 * self.hop:
            raise ValueError("crop_seconds must cover at least two hops")
        return self

    def network(self) -> AudioCodecNetworkConfig:
        """The network part of the recipe."""
        return AudioCodecNetworkConfig(
            **self.model_dump(include=set(AudioCodecNetworkConfig.model_fields))
        )


def load_audio_codec_recipe(path: Path) -> AudioCodecRecipe:
    """Read and validate a YAML recipe; `RecipeError` with a one-line message naming the file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe not found")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from error
    if not isinstance(content, dict) or content.get("kind") != "audio-codec":
        raise RecipeError(f"{path}: not an audio-codec recipe (expected `kind: audio-codec`)")
    try:
        return AudioCodecRecipe(**content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "recipe"
        raise RecipeError(f"{path}: {where}: {first['msg']}") from error


class ResidualUnit(nn.Module):
    """ELU -> dilated conv (kernel 7) -> ELU -> 1x1 conv, added to the input; keeps `[B, C, T]`."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ELU(),
            nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation),
            nn.ELU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class LatentNorm(nn.Module):
    """Normalises each frame of `[B, C, T]` latents over channels (no parameters).

    Without it the latents of loud music can grow until FSQ's tanh bound saturates: every frame
    then lands on one code and the bound passes no gradient back, so training never recovers.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(x.transpose(1, 2), x.shape[1:2]).transpose(1, 2)


def _residual_stack(channels: int, units: int) -> list[nn.Module]:
    """`units` residual units with dilations 1, 3, 9, ... (wider context at no extra cost)."""
    return [ResidualUnit(channels, 3 ** (index % 3)) for index in range(units)]


def _level_widths(config: AudioCodecNetworkConfig) -> list[int]:
    """Channel width at the input of each encoder level and after the last: `[levels + 1]`."""
    return [
        min(config.channels * 2**level, config.max_channels)
        for level in range(len(config.strides) + 1)
    ]


class WaveformCodecNetwork(nn.Module):
    """Encoder, FSQ and decoder of the built-in codec.

    `forward` maps `[batch, samples]` (samples a multiple of `hop`) to the reconstruction
    `[batch, samples]` and the codes `[batch, samples / hop]`.
    """

    def __init__(self, config: AudioCodecNetworkConfig) -> None:
        super().__init__()
        self.config = config
        widths = _level_widths(config)
        encoder: list[nn.Module] = [nn.Conv1d(1, widths[0], 7, padding=3)]
        for level, stride in enumerate(config.strides):
            encoder += _residual_stack(widths[level], config.residual_units)
            encoder += [
                nn.ELU(),
                nn.Conv1d(
                    widths[level], widths[level + 1], 2 * stride, stride, math.ceil(stride / 2)
                ),
            ]
        encoder += [
            nn.ELU(),
            nn.Conv1d(widths[-1], config.latent_dim, 3, padding=1),
            LatentNorm(),
        ]
        self.encoder = nn.Sequential(*encoder)
        self.quantizer = FSQ(
            levels=list(FSQ_LEVELS[config.codebook_size]),
            dim=config.latent_dim,
            channel_first=True,
        )
        decoder: list[nn.Module] = [nn.Conv1d(config.latent_dim, widths[-1], 7, padding=3)]
        for level in reversed(range(len(config.strides))):
            stride = config.strides[level]
            decoder += [
                nn.ELU(),
                nn.ConvTranspose1d(
                    widths[level + 1],
                    widths[level],
                    2 * stride,
                    stride,
                    padding=math.ceil(stride / 2),
                    output_padding=stride % 2,
                ),
            ]
            decoder += _residual_stack(widths[level], config.residual_units)
        decoder += [nn.ELU(), nn.Conv1d(widths[0], 1, 7, padding=3)]
        self.decoder = nn.Sequential(*decoder)

    def quantize(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantized latents `[batch, latent_dim, frames]` and codes `[batch, frames]` int of a
        `[batch, samples]` waveform."""
        return self.quantizer(self.encoder(waveform.unsqueeze(1)))

    def synthesize(self, latents: torch.Tensor) -> torch.Tensor:
        """Waveform `[batch, frames * hop]` of quantized latents `[batch, latent_dim, frames]`."""
        return self.decoder(latents).squeeze(1)

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latents, codes = self.quantize(waveform)
        return self.synthesize(latents), codes

    @torch.no_grad()
    def tokens_of(self, waveform: np.ndarray) -> np.ndarray:
        """Tokens `[ceil(samples / hop)]` int64 of a `[samples]` waveform at `sample_rate` Hz;
        the end is padded with silence up to a whole hop."""
        hop = self.config.hop
        count = math.ceil(len(waveform) / hop)
        padded = np.zeros(count * hop, dtype=np.float32)
        padded[: len(waveform)] = waveform
        pieces = []
        for first, last, keep in _windows(count):
            chunk = torch.from_numpy(padded[first * hop : last * hop]).unsqueeze(0)
            pieces.append(self.quantize(chunk)[1][0, keep].to(torch.int64).numpy())
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)

    @torch.no_grad()
    def waveform_of(self, tokens: np.ndarray) -> np.ndarray:
        """Waveform `[tokens * hop]` float32 in [-1, 1] at `sample_rate` Hz of `[tokens]` codes."""
        hop = self.config.hop
        pieces = []
        for first, last, keep in _windows(len(tokens)):
            codes = torch.from_numpy(np.asarray(tokens[first:last], dtype=np.int64)).unsqueeze(0)
            latents = self.quantizer.indices_to_codes(codes)
            audio = self.synthesize(latents)[0]
            pieces.append(audio[keep.start * hop : keep.stop * hop].numpy())
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.clip(np.concatenate(pieces), -1.0, 1.0).astype(np.float32)


def _windows(count: int) -> list[tuple[int, int, slice]]:
    """Windows over `count` tokens: `(first, last, keep)` where tokens `[first, last)` are
    processed and `keep` selects, within them, the ones this window contributes."""
    windows = []
    for start in range(0, count, _WINDOW_TOKENS):
        first = max(0, start - _CONTEXT_TOKENS)
        last = min(count, start + _WINDOW_TOKENS + _CONTEXT_TOKENS)
        stop = min(count, start + _WINDOW_TOKENS)
        windows.append((first, last, slice(start - first, stop - first)))
    return windows


def save_builtin_codec(network: WaveformCodecNetwork, directory: Path) -> None:
    """Write the weights (`model.safetensors`) and a `codec.json` naming the `builtin` plugin
    with the network's configuration into `directory` (each file written atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{WEIGHTS_FILE}.partial-{os.getpid()}"
    save_file({k: v.cpu().contiguous() for k, v in network.state_dict().items()}, str(staging))
    os.replace(staging, directory / WEIGHTS_FILE)
    write_codec_manifest(directory, "builtin", network.config.model_dump())


def load_codec_network(directory: Path, config: AudioCodecNetworkConfig) -> WaveformCodecNetwork:
    """Rebuild the network of `config` with the weights in `directory`, in eval mode."""
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CodecError(f"{directory}: codec weights missing ({WEIGHTS_FILE})")
    network = WaveformCodecNetwork(config)
    try:
        network.load_state_dict(load_file(str(path)))
    except (RuntimeError, OSError) as error:
        message = str(error).splitlines()[0]
        raise CodecError(f"{path}: weights do not fit codec.json ({message})") from error
    return network.eval()


def multi_resolution_stft_loss(
    prediction: torch.Tensor, target: torch.Tensor, fft_sizes: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectral convergence and log-magnitude L1 between `[batch, samples]` waveforms, each
    averaged over the STFT resolutions `fft_sizes` (Hann windows, hop a quarter of the size)."""
    convergence = prediction.new_zeros(())
    log_magnitude = prediction.new_zeros(())
    for size in fft_sizes:
        window = torch.hann_window(size, device=prediction.device)
        spectra = [
            torch.stft(signal, size, size // 4, window=window, return_complex=True).abs()
            for signal in (prediction, target)
        ]
        predicted, reference = (spectrum.clamp_min(1e-5) for spectrum in spectra)
        convergence = convergence + torch.linalg.norm(reference - predicted) / (
            torch.linalg.norm(reference) + 1e-7
        )
        log_magnitude = log_magnitude + (reference.log() - predicted.log()).abs().mean()
    return convergence / len(fft_sizes), log_magnitude / len(fft_sizes)


def collect_training_audio(sources: Sequence[Path], sample_rate: int) -> list[np.ndarray]:
    """Mono `[samples]` float32 waveforms at `sample_rate` Hz from each source in order.

    A source is an audio file, a folder of audio files, or a vermo corpus (the audio of its
    train-split clips, each clip's `offset`/`duration` span). `CodecError` names a source that
    is missing or holds no audio.
    """
    waveforms: list[np.ndarray] = []
    for source in map(Path, sources):
        if source.is_file():
            found = [load_audio(source, sample_rate)[0]]
        elif (source / SIDECAR_NAME).is_file():
            found = _corpus_audio(source, sample_rate)
        elif source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            found = [load_audio(path, sample_rate)[0] for path in files]
        else:
            raise CodecError(f"{source}: training audio not found")
        if not found:
            raise CodecError(f"{source}: holds no audio to train a codec on")
        waveforms += found
    return waveforms


def _corpus_audio(directory: Path, sample_rate: int) -> list[np.ndarray]:
    """Waveforms of the train-split clip spans of a corpus (each distinct span once)."""
    corpus = open_corpus(directory)
    rows = corpus.clips.select_columns(["audio", "split"])
    spans = sorted(
        {
            (row["audio"]["path"], float(row["audio"]["offset"]), float(row["audio"]["duration"]))
            for row in rows
            if row["audio"] is not None and row["split"] == "train"
        }
    )
    files: dict[str, np.ndarray] = {}
    waveforms = []
    for relative, offset, duration in spans:
        if relative not in files:
            files[relative] = load_audio(corpus.audio_path(relative), sample_rate)[0]
        first = round(offset * sample_rate)
        span = files[relative][first : first + round(duration * sample_rate)]
        if len(span):
            waveforms.append(span)
    return waveforms


def random_crops(
    waveforms: list[np.ndarray], count: int, length: int, generator: torch.Generator
) -> torch.Tensor:
    """`[count, length]` crops: a waveform drawn in proportion to its length, then a uniform
    start; waveforms shorter than `length` are padded with silence."""
    lengths = torch.tensor([len(w) for w in waveforms], dtype=torch.float64)
    choices = torch.multinomial(lengths, count, replacement=True, generator=generator)
    batch = torch.zeros(count, length)
    for row, choice in enumerate(choices.tolist()):
        waveform = waveforms[choice]
        room = max(len(waveform) - length, 0)
        start = int(torch.randint(room + 1, (1,), generator=generator))
        piece = waveform[start : start + length]
        batch[row, : len(piece)] = torch.from_numpy(piece)
    return batch


def learning_rate_at(step: int, recipe: AudioCodecRecipe) -> float:
    """Linear warm-up for `warmup_steps`, then cosine decay to a tenth of `learning_rate`."""
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))


def fit_audio_codec(
    sources: Sequence[Path],
    recipe: AudioCodecRecipe,
    output: Path,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    device: str | None = None,
) -> Path:
    """Train the built-in codec on `sources` (corpora, audio folders or files) and save it.

    Writes `output/checkpoint.pt` every `checkpoint_every` steps (model, optimizer, step and
    random state: a resumed run gives the same weights as an uninterrupted one), TensorBoard
    scalars under `output/logs`, and at the end the codec (`codec.json` + `model.safetensors`,
    loadable with `load_codec(output)`). `progress(step, steps, losses)` is called after each
    step (losses include `codes_used`, the distinct codes in the batch: a collapse shows as 1).
    `device` defaults to CUDA when available, else the CPU. Returns `output`.
    """
    output = Path(output)
    checkpoint_path = output / CHECKPOINT_FILE
    if output.exists() and any(output.iterdir()) and not resume:
        raise CodecError(f"{output}: already holds files (resume the run or choose another -o)")
    waveforms = collect_training_audio(sources, recipe.sample_rate)
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        network = WaveformCodecNetwork(recipe.network())
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
    network: WaveformCodecNetwork,
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
    target = random_crops(waveforms, recipe.batch_size, crop, generator).to(device)
    prediction, codes = network(target)
    convergence, log_magnitude = multi_resolution_stft_loss(prediction, target, recipe.stft_sizes)
    waveform_l1 = (prediction - target).abs().mean()
    loss = convergence + log_magnitude + recipe.waveform_loss_weight * waveform_l1
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(network.parameters(), recipe.gradient_clip)
    optimizer.step()
    return {
        "loss": loss.item(),
        "spectral_convergence": convergence.item(),
        "log_magnitude": log_magnitude.item(),
        "waveform_l1": waveform_l1.item(),
        "codes_used": float(codes.unique().numel()),
    }


def _save_checkpoint(
    path: Path,
    recipe: AudioCodecRecipe,
    network: WaveformCodecNetwork,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    step: int,
) -> None:
    """Write everything a run needs to continue exactly, atomically."""
    staging = path.with_name(f".{path.name}.partial-{os.getpid()}")
    torch.save(
        {
            "recipe": recipe.model_dump(),
            "step": step,
            "model": network.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
        },
        staging,
    )
    os.replace(staging, path)


def _restore_checkpoint(
    path: Path,
    recipe: AudioCodecRecipe,
    network: WaveformCodecNetwork,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> int:
    """Load a checkpoint into the run's objects; returns its step. `CodecError` if it was
    written with another recipe."""
    device = next(network.parameters()).device
    state = torch.load(path, map_location=device, weights_only=True)
    if state["recipe"] != recipe.model_dump():
        raise CodecError(f"{path}: checkpoint was trained with another recipe; cannot resume")
    network.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"].cpu())
    return int(state["step"])
