"""Built-in audio codecs (entry-point group `vermo.codecs`)."""
