"""Choosing the headless OpenGL platform (EGL, else OSMesa) before anything imports OpenGL."""

from __future__ import annotations

import ctypes.util
import os

from vermo_cli.errors import VermoError

PLATFORM_VARIABLE = "PYOPENGL_PLATFORM"
# PyOpenGL platform name -> the shared library it loads, as `ctypes.util.find_library` names it.
PLATFORM_LIBRARIES: dict[str, str] = {"egl": "EGL", "osmesa": "OSMesa"}
INSTALL_HINT = (
    "install Debian's libegl1 (EGL) or libosmesa6 (OSMesa, then PYOPENGL_PLATFORM=osmesa)"
)


def library_available(name: str) -> bool:
    """Whether the system can load the shared library `name` (e.g. `EGL` for libEGL.so.1)."""
    return ctypes.util.find_library(name) is not None


def choose_gl_platform() -> str:
    """Set `PYOPENGL_PLATFORM` for offscreen rendering and return it.

    A platform the user set is kept (and checked, for egl and osmesa); otherwise EGL is used when
    libEGL is present, else OSMesa. PyOpenGL reads the variable once, when OpenGL is first
    imported, so this must run before pyrender is imported. Raises `VermoError` when neither
    library can be found.
    """
    chosen = os.environ.get(PLATFORM_VARIABLE, "").strip().lower()
    if chosen:
        library = PLATFORM_LIBRARIES.get(chosen)
        if library is not None and not library_available(library):
            raise VermoError(
                f"{PLATFORM_VARIABLE}={chosen} but lib{library} is not installed; {INSTALL_HINT}"
            )
        return chosen
    for platform, library in PLATFORM_LIBRARIES.items():
        if library_available(library):
            os.environ[PLATFORM_VARIABLE] = platform
            return platform
    raise VermoError(f"no offscreen OpenGL (neither EGL nor OSMesa found); {INSTALL_HINT}")
