"""Training telemetry: the MFU formula, the device peak table and its override."""

from __future__ import annotations

import pytest
from transformers import LlamaConfig, LlamaForCausalLM

from vermo_cli.errors import VermoError
from vermo_cli.telemetry import (
    PEAK_FLOPS_ENV,
    ThroughputWindow,
    model_flops_utilization,
    non_embedding_parameters,
    peak_flops_per_second,
    training_flops_per_token,
)


def test_mfu_of_known_numbers() -> None:
    # 1e9 non-embedding parameters, 24 layers of width 2048, 2048-token sequences:
    # 6 * 1e9 + 12 * 24 * 2048 * 2048 = 7_207_959_552 FLOPs per token.
    flops = training_flops_per_token(1_000_000_000, 24, 2048, 2048)
    assert flops == 7_207_959_552
    # 10,000 tokens/s on one H100 SXM (989 TFLOP/s): 7.207959552e13 / 9.89e14.
    mfu = model_flops_utilization(10_000.0, flops, 989e12)
    assert mfu == pytest.approx(0.07288128970677452, rel=1e-12)
    assert model_flops_utilization(10_000.0, flops, None) is None


@pytest.mark.parametrize(
    ("name", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", 989e12),
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H200", 989e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA L40", 181e12),
        ("Some Future Accelerator", None),
        (None, None),
    ],
)
def test_peak_flops_by_device_name(
    name: str | None, peak: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PEAK_FLOPS_ENV, raising=False)
    assert peak_flops_per_second(name) == peak


def test_peak_flops_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEAK_FLOPS_ENV, "500e12")
    assert peak_flops_per_second("Some Future Accelerator") == 500e12
    assert peak_flops_per_second(None) is None, "the CPU has no honest peak"
    monkeypatch.setenv(PEAK_FLOPS_ENV, "fast")
    with pytest.raises(VermoError, match=PEAK_FLOPS_ENV):
        peak_flops_per_second("NVIDIA H100 PCIe")


@pytest.mark.parametrize("tied", [True, False])
def test_non_embedding_parameters_leave_out_the_vocabulary_matrices(tied: bool) -> None:
    config = LlamaConfig(
        vocab_size=100,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=tied,
    )
    model = LlamaForCausalLM(config)
    # Per layer: q, k, v, o (16 x 16 each), gate, up, down (16 x 32 each), two norms of 16;
    # then the final norm.
    per_layer = 4 * 16 * 16 + 3 * 16 * 32 + 2 * 16
    assert non_embedding_parameters(model) == 2 * per_layer + 16


def test_throughput_window_averages_the_last_steps() -> None:
    window = ThroughputWindow(2)
    assert window.items_per_second() == 0.0 and window.step_seconds() == 0.0
    for items, seconds in [(1000.0, 10.0), (300.0, 1.0), (500.0, 1.0)]:
        window.add(items, seconds)
    assert window.items_per_second() == 400.0 and window.step_seconds() == 1.0
