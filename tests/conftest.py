"""Hypothesis profiles: locally every run explores new examples (and replays failures from `.hypothesis/`); in CI
(`CI` set, as `.ci/run` has it) the examples are derandomized, so a submission's verdict does not depend on luck.
`HYPOTHESIS_PROFILE=dev` or `=ci` picks one by hand."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
