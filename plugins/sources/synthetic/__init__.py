"""The embedded synthetic corpus: procedural motion, captions, music and speech made by code."""

from vermo_plugins.sources.synthetic.source import SyntheticSource

__all__ = ["SyntheticSource"]
