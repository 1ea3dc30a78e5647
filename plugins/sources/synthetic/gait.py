"""Walking, running and stepping in place as periodic joint-angle curves over the gait cycle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugins.sources.synthetic.rig import Channels
