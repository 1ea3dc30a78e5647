"""Markdown tables from the JSON reports of `vermo eval` and `vermo tokenize eval`.

    .venv/bin/python benchmarks/report_table.py runs/sft/eval/t2m-test.json \
        runs/sft/eval/btwn-test.json

A `vermo eval` report (`BenchmarkReport.to_json`) gives a row per metric and a column per system
(Real, the baseline, model, ...). A cell is the mean ± 95 % interval over the replications, as
`vermo eval` prints it: the mean alone after one replication, `-` where the metric is undefined.
Several reports make one table: rows are prefixed with the task when the reports' tasks differ,
and columns with the report's label when two reports are of the same task (two checkpoints or
temperatures). A report given as `LABEL=PATH` has that label, otherwise its file name without
`.json`.

A `vermo tokenize eval --json` report gives a row per decoder (prefixed with the label when there
are several reports), a column per reconstruction metric (metres) and the codes used; a metric
undefined in every row (the hands of a body-only corpus) is left out.

The two kinds do not mix in one table. Under the table, one line per report says what produced
it (command, split, clips, replications, checkpoint or tokenizer).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

Report = dict[str, Any]
"""One report as read from its JSON file."""


class ReportError(ValueError):
    """A file is not a report this script can read, or the reports do not fit one table."""


def read_report(argument: str) -> tuple[str, Path, Report]:
    """(label, path, report) of a `PATH` or `LABEL=PATH` argument."""
    label, separator, path_text = argument.rpartition("=")
    path = Path(path_text)
    if not separator:
        label = path.stem
    try:
        report = json.loads(path.read_text())
    except OSError as error:
        raise ReportError(f"{path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from error
    if report_kind(report) is None:
        raise ReportError(f"{path}: neither a `vermo eval` nor a `vermo tokenize eval` report")
    return label, path, report


def report_kind(report: Report) -> str | None:
    """'eval' for `vermo eval`, 'tokenizer' for `vermo tokenize eval`, None for anything else."""
    if isinstance(report, dict) and {"task", "metrics", "rows"} <= report.keys():
        return "eval"
    if isinstance(report, dict) and "decoders" in report:
        return "tokenizer"
    return None


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


def summary_cell(summary: dict[str, Any] | None, replications: int) -> str:
    """A `vermo eval` cell: `mean ± ci95` (4 decimals), the mean alone for one replication."""
    if summary is None or _missing(summary["mean"]):
        return "-"
    if replications > 1 and not _missing(summary["ci95"]):
        return f"{summary['mean']:.4f} ± {summary['ci95']:.4f}"
    return f"{summary['mean']:.4f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    rule = "|" + "|".join(["---", *("---:" for _ in header[1:])]) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def eval_table(reports: list[tuple[str, Report]]) -> str:
    """A row per metric and a column per system over one or more `vermo eval` reports."""
    tasks = [report["task"] for _, report in reports]
    prefix_rows = len(set(tasks)) > 1
    prefix_columns = len(set(tasks)) < len(tasks)
    row_names: list[str] = []
    column_names: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for label, report in reports:
        replications = max(
            (len(summary["values"]) for row in report["rows"].values() for summary in row.values()),
            default=0,
        )
        for metric in report["metrics"]:
            row_name = f"{report['task']} {metric}" if prefix_rows else metric
            if row_name not in row_names:
                row_names.append(row_name)
            for system, row in report["rows"].items():
                column = f"{label}: {system}" if prefix_columns else system
                if column not in column_names:
                    column_names.append(column)
                cells[row_name, column] = summary_cell(row.get(metric), replications)
    rows = [[name, *(cells.get((name, c), "") for c in column_names)] for name in row_names]
    return markdown_table(["metric", *column_names], rows)


def tokenizer_table(reports: list[tuple[str, Report]]) -> str:
    """A row per decoder and a column per reconstruction metric over `vermo tokenize eval`
    reports, plus the codes used."""
    metrics: list[str] = []
    for _, report in reports:
        for results in report["decoders"].values():
            metrics += [key for key, value in results.items() if key not in metrics]
    kept = [
        key
        for key in metrics
        if any(
            not _missing(results.get(key))
            for _, report in reports
            for results in report["decoders"].values()
        )
    ]
    rows = []
    for label, report in reports:
        codes = f"{report['codes_used']:,} / {report['codebook_size']:,}"
        for decoder, results in report["decoders"].items():
            values = [results.get(key) for key in kept]
            rows.append(
                [
                    f"{label}: {decoder}" if len(reports) > 1 else decoder,
                    *("-" if _missing(value) else f"{value:.4f}" for value in values),
                    codes,
                ]
            )
    return markdown_table(["decoder", *(key.replace("_", " ") for key in kept), "codes used"], rows)


def source_line(path: Path, report: Report) -> str:
    """One Markdown list item saying what produced a report."""
    if report_kind(report) == "eval":
        protocol = report.get("protocol", {})
        request = protocol.get("request", {})
        replications = len(protocol.get("seeds", [])) or request.get("replications", "?")
        return (
            f"- `{path}`: `vermo eval {report['task']}`, {protocol.get('clips', '?')} clips of "
            f"'{protocol.get('split', '?')}', {replications} replication(s), checkpoint "
            f"`{protocol.get('checkpoint', '?')}`, temperature {request.get('temperature', '?')}, "
            f"decoder {request.get('decoder', '?')}, vermo {report.get('vermo_version', '?')}"
        )
    tokenizer = report.get("tokenizer", {})
    return (
        f"- `{path}`: `vermo tokenize eval` of `{tokenizer.get('path', '?')}` "
        f"({tokenizer.get('recipe', '?')}), {report.get('clips', '?')} clips of "
        f"'{report.get('split', '?')}', {report.get('flow_steps', '?')} flow steps, "
        f"seed {report.get('seed', '?')}"
    )


def render(reports: list[tuple[str, Path, Report]]) -> str:
    """The table of the reports, then a line per report saying where it came from."""
    kinds = {report_kind(report) for _, _, report in reports}
    if len(kinds) > 1:
        raise ReportError("`vermo eval` and `vermo tokenize eval` reports do not share a table")
    labelled = [(label, report) for label, _, report in reports]
    table = eval_table(labelled) if kinds == {"eval"} else tokenizer_table(labelled)
    sources = [source_line(path, report) for _, path, report in reports]
    return "\n".join([table, "", *sources])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", metavar="[LABEL=]REPORT.json")
    args = parser.parse_args(argv)
    try:
        print(render([read_report(argument) for argument in args.reports]))
    except ReportError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
