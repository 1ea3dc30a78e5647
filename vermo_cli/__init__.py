"""vermo: one motion language model for motion, text, music and speech."""

__version__ = "0.1.0"
