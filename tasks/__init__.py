"""vermo's task plugins (installed as `vermo_tasks`, entry-point group `vermo.tasks`)."""
