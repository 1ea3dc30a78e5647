"""The built-in audio codec's network: STFT analysis, convolutional encoder, FSQ, decoder and
Griffin-Lim synthesis; saving and loading its weights."""

from __future__ import annotations

import math
from pathlib import Path

import librosa
import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from vector_quantize_pytorch import FSQ

from vermo_cli.errors import first_line
from vermo_cli.files import write_atomically
from vermo_cli.tokenizers.audio_codec.interface import CodecError, write_codec_manifest
from vermo_cli.tokenizers.audio_codec.recipe import FSQ_LEVELS, AudioCodecNetworkConfig
from vermo_cli.weights import read_safetensors

WEIGHTS_FILE = "model.safetensors"
MAGNITUDE_FLOOR = 1e-3
"""Magnitudes below this (about -110 dB under a full-scale sine) count as silence."""
# Fixed scaling of log-mel frames into roughly [-1, 1] for the encoder.
_LOG_MEL_CENTRE = -3.0
_LOG_MEL_SCALE = 4.0
# Long audio is coded in windows of this many tokens, each seen with `_CONTEXT_TOKENS` of
# audio on either side (more than the network's receptive field), so memory stays bounded.
_WINDOW_TOKENS = 750
_CONTEXT_TOKENS = 40


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
    weights = {k: v.cpu().contiguous() for k, v in network.state_dict().items()}
    write_atomically(directory / WEIGHTS_FILE, lambda staging: save_file(weights, str(staging)))
    write_codec_manifest(directory, "builtin", network.config.model_dump())


def load_codec_network(directory: Path, config: AudioCodecNetworkConfig) -> SpectralCodecNetwork:
    """Rebuild the network of `config` with the weights in `directory`, in eval mode."""
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CodecError(f"{directory}: codec weights missing ({WEIGHTS_FILE})")
    network = SpectralCodecNetwork(config)
    try:
        network.load_state_dict(read_safetensors(path))
    except (RuntimeError, OSError) as error:
        message = first_line(error)
        raise CodecError(f"{path}: weights do not fit codec.json ({message})") from error
    return network.eval()
