"""Benchmark: the FlowVQ ablation on real motion capture, every variant with the same step budget.

    .venv/bin/python benchmarks/tokenizer_ablation.py --workdir runs/ablation

Trains on LAFAN1 subjects 1-3 and Bandai Namco (its hash-based training split) and tests on
LAFAN1 subject 4 plus Bandai's held-out clips. Rows, as in the paper's table: vanilla motion VQ
(codebook 512, dilated blocks, downsampling first), FSQ-VAE (vanilla blocks), FlowVQ stage 1, and
FlowVQ with its flow decoder; then vermo's flow decoders on the same stage 1 (one that also reads
the stage-1 reconstruction, and one that in addition predicts the clean motion instead of the
velocity, sampled with the recipe's 28 steps and with 4). Errors are in metres on the test
split; hands are absent from these datasets, so only body joints count. Prints one table and
writes WORKDIR/ablation.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.takes import TakeSettings
from vermo_cli.files import json_text
from vermo_cli.tokenizers.flowvq.evaluation import evaluate_tokenizer
from vermo_cli.tokenizers.flowvq.train import fit_flowvq

SPLIT_BY_TAG = (
    ("subject:1", "train"),
    ("subject:2", "train"),
    ("subject:3", "train"),
    ("subject:4", "test"),
)


def variant_recipes(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The recipes compared; they differ only in layout and quantizer."""
    stage = {
        "batch_size": args.batch_size,
        "crop_frames": args.crop_frames,
        "learning_rate": args.learning_rate,
        "warmup_steps": 100,
        "final_lr_fraction": 0.1,
        "checkpoint_every": 10_000_000,
        "validate_every": 10_000_000,
        "log_every": 50,
    }
    base_vqvae = {
        "width": args.width,
        "levels": 3,
        "blocks_per_level": args.blocks,
        "quantizer_blocks": 2,
        "compression": 4,
    }
    vanilla = {**base_vqvae, "architecture": "vanilla", "dilation_growth": 3, "quantizer_blocks": 0}
    flow = {
        "blocks": args.flow_blocks,
        "heads": 4,
        "head_dim": args.width // 4,
        "ffn": args.width * 2,
        "train_timesteps": 1000,
        "sampling_steps": 28,
        "shift": 3.0,
        "condition_on_stage1": False,
    }

    def recipe(name: str, vqvae: dict[str, Any], quantizer: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": "flowvq",
            "name": name,
            "seed": args.seed,
            "vqvae": {**vqvae, "quantizer": quantizer},
            "flow": flow,
            "stage1": {**stage, "steps": args.steps},
            "stage2": {**stage, "steps": args.flow_steps},
        }

    fsq = {"kind": "fsq", "levels": [7, 5, 5, 5, 5]}
    return {
        "vanilla-vq": recipe(
            "vanilla-vq", vanilla, {"kind": "vq", "codebook_size": 512, "commitment_weight": 0.02}
        ),
        "fsq-vae": recipe("fsq-vae", vanilla, fsq),
        "flowvq": recipe("flowvq", {**base_vqvae, "architecture": "flowvq"}, fsq),
    }


def train_variant(
    args: argparse.Namespace, corpus: Path, name: str, recipe: dict[str, Any]
) -> float:
    """Train one variant from scratch; returns its training seconds."""
    recipe_path = args.workdir / f"{name}.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    began = time.perf_counter()
    stages = (1, 2) if name == "flowvq" else (1,)
    fit_flowvq(corpus, args.workdir / name, recipe_path, stages, overwrite=True)
    return time.perf_counter() - began


# vermo's stage-2 variants, each trained on a copy of flowvq's stage 1 with the same budget.
FLOW_VARIANTS: dict[str, dict[str, Any]] = {
    "flowvq-conditioned": {"condition_on_stage1": True},
    "flowvq-sample": {"condition_on_stage1": True, "prediction": "sample"},
}


def train_flow_variant(
    args: argparse.Namespace,
    corpus: Path,
    flowvq: dict[str, Any],
    name: str,
    flow_settings: dict[str, Any],
) -> float:
    """Stage 2 with `flow_settings` changed, on a copy of flowvq's stage 1; returns the
    seconds of this stage 2."""
    source, target = args.workdir / "flowvq", args.workdir / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copyfile(source / "stage1.safetensors", target / "stage1.safetensors")
    shutil.copytree(source / "checkpoints" / "stage1", target / "checkpoints" / "stage1")
    info = json.loads((source / "tokenizer.json").read_text())
    info["stages"] = {key: value for key, value in info["stages"].items() if key in ("1", 1)}
    (target / "tokenizer.json").write_text(json_text(info))
    recipe = {**flowvq, "name": name, "flow": {**flowvq["flow"], **flow_settings}}
    (target / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    began = time.perf_counter()
    fit_flowvq(corpus, target, None, (2,), resume=True)
    return time.perf_counter() - began


def _previous_results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--workdir", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--steps", type=int, default=1500, help="stage-1 steps of every variant")
    parser.add_argument("--flow-steps", type=int, default=1500, help="stage-2 steps (FlowVQ)")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=2, help="ResNet blocks per level")
    parser.add_argument("--flow-blocks", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop-frames", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep variants already trained in WORKDIR (their times from ablation.json)",
    )
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.workdir / "corpus"
    if not corpus.exists():
        sources = (args.shared / "lafan1" / "bvh", args.shared / "bandai")
        prepare_corpus(
            [SourceRequest("bvh", sources)],
            corpus,
            settings=TakeSettings(split_by_tag=SPLIT_BY_TAG),
            workers=2,
        )
    previous = _previous_results(args.workdir / "ablation.json") if args.reuse else {}
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    recipes = variant_recipes(args)
    for name, recipe in recipes.items():
        seconds = previous.get(name, {}).get("train_seconds")
        if seconds is None or not (args.workdir / name / "tokenizer.json").is_file():
            seconds = train_variant(args, corpus, name, recipe)
        result = evaluate_tokenizer(args.workdir / name, corpus, "test", seed=args.seed)
        results[name] = {**result, "train_seconds": seconds}
    for name, flow_settings in FLOW_VARIANTS.items():
        seconds = previous.get(name, {}).get("train_seconds")
        if seconds is None or not (args.workdir / name / "tokenizer.json").is_file():
            seconds = train_flow_variant(args, corpus, recipes["flowvq"], name, flow_settings)
        result = evaluate_tokenizer(args.workdir / name, corpus, "test", seed=args.seed)
        results[name] = {**result, "train_seconds": seconds}
    few_steps = evaluate_tokenizer(
        args.workdir / "flowvq-sample", corpus, "test", flow_steps=4, seed=args.seed
    )
    results["flowvq-sample-4"] = {
        **few_steps,
        "train_seconds": results["flowvq-sample"]["train_seconds"],
    }
    (args.workdir / "ablation.json").write_text(json_text(results))

    rows = [
        ("vanilla-vq", "vanilla-vq", "vqvae"),
        ("fsq-vae", "fsq-vae", "vqvae"),
        ("flowvq (stage 1 decoder)", "flowvq", "vqvae"),
        ("flowvq + flow decoder (paper's)", "flowvq", "flow"),
        ("flowvq + flow decoder (+ stage-1 input)", "flowvq-conditioned", "flow"),
        ("flowvq + flow decoder (+ stage-1 input, predicts motion)", "flowvq-sample", "flow"),
        ("  the same, 4 sampling steps", "flowvq-sample-4", "flow"),
    ]
    table = Table(
        title=f"FlowVQ ablation: {args.steps} stage-1 steps each, "
        f"{args.flow_steps} flow steps; test = LAFAN1 subject 4 + Bandai held-out"
    )
    for column in (
        "tokenizer",
        "MPJPE body",
        "PA-MPJPE body",
        "ADE",
        "FDE",
        "codes used",
        "encode frames/s",
        "train s",
    ):
        table.add_column(column, justify="left" if column == "tokenizer" else "right")
    for label, key, decoder in rows:
        result = results[key]
        seconds = result["train_seconds"]
        metrics = result["decoders"][decoder]
        table.add_row(
            label,
            f"{metrics['mpjpe_body']:.4f}",
            f"{metrics['pa_mpjpe_body']:.4f}",
            f"{metrics['ade']:.4f}",
            f"{metrics['fde']:.4f}",
            f"{result['codes_used']} / {result['codebook_size']}",
            f"{result['encode_frames_per_second']:,.0f}",
            f"+{seconds:.0f} (stage 2)" if key.startswith("flowvq-") else f"{seconds:.0f}",
        )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
