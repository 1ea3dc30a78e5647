"""`vermo eval`: the nine benchmarks, scored with the task plugins' metrics."""
