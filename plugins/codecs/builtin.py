"""The `builtin` codec plugin: the spectral codec vermo trains itself (`vermo tokenize fit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
from pydantic import ValidationError

from vermo_cli.data.audio import resample_audio
from vermo_cli.tokenizers.audio_codec.interface import (
    AudioCodec,
    CodecError,
    check_tokens,
    fingerprint,
    read_codec_manifest,
)
from vermo_cli.tokenizers.audio_codec.network import (
    WEIGHTS_FILE,
    SpectralCodecNetwork,
    load_codec_network,
    save_builtin_codec,
)
from vermo_cli.tokenizers.audio_codec.recipe import AudioCodecNetworkConfig


class BuiltinAudioCodec(AudioCodec):
    """A trained `SpectralCodecNetwork`: 24 kHz, 40 tokens per second, one FSQ codebook.

    `decode(encode(x))` holds `ceil(n / hop) * hop` samples for `n` samples of `x` at 24 kHz:
    the input is padded with silence to a whole token, so the output is at most one hop
    (600 samples, 25 ms) longer than the input resampled to 24 kHz.
    """

    name = "builtin"

    def __init__(self, network: SpectralCodecNetwork, identity: str = "") -> None:
        self.network = network.eval()
        self.config: AudioCodecNetworkConfig = network.config
        self._identity = identity

    @property
    def sample_rate(self) -> int:
        """Hz (24,000 for the shipped recipes)."""
        return self.config.sample_rate

    @property
    def tokens_per_second(self) -> float:
        """`sample_rate / hop` (40 for the shipped recipes)."""
        return self.config.tokens_per_second

    @property
    def codebook_size(self) -> int:
        """Product of the FSQ levels."""
        return self.config.codebook_size

    @property
    def identity(self) -> str:
        """sha256 of the weights file and the configuration, once saved or loaded."""
        return self._identity

    def encode(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """Tokens `[ceil(samples * 24000 / sample_rate / 600)]` int64 of a mono `[samples]`
        waveform at `sample_rate` Hz."""
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1:
            raise CodecError(f"{self.name} codec: expected a mono [samples] waveform")
        if sample_rate != self.sample_rate:
            waveform = resample_audio(waveform, sample_rate, self.sample_rate)
        return self.network.tokens_of(waveform)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Waveform `[tokens * hop]` float32 at `sample_rate` Hz of `[tokens]` tokens."""
        tokens = check_tokens(tokens, self.codebook_size, f"{self.name} codec")
        return self.network.waveform_of(tokens)

    def save(self, directory: Path) -> None:
        """Write `model.safetensors` and `codec.json`; the identity becomes theirs."""
        save_builtin_codec(self.network, Path(directory))
        self._identity = _identity_of(Path(directory), self.config)

    @classmethod
    def load(cls, directory: Path) -> Self:
        """Read a codec written by `save` (or by `fit_audio_codec`)."""
        directory = Path(directory)
        manifest = read_codec_manifest(directory)
        if manifest["plugin"] != cls.name:
            raise CodecError(f"{directory}: holds a {manifest['plugin']!r} codec, not {cls.name!r}")
        try:
            config = AudioCodecNetworkConfig(**manifest["config"])
        except ValidationError as error:
            message = error.errors()[0]["msg"]
            raise CodecError(f"{directory}: invalid codec.json config ({message})") from error
        return cls(load_codec_network(directory, config), _identity_of(directory, config))


def _identity_of(directory: Path, config: AudioCodecNetworkConfig) -> str:
    """`builtin:` + sha256 of the saved weights and the configuration."""
    return f"builtin:{fingerprint([directory / WEIGHTS_FILE], config.model_dump())}"
