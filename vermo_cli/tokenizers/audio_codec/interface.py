"""The audio codec interface (waveform <-> one stream of tokens) and its plugin registry.

A codec lives in a directory with a `codec.json` naming the plugin that reads it:
  {"format": "vermo-codec", "version": 1, "plugin": "builtin", "config": {...}}
Plugins are classes registered in the entry-point group `vermo.codecs`, so a third-party package
adds a codec without touching vermo.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Self

import numpy as np

from vermo_cli.errors import VermoError
from vermo_cli.files import write_json_atomically

CODEC_FILE = "codec.json"
CODEC_FORMAT = "vermo-codec"
CODEC_VERSION = 1
ENTRY_POINT_GROUP = "vermo.codecs"


class CodecError(VermoError):
    """A codec directory is missing, foreign or unreadable, or a token is out of range."""


class AudioCodec(ABC):
    """Turns a mono waveform into one stream of integer tokens and back.

    Tokens lie in `[0, codebook_size)`, `tokens_per_second` of them per second of audio, so they
    can become `<|AUDIO_i|>` entries of the model's vocabulary.
    """

    name: str
    """Plugin name: the entry point in `vermo.codecs` that loads this codec."""

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Rate (Hz) of the waveforms `decode` returns and the codec works at internally."""

    @property
    @abstractmethod
    def tokens_per_second(self) -> float:
        """Tokens per second of audio."""

    @property
    @abstractmethod
    def codebook_size(self) -> int:
        """Number of distinct tokens; every token is in `[0, codebook_size)`."""

    @property
    @abstractmethod
    def identity(self) -> str:
        """A string that changes whenever the weights or the configuration change."""

    @abstractmethod
    def encode(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """Tokens `[tokens]` int64 of a mono `[samples]` float32 waveform at `sample_rate` Hz
        (resampled to `self.sample_rate` first when they differ)."""

    @abstractmethod
    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Mono `[samples]` float32 waveform at `self.sample_rate` Hz of `[tokens]` int64 tokens."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the codec (weights and `codec.json`) into `directory`, creating it."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> Self:
        """Read a codec that `save` wrote; `CodecError` naming the directory if it cannot."""


def codec_plugins() -> dict[str, EntryPoint]:
    """Installed codec plugins by name: the entry points of the group `vermo.codecs`."""
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def load_codec(directory: Path, plugin: str | None = None) -> AudioCodec:
    """Open the codec saved in `directory`.

    The plugin is the one `codec.json` names, or `plugin` when given (so a plain Hugging Face
    model directory opens with `plugin="transformers"`). Raises `CodecError` for a missing
    directory, a directory that is not a codec, or an unknown plugin.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CodecError(f"{directory}: codec directory not found")
    if plugin is None:
        plugin = read_codec_manifest(directory)["plugin"]
    plugins = codec_plugins()
    if plugin not in plugins:
        known = ", ".join(sorted(plugins)) or "none installed"
        raise CodecError(f"{directory}: unknown codec plugin {plugin!r} (known: {known})")
    codec_class = plugins[plugin].load()
    return codec_class.load(directory)


def read_codec_manifest(directory: Path) -> dict[str, Any]:
    """The parsed `codec.json` of `directory` (keys `plugin`, `config`); `CodecError` if absent,
    unreadable or of another format."""
    manifest_path = Path(directory) / CODEC_FILE
    if not manifest_path.is_file():
        raise CodecError(f"{directory}: not a vermo codec directory (no {CODEC_FILE})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise CodecError(f"{manifest_path}: unreadable codec manifest ({error.msg})") from error
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != CODEC_FORMAT
        or manifest.get("version") != CODEC_VERSION
        or not isinstance(manifest.get("plugin"), str)
    ):
        raise CodecError(f"{manifest_path}: not a {CODEC_FORMAT} v{CODEC_VERSION} manifest")
    manifest.setdefault("config", {})
    return manifest


def write_codec_manifest(directory: Path, plugin: str, config: dict[str, Any]) -> None:
    """Write `codec.json` into `directory` atomically (temporary file, then rename)."""
    content = {"format": CODEC_FORMAT, "version": CODEC_VERSION, "plugin": plugin, "config": config}
    write_json_atomically(Path(directory) / CODEC_FILE, content)


def fingerprint(files: list[Path], config: dict[str, Any]) -> str:
    """sha256 (hex) of the given files' bytes and the JSON of `config`: a codec's identity."""
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update(json.dumps(config, sort_keys=True).encode())
    return digest.hexdigest()


def check_tokens(tokens: np.ndarray, codebook_size: int, source: str) -> np.ndarray:
    """`tokens` as a `[tokens]` int64 array; `CodecError` naming `source` if any is outside
    `[0, codebook_size)` or the array is not one-dimensional."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or (tokens.size and not np.issubdtype(tokens.dtype, np.integer)):
        raise CodecError(f"{source}: expected a 1-D integer token array, got {tokens.shape}")
    tokens = tokens.astype(np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= codebook_size):
        raise CodecError(
            f"{source}: tokens must lie in [0, {codebook_size}), "
            f"got [{tokens.min()}, {tokens.max()}]"
        )
    return tokens
