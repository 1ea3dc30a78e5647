"""Offscreen video and contact sheets of motions."""
