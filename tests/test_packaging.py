"""Tests that the package layout, entry points and namespaced imports stay consistent."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = {"vermo_cli": "vermo_cli", "vermo_plugins": "plugins", "vermo_tasks": "tasks"}


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for name, folder in PACKAGE_ROOTS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert found == listed


def test_top_level_folders_import_under_namespaced_names() -> None:
    import vermo_plugins.sources
    import vermo_tasks

    assert Path(vermo_plugins.sources.__file__).parent == ROOT / "plugins" / "sources"
    assert Path(vermo_tasks.__file__).parent == ROOT / "tasks"


def test_source_entry_points_load() -> None:
    sources = {ep.name: ep for ep in entry_points(group="vermo.sources")}
    assert {"bvh", "humanml3d", "smpl", "interx", "interhuman", "beat2", "synthetic"} <= set(
        sources
    )
    for entry_point in sources.values():
        source_class = entry_point.load()
        assert source_class.name == entry_point.name and source_class.summary
