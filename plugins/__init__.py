"""vermo's built-in plugins (installed as `vermo_plugins`): dataset sources and audio codecs."""
