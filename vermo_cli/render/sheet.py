"""Contact sheets: a few evenly spaced frames of a motion in a grid, as one PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vermo_cli.files import write_atomically

SHEET_COLUMNS = 4
LABEL_COLOUR = (30, 30, 30)
BORDER_COLOUR = (150, 150, 155)


def sheet_frames(frames: int, count: int) -> np.ndarray:
    """Indices `[min(count, frames)]` of frames evenly spaced from the first to the last."""
    count = min(count, frames)
    return np.unique(np.round(np.linspace(0, frames - 1, count)).astype(np.int64))


def sheet_shape(count: int, size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) in pixels of a sheet of `count` tiles of `size` (width, height)."""
    columns = min(count, SHEET_COLUMNS)
    rows = math.ceil(count / columns)
    return columns * size[0], rows * size[1]


def write_sheet(tiles: list[np.ndarray], seconds: list[float], path: Path) -> tuple[int, int]:
    """Lay `tiles` (each `[height, width, 3]` uint8 RGB, all one size) out in rows of four,
    label each with its time in `seconds`, and save the PNG to `path` atomically. Returns the
    sheet's (width, height) in pixels."""
    from PIL import Image, ImageDraw, ImageFont

    height, width = tiles[0].shape[:2]
    sheet = Image.new("RGB", sheet_shape(len(tiles), (width, height)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(10, height // 16))
    for index, (tile, time) in enumerate(zip(tiles, seconds, strict=True)):
        left = (index % SHEET_COLUMNS) * width
        top = (index // SHEET_COLUMNS) * height
        sheet.paste(Image.fromarray(tile), (left, top))
        draw.rectangle((left, top, left + width - 1, top + height - 1), outline=BORDER_COLOUR)
        draw.text((left + 6, top + 4), f"{time:.2f} s", fill=LABEL_COLOUR, font=font)
    write_atomically(Path(path), lambda staging: sheet.save(staging, format="PNG"))
    return sheet.size
