"""Task messages: segments, the builder that turns (task, clip) into tokens, and the parser."""
