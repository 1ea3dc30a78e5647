"""Benchmark: `vermo render` speed for a one-person and a two-person motion.

    .venv/bin/python benchmarks/render_speed.py --size 512 --seconds 10
    .venv/bin/python benchmarks/render_speed.py --size 512 --seconds 10 --body mannequin
    .venv/bin/python benchmarks/render_speed.py --size 512 --seconds 10 --body smplh \
        --body-model ~/body_models

Each motion is a synthetic clip played forwards and backwards until it lasts `--seconds` at
30 fps. Prints one table: per motion, frames, the rendering speed alone (frames/s) and the whole
`vermo render --video` run including H.264 encoding (frames/s of wall time; for smplh this
includes fitting the bodies, whose time and mean joint error get their own columns), with the
body drawn and the OpenGL platform used (EGL or OSMesa; set PYOPENGL_PLATFORM=osmesa to measure
OSMesa).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from vermo_plugins.sources.synthetic.source import make_clip

from vermo_cli.motion.npz import save_motion_npz
from vermo_cli.render.bodies import BodyKind
from vermo_cli.render.job import RenderRequest, run_render
from vermo_cli.render.platform import choose_gl_platform

# Clip indices of the synthetic corpus (seed 0): a walk (one person) and a handshake (two).
MOTIONS = {"walk, 1 person": 0, "handshake, 2 people": 2}
FPS = 30.0


def looped_motion(index: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic clip `index` played forwards then backwards until `frames` long: joints
    `[agents, frames, 52, 3]` metres and the joint mask `[52]`."""
    clip = make_clip(0, index)
    cycle = np.concatenate([clip.joints, clip.joints[:, ::-1]], axis=1)
    repeats = -(-frames // cycle.shape[1])
    return np.concatenate([cycle] * repeats, axis=1)[:, :frames], clip.joint_mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512", help="frame size, e.g. 512 or 640x480")
    parser.add_argument("--seconds", type=float, default=10.0, help="motion length")
    parser.add_argument(
        "--body", default=BodyKind.skeleton.value, choices=[kind.value for kind in BodyKind]
    )
    parser.add_argument("--body-model", type=Path, help="SMPL-H model folder, for --body smplh")
    args = parser.parse_args()
    frames = round(args.seconds * FPS)
    platform = choose_gl_platform()
    fitted = args.body == BodyKind.smplh.value

    table = Table(
        title=f"vermo render --body {args.body} at {args.size} px, {args.seconds:g} s motions "
        f"({platform}, {os.cpu_count()} CPUs)"
    )
    columns = ["motion", "frames", "render frames/s", "mp4 end to end frames/s"]
    if fitted:
        columns += ["fit seconds", "fit error mm"]
    for column in columns:
        table.add_column(column, justify="left" if column == "motion" else "right")
    with tempfile.TemporaryDirectory() as directory:
        for name, index in MOTIONS.items():
            joints, mask = looped_motion(index, frames)
            source = Path(directory) / f"motion{index}.npz"
            save_motion_npz(source, joints, mask, fps=FPS)
            began = time.perf_counter()
            request = RenderRequest(
                source=source,
                output=source.with_suffix(""),
                size=args.size,
                body=args.body,
                body_model=args.body_model,
            )
            report = run_render(request)
            wall = time.perf_counter() - began
            row = [name, str(report.frames), f"{report.render_fps:.1f}"]
            row.append(f"{report.frames / wall:.1f}")
            if fitted:
                row += [f"{report.fit_seconds:.1f}", f"{report.fit_error_mm:.1f}"]
            table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
