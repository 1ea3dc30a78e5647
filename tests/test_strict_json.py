"""Strict JSON: what vermo writes parses in any JSON reader, NaN and infinities as null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vermo_cli.files import json_text, write_json_atomically


def strict_load(text: str) -> object:
    """Parse JSON, refusing Python's `NaN`/`Infinity` extensions as strict readers do."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_become_null_at_any_depth(tmp_path: Path) -> None:
    value = {
        "mpjpe": {"body": 0.05, "hands": math.nan},
        "curve": [1.0, math.inf, (-math.inf, 2)],
        "name": "nan",
        "steps": 3,
    }
    text = json_text(value)
    assert text.endswith("}\n")
    assert strict_load(text) == {
        "mpjpe": {"body": 0.05, "hands": None},
        "curve": [1.0, None, [None, 2]],
        "name": "nan",
        "steps": 3,
    }
    write_json_atomically(tmp_path / "report.json", value)
    assert (tmp_path / "report.json").read_text() == text
    with pytest.raises(ValueError, match="NaN"):
        strict_load(json.dumps(value))  # what `json.dumps` alone would have written
