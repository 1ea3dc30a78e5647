"""Benchmark: what the tiny FlowVQ sees per frame, joint positions or trajectory features.

    .venv/bin/python benchmarks/tokenizer_features.py --workdir runs/features

Fits `recipes/flowvq-tiny.yaml` on the synthetic corpus with each feature set and root loss
weight (`positions`, the paper's; `trajectory` with root weight 1, 10 and 30), unless
`--reuse NAME=DIR` names an already trained tokenizer for a row. Each tokenizer is then measured
on the test split two ways: reconstruction error (`vermo tokenize eval`: MPJPE and PA-MPJPE over
all joints, root ADE, metres), and the t2m benchmark's R-precision top-3 and FID of the ground
truth passed through the tokenizer (encode, decode), with the text-motion evaluator, over five
replications: what a language model that emitted exactly the right codes would score. Prints
one table and writes WORKDIR/features.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

from vermo_cli.evaluate.clips import load_benchmark_data
from vermo_cli.evaluate.evaluator_set import EvaluatorSet
from vermo_cli.evaluate.scoring import Scoring
from vermo_cli.evaluate.systems import SystemOutputs, real_outputs
from vermo_cli.files import json_text
from vermo_cli.messages.tasks import get_task
from vermo_cli.tokenizers.flowvq.evaluation import evaluate_tokenizer
from vermo_cli.tokenizers.flowvq.tokenizer import FlowVQTokenizer
from vermo_cli.tokenizers.flowvq.train import fit_flowvq

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "flowvq-tiny.yaml"
VARIANTS = {
    "positions": {"features": "positions", "root_weight": 1.0},
    "trajectory": {"features": "trajectory", "root_weight": 1.0},
    "trajectory, root x10": {"features": "trajectory", "root_weight": 10.0},
    "trajectory, root x30": {"features": "trajectory", "root_weight": 30.0},
}
REPLICATIONS = 5


def fitted(name: str, args: argparse.Namespace, reuse: dict[str, Path]) -> Path:
    """The tokenizer directory of a variant, fitted now unless reused or already there."""
    if name in reuse:
        return reuse[name]
    directory = args.workdir / name.replace(", ", "-").replace(" ", "")
    if (directory / "flow.safetensors").is_file():
        return directory
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["vqvae"].update(VARIANTS[name])
    recipe_path = args.workdir / f"{directory.name}.yaml"
    recipe_path.parent.mkdir(parents=True, exist_ok=True)
    recipe_path.write_text(yaml.safe_dump(recipe))
    fit_flowvq(args.corpus, directory, recipe_path, overwrite=True)
    return directory


def retrieval_of_reconstructions(
    tokenizer_dir: Path, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """t2m R-top-3 and FID of the test clips' ground truth through each decoder, and Real's."""
    task = get_task("t2m")
    data = load_benchmark_data(args.tokens, task, "test", None)
    evaluators = EvaluatorSet.for_metrics(task.metrics, 1, args.evaluator)
    tokenizer = FlowVQTokenizer.load(tokenizer_dir)
    clips = data.clips
    real = [Scoring(task, clips, real_outputs(clips), evaluators, s) for s in range(REPLICATIONS)]
    results = {"real": {"r_top3": float(np.mean([r.value("r_precision_top3") for r in real]))}}
    for decoder in ("vqvae", "flow"):
        motions = [tokenizer.reconstruct(c.joints, c.mask, decoder) for c in clips]
        outputs = SystemOutputs(decoder, motions, [None] * len(clips), [None] * len(clips))
        scores = [
            Scoring(task, clips, outputs, evaluators, seed, real=real[seed])
            for seed in range(REPLICATIONS)
        ]
        results[decoder] = {
            "r_top3": float(np.mean([s.value("r_precision_top3") for s in scores])),
            "fid": float(np.mean([s.value("fid") for s in scores])),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("runs/features"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus/synthetic"))
    parser.add_argument("--tokens", type=Path, default=Path("corpus/synthetic-tokens"))
    parser.add_argument("--evaluator", type=Path, default=Path("runs/evaluator-text-motion"))
    parser.add_argument("--reuse", action="append", default=[], metavar="NAME=DIR")
    args = parser.parse_args()
    reuse = {}
    for item in args.reuse:
        name, _, directory = item.partition("=")
        if name not in VARIANTS:
            parser.error(f"--reuse: no variant {name!r} (one of: {', '.join(VARIANTS)})")
        reuse[name] = Path(directory)
    rows: dict[str, Any] = {}
    for name in VARIANTS:
        directory = fitted(name, args, reuse)
        reconstruction = evaluate_tokenizer(directory, args.corpus)
        rows[name] = {
            "tokenizer": str(directory),
            "reconstruction": reconstruction["decoders"],
            "codes_used": reconstruction["codes_used"],
            "t2m": retrieval_of_reconstructions(directory, args),
        }
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "features.json").write_text(json_text(rows))
    table = Table(title="tiny FlowVQ on the synthetic test split: features and root weight")
    for column in ("variant", "decoder", "MPJPE", "PA-MPJPE", "root ADE", "R-top-3", "FID"):
        table.add_column(column, justify="left" if column in ("variant", "decoder") else "right")
    for name, row in rows.items():
        for decoder in ("vqvae", "flow"):
            errors, t2m = row["reconstruction"][decoder], row["t2m"][decoder]
            table.add_row(
                name,
                decoder,
                f"{errors['mpjpe_all']:.4f}",
                f"{errors['pa_mpjpe_all']:.4f}",
                f"{errors['ade']:.4f}",
                f"{t2m['r_top3']:.3f}",
                f"{t2m['fid']:.3f}",
            )
    real = next(iter(rows.values()))["t2m"]["real"]["r_top3"]
    table.add_row("Real (ground truth)", "", "", "", "", f"{real:.3f}", "0")
    Console().print(table)


if __name__ == "__main__":
    main()
