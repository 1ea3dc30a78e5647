"""Training telemetry: model FLOPs per token, device peak FLOP/s and model FLOP utilisation (MFU),
and peak accelerator memory per logging window."""

from __future__ import annotations

import os
from collections import deque

import torch

from vermo_cli.errors import VermoError

PEAK_FLOPS_ENV = "VERMO_PEAK_FLOPS"
"""Environment variable that overrides the device's peak FLOP/s (e.g. `989e12`) in MFU."""

PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("GH200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),
    ("H800", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L40", 181e12),
    ("A10G", 70e12),
    ("L4", 121e12),
)
"""Dense (no sparsity) bf16 tensor-core peak FLOP/s by a fragment of the CUDA device name, the
first matching fragment winning (so "H100 PCIe" before "H100", whose SXM part is the default)."""

GIB = 2**30


def training_flops_per_token(
    non_embedding_parameters: int, layers: int, hidden_size: int, sequence_length: int
) -> float:
    """Model FLOPs to train on one token (forward and backward): `6 N + 12 L H S`, with `N` the
    non-embedding parameters, `L` layers, `H` hidden size and `S` sequence length (tokens).

    `6 N` is the matrix multiplies (2 N forward, 4 N backward); `12 L H S` the attention scores
    and their weighted sum (2 x 2 L H S forward, twice that backward). Recomputation for gradient
    checkpointing is not counted, as MFU (unlike hardware utilisation) never counts it."""
    return 6.0 * non_embedding_parameters + 12.0 * layers * hidden_size * sequence_length


def model_flops_utilization(
    tokens_per_second: float, flops_per_token: float, peak_flops_per_second: float | None
) -> float | None:
    """Achieved model FLOP/s (`tokens_per_second * flops_per_token`) over the peak FLOP/s of the
    devices that processed those tokens; None without a known peak."""
    if peak_flops_per_second is None or peak_flops_per_second <= 0:
        return None
    return tokens_per_second * flops_per_token / peak_flops_per_second


def peak_flops_per_second(device_name: str | None) -> float | None:
    """Dense bf16 peak FLOP/s of one CUDA device named `device_name`: `VERMO_PEAK_FLOPS` when
    set, else the `PEAK_BF16_FLOPS` entry matching the name; None for unknown devices and for
    the CPU (`device_name` None), which has no honest peak."""
    if device_name is None:
        return None
    override = os.environ.get(PEAK_FLOPS_ENV, "").strip()
    if override:
        try:
            peak = float(override)
        except ValueError:
            peak = 0.0
        if not peak > 0:
            raise VermoError(
                f"{PEAK_FLOPS_ENV}={override}: expected a positive FLOP/s, e.g. 989e12"
            )
        return peak
    for fragment, flops in PEAK_BF16_FLOPS:
        if fragment.lower() in device_name.lower():
            return flops
    return None


def non_embedding_parameters(model: torch.nn.Module) -> int:
    """Parameters of `model` outside its input embedding and output layer (the vocabulary
    matrices), each shared tensor counted once; a Hugging Face model's
    `get_input_embeddings` / `get_output_embeddings` name those."""
    vocabulary = set()
    for getter in ("get_input_embeddings", "get_output_embeddings"):
        layer = getattr(model, getter, lambda: None)()
        if layer is not None:
            vocabulary.update(id(parameter) for parameter in layer.parameters())
    return sum(
        _numel(parameter) for parameter in model.parameters() if id(parameter) not in vocabulary
    )


def _numel(parameter: torch.Tensor) -> int:
    """Elements of a parameter, also when ZeRO-3 has partitioned it away (`ds_numel`)."""
    return int(getattr(parameter, "ds_numel", parameter.numel()))


class ThroughputWindow:
    """Items (tokens, frames) per second and seconds per step, averaged over the last `steps`
    training steps."""

    def __init__(self, steps: int) -> None:
        self._steps: deque[tuple[float, float]] = deque(maxlen=steps)

    def add(self, items: float, seconds: float) -> None:
        """Record one step that processed `items` in `seconds`."""
        self._steps.append((items, seconds))

    def items_per_second(self) -> float:
        """Items over seconds in the window (0 before the first step)."""
        seconds = sum(s for _, s in self._steps)
        return sum(i for i, _ in self._steps) / seconds if seconds > 0 else 0.0

    def step_seconds(self) -> float:
        """Mean seconds per step in the window (0 before the first step)."""
        return sum(s for _, s in self._steps) / len(self._steps) if self._steps else 0.0


class PeakMemory:
    """Peak accelerator memory allocated (GiB) since the last `reset`: CUDA's
    `max_memory_allocated` of the current device; None on CPU."""

    def __init__(self) -> None:
        self.enabled = torch.cuda.is_available()

    def gib(self) -> float | None:
        """Peak allocated memory since the last reset (GiB), None on CPU."""
        return torch.cuda.max_memory_allocated() / GIB if self.enabled else None

    def reset(self) -> None:
        """Start a new window."""
        if self.enabled:
            torch.cuda.reset_peak_memory_stats()


def cuda_device_name() -> str | None:
    """The current CUDA device's name (`NVIDIA H100 80GB HBM3`), None without CUDA."""
    return torch.cuda.get_device_name() if torch.cuda.is_available() else None
