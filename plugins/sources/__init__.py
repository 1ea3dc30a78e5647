"""Built-in dataset sources for `vermo prepare` (entry-point group `vermo.sources`)."""
