"""benchmarks/report_table.py: Markdown tables from `vermo eval` and `vermo tokenize eval` JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from vermo_cli import __version__
from vermo_cli.evaluate.benchmark import BenchmarkReport, MetricSummary
from vermo_cli.metrics.reconstruction import REPORT_KEYS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "report_table.py"
_spec = importlib.util.spec_from_file_location("report_table", SCRIPT)
assert _spec is not None and _spec.loader is not None
report_table = importlib.util.module_from_spec(_spec)
sys.modules["report_table"] = report_table
_spec.loader.exec_module(report_table)


def btwn_report() -> dict[str, Any]:
    """A btwn report exactly as `BenchmarkReport.to_json` writes it: two replications, FID
    undefined for the baseline (NaN, written as null)."""
    summary = {"mean": 0.5, "ci95": 0.0, "values": [0.5, 0.5]}
    return {
        "task": "btwn",
        "vermo_version": __version__,
        "metrics": ["ade", "fid"],
        "rows": {
            "Real": {"ade": {"mean": 0.0, "ci95": 0.0, "values": [0.0, 0.0]}, "fid": summary},
            "linear interpolation": {
                "ade": {"mean": 0.071, "ci95": 0.0, "values": [0.071, 0.071]},
                "fid": {"mean": None, "ci95": None, "values": [None, None]},
            },
            "model": {
                "ade": {"mean": 0.149, "ci95": 0.018, "values": [0.131, 0.167]},
                "fid": {"mean": 0.104, "ci95": 0.01, "values": [0.1, 0.108]},
            },
        },
        "protocol": {
            "request": {"temperature": 0.8, "decoder": "flow", "replications": 2},
            "checkpoint": "runs/sft",
            "split": "test",
            "clips": 42,
            "seeds": [0, 1],
        },
        "seconds": 38.0,
        "notes": [],
        "captions": None,
    }


def tokenizer_report(recipe: str = "flowvq-tiny") -> dict[str, Any]:
    """A `vermo tokenize eval --json` report of a body-only corpus (hand metrics NaN)."""
    decoders = {
        name: {
            key: float("nan") if "hand" in key else offset + index / 100
            for index, key in enumerate(REPORT_KEYS)
        }
        for name, offset in (("vqvae", 0.1), ("flow", 0.2))
    }
    return {
        "tokenizer": {"path": "runs/flowvq-tiny", "identity": "abc", "recipe": recipe},
        "corpus": {"path": "corpus/mocap", "identity": "def"},
        "split": "test",
        "clips": 79,
        "frames": 25463,
        "seed": 0,
        "flow_steps": 4,
        "codes_used": 179,
        "codebook_size": 4375,
        "encode_frames_per_second": 40016.0,
        "decoders": decoders,
    }


def write(path: Path, report: dict[str, Any]) -> Path:
    # json.dumps writes NaN as `NaN`, as `vermo tokenize eval --json` did before its JSON became
    # strict (NaN as null): reports written then still read.
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path


def test_the_test_report_has_the_shape_to_json_writes() -> None:
    report = btwn_report()
    nan = float("nan")
    rows = {
        system: {
            name: MetricSummary(
                nan if s["mean"] is None else s["mean"],
                nan if s["ci95"] is None else s["ci95"],
                [nan if v is None else v for v in s["values"]],
            )
            for name, s in row.items()
        }
        for system, row in report["rows"].items()
    }
    written = BenchmarkReport(
        task="btwn", metrics=["ade", "fid"], rows=rows, protocol=report["protocol"], seconds=38.0
    ).to_json()
    assert written == report


def test_eval_report_gives_a_row_per_metric_and_a_column_per_system(tmp_path: Path) -> None:
    path = write(tmp_path / "btwn-test.json", btwn_report())
    text = report_table.render([report_table.read_report(str(path))])
    table, sources = text.split("\n\n")
    assert table.splitlines() == [
        "| metric | Real | linear interpolation | model |",
        "|---|---:|---:|---:|",
        "| ade | 0.0000 ± 0.0000 | 0.0710 ± 0.0000 | 0.1490 ± 0.0180 |",
        "| fid | 0.5000 ± 0.0000 | - | 0.1040 ± 0.0100 |",
    ]
    assert sources == (
        f"- `{path}`: `vermo eval btwn`, 42 clips of 'test', 2 replication(s), checkpoint "
        f"`runs/sft`, temperature 0.8, decoder flow, vermo {__version__}"
    )


def test_one_replication_shows_the_mean_alone() -> None:
    report = btwn_report()
    for row in report["rows"].values():
        for summary in row.values():
            summary["values"] = summary["values"][:1]
    table = report_table.eval_table([("one", report)])
    assert "| ade | 0.0000 | 0.0710 | 0.1490 |" in table.splitlines()


def test_reports_of_different_tasks_share_columns_and_prefix_rows() -> None:
    m2t = {
        "task": "m2t",
        "metrics": ["bleu4"],
        "rows": {
            "Real": {"bleu4": {"mean": 20.4, "ci95": 0.0, "values": [20.4, 20.4]}},
            "most frequent caption": {"bleu4": {"mean": 19.6, "ci95": 0.0, "values": [19.6] * 2}},
            "model": {"bleu4": {"mean": 60.6, "ci95": 4.2, "values": [56.4, 64.8]}},
        },
    }
    lines = report_table.eval_table([("btwn", btwn_report()), ("m2t", m2t)]).splitlines()
    assert lines[0] == "| metric | Real | linear interpolation | model | most frequent caption |"
    assert lines[2].startswith("| btwn ade | 0.0000 ± 0.0000 |")
    assert lines[-1] == "| m2t bleu4 | 20.4000 ± 0.0000 |  | 60.6000 ± 4.2000 | 19.6000 ± 0.0000 |"


def test_reports_of_one_task_get_a_column_per_label(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", btwn_report())
    second = write(tmp_path / "b.json", btwn_report())
    reports = [report_table.read_report(f"temperature 1.0={first}")]
    reports.append(report_table.read_report(str(second)))
    header = report_table.render(reports).splitlines()[0]
    assert header.startswith("| metric | temperature 1.0: Real | temperature 1.0: linear")
    assert "| b: model |" in header


def test_tokenizer_report_gives_a_row_per_decoder_without_empty_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "eval.json", tokenizer_report())
    lines = report_table.render([report_table.read_report(str(path))]).splitlines()
    assert lines[0] == (
        "| decoder | mpjpe all | mpjpe body | pa mpjpe all | pa mpjpe body | ade | fde "
        "| codes used |"
    )
    assert lines[2] == (
        "| vqvae | 0.1000 | 0.1100 | 0.1300 | 0.1400 | 0.1600 | 0.1700 | 179 / 4,375 |"
    )
    assert lines[3].startswith("| flow | 0.2000 |")
    assert lines[5].startswith(f"- `{path}`: `vermo tokenize eval` of `runs/flowvq-tiny`")


def test_several_tokenizer_reports_label_their_rows() -> None:
    table = report_table.tokenizer_table(
        [("tiny", tokenizer_report()), ("paper", tokenizer_report("flowvq"))]
    )
    assert [line.split(" | ")[0] for line in table.splitlines()[2:]] == [
        "| tiny: vqvae",
        "| tiny: flow",
        "| paper: vqvae",
        "| paper: flow",
    ]


def test_mixed_or_unknown_reports_are_refused(tmp_path: Path) -> None:
    evaluation = write(tmp_path / "t2m.json", btwn_report())
    tokenizer = write(tmp_path / "tok.json", tokenizer_report())
    with pytest.raises(report_table.ReportError, match="do not share a table"):
        report_table.render(
            [report_table.read_report(str(evaluation)), report_table.read_report(str(tokenizer))]
        )
    other = write(tmp_path / "other.json", {"loss": 1.0})
    with pytest.raises(report_table.ReportError, match="neither"):
        report_table.read_report(str(other))
    with pytest.raises(SystemExit):
        report_table.main([str(tmp_path / "missing.json")])


def test_main_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_table.main([str(write(tmp_path / "btwn-test.json", btwn_report()))])
    assert capsys.readouterr().out.startswith("| metric | Real | linear interpolation | model |\n")
