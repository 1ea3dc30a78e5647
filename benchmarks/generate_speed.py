"""Benchmark: how fast `vermo generate t2m` is with a trained model on this machine.

    .venv/bin/python benchmarks/generate_speed.py --checkpoint runs/sft

Measures, for a 4-second motion ("a person waves"): loading the model (language model,
vocabulary, FlowVQ tokenizer, codec), then sampling and decoding one sample, then batches of
`--batch-size` samples (samples/s), with the flow decoder and with the stage-1 decoder. Prints one
table; the first timed call of each row is preceded by a warm-up call.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from vermo_cli.generate.prompt import PromptInputs
from vermo_cli.generate.session import GenerationModel, SamplingOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/sft"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    began = time.perf_counter()
    model = GenerationModel.load(args.checkpoint)
    load_seconds = time.perf_counter() - began
    inputs = PromptInputs(caption="a person waves", duration=args.seconds)
    task, prompt = model.prepare("t2m", inputs)
    table = Table(
        title=f"vermo generate t2m, {args.seconds:g} s motion, {args.checkpoint} "
        f"({sum(p.numel() for p in model.model.parameters()) / 1e6:.1f} M parameters, "
        f"{torch.get_num_threads()} threads); model load {load_seconds:.2f} s"
    )
    for column in ("run", "samples", "sampling s", "decoding s", "total s", "samples/s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for decoder in ("flow", "vqvae"):
        for samples in (1, args.batch_size):
            options = SamplingOptions(samples, 0, 1.0, 0.95, args.batch_size, decoder)  # type: ignore[arg-type]
            model.generate(task, prompt, options)  # warm-up
            timings = [model.generate(task, prompt, options).timings for _ in range(args.repeats)]
            sampling = min(t["sampling_s"] for t in timings)
            decoding = min(t["decoding_s"] for t in timings)
            total = sampling + decoding
            table.add_row(
                f"{decoder} decoder, batch {min(samples, args.batch_size)}",
                str(samples),
                f"{sampling:.3f}",
                f"{decoding:.3f}",
                f"{total:.3f}",
                f"{samples / total:.2f}",
            )
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
