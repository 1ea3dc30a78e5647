"""The corpus: source plugins, the prepare pipeline, QC, splits, statistics and the Arrow store."""
