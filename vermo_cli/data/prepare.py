"""`vermo prepare`: run sources over input paths and write one QC'd, split, normalised corpus."""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import datasets

from vermo_cli import __version__
from vermo_cli.data.sources import SourceOptions, load_source
from vermo_cli.data.splits import SPLIT_RULE, SPLITS
from vermo_cli.data.stats import NormalisationStats
from vermo_cli.data.store import (
    ClipTableWriter,
    check_output_free,
    write_sidecar,
)
from vermo_cli.data.takes import ItemResult, TakeSettings, process_item
from vermo_cli.errors import CorpusError, VermoError
from vermo_cli.files import publish_directory, staging_directory
from vermo_cli.motion.resample import CANONICAL_FPS
from vermo_cli.motion.skeleton import JOINT_NAMES, PARENTS


@dataclass(frozen=True)
class SourceRequest:
    """One source and the paths it should read (empty for generated corpora)."""

    name: str
    paths: tuple[Path, ...] = ()


class PrepareProgress(Protocol):
    """Receives progress from `prepare_corpus` (the CLI draws a progress bar from it)."""

    def start(self, total_items: int) -> None:
        """Called once, with the number of work items (files or generator chunks)."""

    def item_done(self, clips_kept: int) -> None:
        """Called after each work item with the number of clips it added."""


@dataclass
class SummaryRow:
    """Counts for one (source, split) pair of the summary table."""

    clips: int = 0
    frames: int = 0
    captioned: int = 0
    music: int = 0
    speech: int = 0
    two_people: int = 0

    def add(self, row: dict[str, Any]) -> None:
        """Count one corpus row."""
        self.clips += 1
        self.frames += int(row["frames"])
        self.captioned += bool(row["captions"])
        audio = row["audio"]
        self.music += bool(audio and audio["kind"] == "music")
        self.speech += bool(audio and audio["kind"] == "speech")
        self.two_people += int(row["headcount"]) >= 2

    @property
    def hours(self) -> float:
        """Duration in hours at 30 fps."""
        return self.frames / CANONICAL_FPS / 3600.0


@dataclass
class PrepareReport:
    """What `prepare_corpus` wrote: per (source, split) counts and the QC drops."""

    output: Path
    summary: dict[tuple[str, str], SummaryRow]
    dropped: list[dict[str, Any]]
    takes: int
    seconds: float
    source_frames: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> SummaryRow:
        """Counts over all sources and splits."""
        total = SummaryRow()
        for row in self.summary.values():
            for name in ("clips", "frames", "captioned", "music", "speech", "two_people"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def _discover(requests: list[SourceRequest], options: SourceOptions) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for request in requests:
        source = load_source(request.name, options)
        if not source.takes_paths and request.paths:
            raise VermoError(
                f"source '{request.name}' takes no input paths "
                f"(got {', '.join(map(str, request.paths))})"
            )
        if source.takes_paths and not request.paths:
            raise VermoError(f"source '{request.name}' needs at least one input path")
        items += [(request.name, item) for item in source.discover(list(request.paths))]
    return items


def _results(
    items: list[tuple[str, str]],
    options: SourceOptions,
    settings: TakeSettings,
    staging: Path,
    workers: int,
) -> Iterator[ItemResult]:
    if workers <= 1 or len(items) <= 1:
        for name, item in items:
            yield process_item(name, options, item, settings, staging)
        return
    # spawn, not fork: the parent may run a progress-bar thread, and forking with live threads
    # can deadlock a child on a lock that thread held.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(process_item, name, options, item, settings, staging)
            for name, item in items
        ]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def prepare_corpus(
    requests: list[SourceRequest],
    output: Path,
    options: SourceOptions | None = None,
    settings: TakeSettings | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: PrepareProgress | None = None,
) -> PrepareReport:
    """Prepare one corpus at `output` from several sources.

    Nothing is written at `output` until everything succeeded: work happens in a staging
    directory that is renamed into place at the end and removed on any error. An existing
    `output` is replaced only with `overwrite`. Returns the summary and QC report.
    """
    began = time.perf_counter()
    options = options or SourceOptions()
    settings = settings or TakeSettings()
    output = Path(output)
    check_output_free(output, overwrite)
    if not requests:
        raise VermoError("no source given (e.g. `vermo prepare synthetic -o DIR`)")
    items = _discover(requests, options)
    if not items:
        raise VermoError("the sources found nothing to prepare")
    if progress:
        progress.start(len(items))
    staging = staging_directory(output)
    try:
        stats = NormalisationStats()
        all_stats = NormalisationStats()
        summary: dict[tuple[str, str], SummaryRow] = defaultdict(SummaryRow)
        dropped: list[dict[str, Any]] = []
        takes = 0
        source_frames = 0

        (staging / ".stream").mkdir()
        writer = ClipTableWriter(staging / ".stream" / "clips.arrow")
        try:
            for result in _results(items, options, settings, staging, workers):
                takes += result.takes
                source_frames += result.source_frames
                dropped.extend(result.dropped)
                stats.merge(result.stats)
                all_stats.merge(result.stats_all)
                for row in result.rows:
                    summary[(row["source"], row["split"])].add(row)
                writer.write(result.rows)
                if progress:
                    progress.item_done(len(result.rows))
        finally:
            writer.close()
        if writer.rows == 0:
            reasons = Counter(d["reason"].split(":")[0] for d in dropped)
            raise CorpusError(f"{output}: no clip passed QC ({dict(reasons) or 'no takes'})")
        clips = writer.finish()
        datasets.disable_progress_bars()
        clips.save_to_disk(str(staging), max_shard_size="500MB")
        del clips
        shutil.rmtree(staging / ".stream")
        report = PrepareReport(
            output=output,
            summary=dict(summary),
            dropped=dropped,
            takes=takes,
            seconds=time.perf_counter() - began,
            source_frames=source_frames,
            drop_reasons=dict(Counter(d["reason"].split(":")[0] for d in dropped)),
        )
        write_sidecar(staging, _sidecar(requests, options, settings, report, stats, all_stats))
        publish_directory(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _sidecar(
    requests: list[SourceRequest],
    options: SourceOptions,
    settings: TakeSettings,
    report: PrepareReport,
    train_stats: NormalisationStats,
    all_stats: NormalisationStats,
) -> dict[str, Any]:
    has_train = train_stats.count.sum() > 0
    stats = (train_stats if has_train else all_stats).to_json()
    stats["computed_on"] = "train" if has_train else "all (the corpus has no training clips)"
    return {
        "vermo_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "fps": CANONICAL_FPS,
        "skeleton": {
            "name": "smplh-52",
            "joint_names": list(JOINT_NAMES),
            "parents": list(PARENTS),
        },
        "stats": stats,
        "splits": {
            "rule": SPLIT_RULE,
            "by_tag": [{"tag": tag, "split": split} for tag, split in settings.split_by_tag],
            "counts": {
                s: sum(r.clips for (_, sp), r in report.summary.items() if sp == s) for s in SPLITS
            },
        },
        "qc": {
            "thresholds": vars(settings.thresholds),
            "max_seconds": settings.max_seconds,
            "min_seconds": settings.min_seconds,
            "takes_read": report.takes,
            "clips_kept": report.total.clips,
            "drop_reasons": report.drop_reasons,
            "dropped": report.dropped,
        },
        "summary": [
            {"source": source, "split": split, **vars(row), "hours": round(row.hours, 4)}
            for (source, split), row in sorted(report.summary.items())
        ],
        "provenance": {
            "command": " ".join(sys.argv),
            "sources": [{"name": r.name, "paths": [str(p) for p in r.paths]} for r in requests],
            "options": {k: (str(v) if v is not None else None) for k, v in vars(options).items()},
        },
    }
