"""Generation: prompts from user inputs, constrained sampling, outputs on disk."""
