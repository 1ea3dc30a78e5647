"""The built-in audio codec: its network, its recipe, and the loop that trains it.

Waveform at 24 kHz -> STFT magnitude frames, one per 600 samples (40 tokens per second) ->
log-mel -> 1-D convolutions over time -> one finite scalar quantizer (FSQ) -> 1-D convolutions
-> log-magnitude frames -> Griffin-Lim (librosa) -> waveform. Trained on random crops with an
L1 loss on log magnitudes plus spectral convergence.

Why a spectral codec and not a waveform one (SoundStream/WavTokenizer style): waveform codecs
need adversarial losses and hundreds of thousands of GPU steps before they output more than
noise, while this one learns onsets, beats and the spectral envelope in a few hundred CPU steps,
which is what motion-music tasks need from audio tokens. Its phase is estimated, not coded, so
it sounds reverberant; users who need high-fidelity audio plug in a pretrained codec through the
`transformers` plugin. FSQ rather than a learned codebook: no codebook to collapse, no
commitment loss, and training stays a deterministic function of the seed (exact resume).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import librosa
import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, model_validator
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from vector_quantize_pytorch import FSQ

from vermo_cli.data.audio import load_audio
from vermo_cli.data.store import SIDECAR_NAME, open_corpus
from vermo_cli.recipes import load_typed_recipe
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
MAGNITUDE_FLOOR = 1e-3
"""Magnitudes below this (about -110 dB under a full-scale sine) count as silence."""
# Fixed scaling of log-mel frames into roughly [-1, 1] for the encoder.
_LOG_MEL_CENTRE = -3.0
_LOG_MEL_SCALE = 4.0
# Long audio is coded in windows of this many tokens, each seen with `_CONTEXT_TOKENS` of
# audio on either side (more than the network's receptive field), so memory stays bounded.
_WINDOW_TOKENS = 750
_CONTEXT_TOKENS = 40

ProgressCallback = Callable[[int, int, dict[str, float]], None]


class AudioCodecNetworkConfig(BaseModel):
    """Shape of the codec network: everything `codec.json` needs to rebuild it."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: int = 24_000
    """Hz."""
    hop: int = 600
    """Samples per token (24,000 / 600 = 40 tokens per second)."""
    n_fft: int = 2048
    """STFT size (samples) of the frames a token codes; hann window of the same length."""
    n_mels: int = 80
    """Mel bands of the encoder's input."""
    codebook_size: int = 4096
    """Number of tokens; one of the keys of `FSQ_LEVELS`."""
    channels: int = 256
    """Width of the convolutional encoder and decoder."""
    latent_dim: int = 64
    """Channels of the latent that FSQ projects to its few quantized dimensions."""
    residual_units: int = 3
    """Residual units (dilated convolutions over time) in the encoder and in the decoder."""
    griffin_lim_iterations: int = 32
    """Phase-estimation iterations when decoding tokens to a waveform."""

    @model_validator(mode="after")
    def _check_shape(self) -> AudioCodecNetworkConfig:
        if self.n_fft < self.hop:
            raise ValueError(f"n_fft ({self.n_fft}) must be at least hop ({self.hop})")
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
    convergence_loss_weight: float = 1.0
    """Weight of spectral convergence (relative error of magnitudes) beside log-magnitude L1."""
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
    return load_typed_recipe(Path(path), "audio-codec", AudioCodecRecipe)


class ResidualUnit(nn.Module):
    """GELU, dilated conv (kernel 3), GELU, 1x1 conv, added to the input; keeps `[B, C, T]`."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(channels, channels, 3, dilation=dilation, padding=dilation),
            nn.GELU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _residual_stack(channels: int, units: int) -> list[nn.Module]:
    """`units` residual units with dilations 1, 2, 4, 1, ... (wider context at no extra cost)."""
    return [ResidualUnit(channels, 2 ** (index % 3)) for index in range(units)]


class SpectralCodecNetwork(nn.Module):
    """Analysis, encoder, FSQ, decoder and synthesis of the built-in codec.

    One token per `hop` samples: the STFT frame centred on the middle of that hop.
    Encoder: log-mel frames `[B, n_mels, T]` -> 1-D convolutions over time -> FSQ codes
    `[B, T]`. Decoder: quantized latents -> 1-D convolutions -> log-magnitude STFT frames
    `[B, n_fft / 2 + 1, T]`; Griffin-Lim turns them back into a waveform.
    """

    def __init__(self, config: AudioCodecNetworkConfig) -> None:
        super().__init__()
        self.config = config
        mel = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels)
        self.register_buffer("mel_filters", torch.from_numpy(mel).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        width = config.channels
        self.encoder = nn.Sequential(
            nn.Conv1d(config.n_mels, width, 3, padding=1),
            *_residual_stack(width, config.residual_units),
            nn.GELU(),
            nn.Conv1d(width, config.latent_dim, 1),
        )
        self.quantizer = FSQ(
            levels=list(FSQ_LEVELS[config.codebook_size]),
            dim=config.latent_dim,
            channel_first=True,
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(config.latent_dim, width, 3, padding=1),
            *_residual_stack(width, config.residual_units),
            nn.GELU(),
            nn.Conv1d(width, config.n_fft // 2 + 1, 1),
        )

    def magnitude(self, waveform: torch.Tensor) -> torch.Tensor:
        """STFT magnitude `[batch, n_fft / 2 + 1, samples / hop]` of `[batch, samples]` audio
        (samples a multiple of `hop`); frame `t` is centred on sample `t * hop + hop / 2`."""
        hop = self.config.hop
        frames = waveform.shape[-1] // hop
        spectrum = torch.stft(
            waveform[:, hop // 2 :],
            self.config.n_fft,
            hop,
            window=self.window,
            center=True,
            return_complex=True,
        )
        return spectrum.abs()[..., :frames]

    def log_magnitude(self, waveform: torch.Tensor) -> torch.Tensor:
        """`log(max(magnitude, MAGNITUDE_FLOOR))`, `[batch, n_fft / 2 + 1, samples / hop]`."""
        return self.magnitude(waveform).clamp_min(MAGNITUDE_FLOOR).log()

    def encoder_input(self, log_magnitude: torch.Tensor) -> torch.Tensor:
        """Scaled log-mel frames `[batch, n_mels, frames]` of log-magnitude frames."""
        mel = torch.einsum("mf,bft->bmt", self.mel_filters, log_magnitude.exp())
        return (mel.clamp_min(MAGNITUDE_FLOOR).log() - _LOG_MEL_CENTRE) / _LOG_MEL_SCALE

    def quantize(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantized latents `[batch, latent_dim, frames]` and codes `[batch, frames]` int of a
        `[batch, samples]` waveform (samples a multiple of `hop`)."""
        return self.quantize_frames(self.log_magnitude(waveform))

    def quantize_frames(self, log_magnitude: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantized latents and codes of log-magnitude frames `[batch, bins, frames]`."""
        return self.quantizer(self.encoder(self.encoder_input(log_magnitude)))

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Predicted and true log-magnitude frames `[batch, bins, frames]`, and the codes."""
        target = self.log_magnitude(waveform)
        latents, codes = self.quantize_frames(target)
        return self.decoder(latents), target, codes

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
        """Waveform `[tokens * hop]` float32 in [-1, 1] at `sample_rate` Hz of `[tokens]` codes:
        the decoded magnitudes with phases from Griffin-Lim (seeded, so deterministic)."""
        hop = self.config.hop
        if len(tokens) == 0:
            return np.zeros(0, dtype=np.float32)
        pieces = []
        for first, last, keep in _windows(len(tokens)):
            codes = torch.from_numpy(np.asarray(tokens[first:last], dtype=np.int64)).unsqueeze(0)
            pieces.append(self.decoder(self.quantizer.indices_to_codes(codes))[0, :, keep])
        magnitude = torch.cat(pieces, dim=-1).exp().numpy()
        # Frames sit at t * hop + hop / 2: repeat the first and last frame so the synthesis,
        # whose frames sit at t * hop, covers half a hop before and after, then trim.
        magnitude = np.concatenate([magnitude[:, :1], magnitude, magnitude[:, -1:]], axis=1)
        audio = librosa.griffinlim(
            magnitude,
            n_iter=self.config.griffin_lim_iterations,
            hop_length=hop,
            n_fft=self.config.n_fft,
            center=True,
            length=(len(tokens) + 1) * hop,
            random_state=0,
        )
        audio = audio[hop // 2 : hop // 2 + len(tokens) * hop]
        return np.clip(audio, -1.0, 1.0).astype(np.float32)


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


def save_builtin_codec(network: SpectralCodecNetwork, directory: Path) -> None:
    """Write the weights (`model.safetensors`) and a `codec.json` naming the `builtin` plugin
    with the network's configuration into `directory` (each file written atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{WEIGHTS_FILE}.partial-{os.getpid()}"
    save_file({k: v.cpu().contiguous() for k, v in network.state_dict().items()}, str(staging))
    os.replace(staging, directory / WEIGHTS_FILE)
    write_codec_manifest(directory, "builtin", network.config.model_dump())


def load_codec_network(directory: Path, config: AudioCodecNetworkConfig) -> SpectralCodecNetwork:
    """Rebuild the network of `config` with the weights in `directory`, in eval mode."""
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CodecError(f"{directory}: codec weights missing ({WEIGHTS_FILE})")
    network = SpectralCodecNetwork(config)
    try:
        network.load_state_dict(load_file(str(path)))
    except (RuntimeError, OSError) as error:
        message = str(error).splitlines()[0]
        raise CodecError(f"{path}: weights do not fit codec.json ({message})") from error
    return network.eval()


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


def check_codec_output(output: Path, resume: bool) -> None:
    """`CodecError` unless `output` is new, empty, or (with `resume`) a run to continue."""
    output = Path(output)
    if output.exists() and any(output.iterdir()) and not resume:
        raise CodecError(f"{output}: already holds files (resume the run or choose another -o)")


def remove_codec_run(output: Path) -> None:
    """Delete a codec run directory before `--overwrite` retrains it; refuses (`CodecError`) a
    directory that does not look like one, so a mistyped `-o` cannot delete unrelated files."""
    output = Path(output)
    if not output.exists():
        return
    markers = ("codec.json", CHECKPOINT_FILE, LOG_DIR)
    if not output.is_dir() or not (
        any((output / marker).exists() for marker in markers) or not any(output.iterdir())
    ):
        raise CodecError(f"{output}: not an audio codec run; refusing to overwrite it")
    shutil.rmtree(output)


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
    check_codec_output(output, resume)
    waveforms = collect_training_audio(sources, recipe.sample_rate)
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
    network: SpectralCodecNetwork,
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
