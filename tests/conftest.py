"""Settings for the whole suite.

Hypothesis: the test command runs a fixed, derandomized set of examples (profile ``ci``), so a
run is reproducible and CI cannot fail by chance; ``HYPOTHESIS_PROFILE=explore`` searches with
fresh random examples and ten times as many (run it when touching parsers or normalisers).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
