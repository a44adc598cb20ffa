"""Test-wide settings.

Hypothesis: each property test sets its own example budget. Under CI the
examples are drawn from a fixed seed (``derandomize``), so a run is repeatable
and a red build is always the same red build; locally they are random, to keep
finding new cases. No example database is written into the tree.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("dev", database=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
