"""The `transformers` codec plugin: a pretrained EnCodec model read from a local directory.

EnCodec quantizes each frame with several residual codebooks (the 24 kHz model: 75 frames per
second, 2 codebooks of 1,024 at its lowest bandwidth, 1.5 kbps), and no bandwidth of it has a
single codebook. Keeping only the first codebook would throw away most of the signal, so the
codebooks are flattened into one stream instead: frame-major, codebook `q` of a frame becomes
token `q * bins + code`. Hence `codebook_size = n_q * bins` and
`tokens_per_second = frame_rate * n_q` (150 tokens/s, 2,048 tokens at 1.5 kbps). The bandwidth is
the model's lowest unless `codec.json` names another.

Supported: mono EnCodec models that code the whole signal at once (no chunking, no
normalisation), such as encodec_24khz. Weights are read only from the local directory.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch

from vermo_cli.data.audio import resample_audio
from vermo_cli.tokenizers.audio_codec.interface import (
    CODEC_FILE,
    AudioCodec,
    CodecError,
    check_tokens,
    fingerprint,
    read_codec_manifest,
    write_codec_manifest,
)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class TransformersAudioCodec(AudioCodec):
    """An `EncodecModel` whose codebooks are flattened into one token stream (see the module)."""

    name = "transformers"

    def __init__(
        self, model: Any, bandwidth: float, identity: str = "", source: str = "EnCodec model"
    ) -> None:
        """Wrap `model` (an `EncodecModel`) at `bandwidth` kbps; errors name `source`."""
        config = model.config
        if config.audio_channels != 1 or config.chunk_length_s is not None or config.normalize:
            raise CodecError(f"{source}: only mono, unchunked, unnormalised EnCodec is supported")
        if bandwidth not in config.target_bandwidths:
            raise CodecError(
                f"{source}: bandwidth {bandwidth} is not one of {list(config.target_bandwidths)}"
            )
        self.model = model.eval()
        self.bandwidth = float(bandwidth)
        self.quantizers = model.quantizer.get_num_quantizers_for_bandwidth(self.bandwidth)
        self.bins = int(config.codebook_size)
        self._identity = identity

    @property
    def sample_rate(self) -> int:
        """The model's sampling rate (Hz)."""
        return int(self.model.config.sampling_rate)

    @property
    def tokens_per_second(self) -> float:
        """Frames per second times codebooks per frame."""
        return float(self.model.config.frame_rate * self.quantizers)

    @property
    def codebook_size(self) -> int:
        """Codebooks per frame times codes per codebook."""
        return self.quantizers * self.bins

    @property
    def identity(self) -> str:
        """sha256 of the weights file, `config.json` and the bandwidth."""
        return self._identity

    @torch.no_grad()
    def encode(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """Tokens `[frames * n_q]` int64 (frame-major, offset by codebook) of a mono `[samples]`
        waveform at `sample_rate` Hz; frames = ceil(samples at the model rate / hop)."""
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1:
            raise CodecError(f"{self.name} codec: expected a mono [samples] waveform")
        if sample_rate != self.sample_rate:
            waveform = resample_audio(waveform, sample_rate, self.sample_rate)
        if len(waveform) == 0:
            return np.zeros(0, dtype=np.int64)
        hop = int(self.model.config.hop_length)
        padded = np.zeros(math.ceil(len(waveform) / hop) * hop, dtype=np.float32)
        padded[: len(waveform)] = waveform
        encoded = self.model.encode(
            torch.from_numpy(padded)[None, None], bandwidth=self.bandwidth, return_dict=True
        )
        codes = encoded.audio_codes[0, 0].to(torch.int64)  # [n_q, frames]
        offsets = torch.arange(self.quantizers, dtype=torch.int64)[:, None] * self.bins
        return (codes + offsets).T.reshape(-1).numpy()

    @torch.no_grad()
    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Waveform `[frames * hop]` float32 at `sample_rate` Hz of `[frames * n_q]` tokens."""
        tokens = check_tokens(tokens, self.codebook_size, f"{self.name} codec")
        if len(tokens) % self.quantizers:
            raise CodecError(
                f"{self.name} codec: token count {len(tokens)} is not a multiple of "
                f"{self.quantizers} codebooks per frame"
            )
        if len(tokens) == 0:
            return np.zeros(0, dtype=np.float32)
        frames = torch.from_numpy(tokens).reshape(-1, self.quantizers).T  # [n_q, frames]
        offsets = torch.arange(self.quantizers, dtype=torch.int64)[:, None] * self.bins
        if not torch.equal((frames - offsets) // self.bins, torch.zeros_like(frames)):
            raise CodecError(f"{self.name} codec: a token sits in another codebook's range")
        decoded = self.model.decode((frames - offsets)[None, None], [None], return_dict=True)
        return decoded.audio_values[0, 0].numpy().astype(np.float32)

    def save(self, directory: Path) -> None:
        """Write the model (`save_pretrained`), its feature extractor and `codec.json`."""
        from transformers import EncodecFeatureExtractor

        directory = Path(directory)
        self.model.save_pretrained(directory)
        config = self.model.config
        EncodecFeatureExtractor(
            feature_size=config.audio_channels, sampling_rate=config.sampling_rate
        ).save_pretrained(directory)
        write_codec_manifest(directory, self.name, {"bandwidth": self.bandwidth})
        self._identity = _identity_of(directory, self.bandwidth)

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read an EnCodec model from a local Hugging Face directory (`config.json` + weights),
        with or without a `codec.json` (which may set `bandwidth`). Never downloads."""
        from transformers import EncodecConfig, EncodecModel

        directory = Path(directory)
        if not directory.is_dir():
            raise CodecError(f"{directory}: codec directory not found")
        settings: dict[str, Any] = {}
        if (directory / CODEC_FILE).is_file():
            manifest = read_codec_manifest(directory)
            if manifest["plugin"] != cls.name:
                raise CodecError(
                    f"{directory}: holds a {manifest['plugin']!r} codec, not {cls.name!r}"
                )
            settings = manifest["config"]
        model_type = _model_type(directory)
        if model_type != EncodecConfig.model_type:
            raise CodecError(
                f"{directory}: no supported transformers codec (model_type {model_type!r}; "
                "supported: 'encodec')"
            )
        if not any((directory / name).is_file() for name in WEIGHT_FILES):
            raise CodecError(f"{directory}: no model weights ({' or '.join(WEIGHT_FILES)})")
        model = EncodecModel.from_pretrained(directory, local_files_only=True)
        bandwidth = float(settings.get("bandwidth", model.config.target_bandwidths[0]))
        return cls(model, bandwidth, _identity_of(directory, bandwidth), str(directory))


def _model_type(directory: Path) -> str | None:
    """`model_type` of a Hugging Face `config.json`, or None when there is none."""
    path = directory / "config.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text()).get("model_type")
    except (json.JSONDecodeError, AttributeError):
        return None


def _identity_of(directory: Path, bandwidth: float) -> str:
    """`transformers:` + sha256 of the weights, `config.json` and the bandwidth."""
    files = [directory / name for name in (*WEIGHT_FILES, "config.json")]
    present = [path for path in files if path.is_file()]
    return f"transformers:{fingerprint(present, {'bandwidth': bandwidth})}"
