"""Benchmark: `vermo prepare` throughput on shared BVH data, and synthetic generation time.

    .venv/bin/python benchmarks/prepare_throughput.py --shared ../shared/data --workers 2

Prints one table: per run, takes, clips kept, source frames (at their own rate), wall time and
source frames per second. Needs ../shared/data for the BVH rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vermo_cli.data.prepare import SourceRequest, prepare_corpus
from vermo_cli.data.sources import SourceOptions, load_source

BVH_SETS = {
    "LAFAN1 (24 takes, 30 fps)": ["lafan1/bvh"],
    "Bandai 1+2 (234 takes, 30 fps)": ["bandai"],
    "CMU + Xia (13 takes, 120 fps)": ["cmu", "xia"],
}


def time_synthetic_generation(clips: int) -> tuple[float, int]:
    """Seconds to generate `clips` synthetic takes in this process (no writing), and frames."""
    source = load_source("synthetic", SourceOptions(clips=clips, seed=0))
    began = time.perf_counter()
    frames = sum(clip.frames for item in source.discover([]) for clip in source.load(item))
    return time.perf_counter() - began, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=1000)
    args = parser.parse_args()

    table = Table(title=f"vermo prepare throughput (--workers {args.workers})")
    for column in ("run", "takes", "clips kept", "source frames", "wall s", "frames/s"):
        table.add_column(column, justify="left" if column == "run" else "right")

    seconds, frames = time_synthetic_generation(args.clips)
    table.add_row(
        f"synthetic generation only, {args.clips} clips, 1 process",
        str(args.clips),
        "-",
        f"{frames:,}",
        f"{seconds:.1f}",
        f"{frames / seconds:,.0f}",
    )

    runs: list[tuple[str, list[SourceRequest], SourceOptions]] = [
        (
            f"prepare synthetic --clips {args.clips}",
            [SourceRequest("synthetic")],
            SourceOptions(clips=args.clips, seed=0),
        ),
    ]
    if args.shared.is_dir():
        for label, folders in BVH_SETS.items():
            paths = tuple(args.shared / folder for folder in folders)
            runs.append((f"prepare bvh: {label}", [SourceRequest("bvh", paths)], SourceOptions()))
        every = tuple(args.shared / f for folders in BVH_SETS.values() for f in folders)
        runs.append(
            ("prepare bvh: all of the above", [SourceRequest("bvh", every)], SourceOptions())
        )
    with tempfile.TemporaryDirectory() as scratch:
        for index, (label, requests, options) in enumerate(runs):
            report = prepare_corpus(
                requests, Path(scratch) / f"run{index}", options, workers=args.workers
            )
            table.add_row(
                label,
                f"{report.takes:,}",
                f"{report.total.clips:,}",
                f"{report.source_frames:,}",
                f"{report.seconds:.1f}",
                f"{report.source_frames / report.seconds:,.0f}",
            )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
