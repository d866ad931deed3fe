"""Print the numbers tests/test_pinned_numbers.py pins, from the code as it is now (a dict literal for PINNED).

Run from the repository root: ``PYTHONPATH=$PWD python tools/pin_numbers.py``. Only after an intended change of
behaviour: the pinned numbers are what a refactor must reproduce, not what it happens to produce.
"""

import os
import pprint
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_pinned_numbers as pinned  # noqa: E402

numbers = {}
for case in pinned.CASES:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        numbers[case.id] = pinned.numbers_of(pinned.run_case(case, tmp))
    print(f"{case.id}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
pprint.pprint(numbers, width=116, sort_dicts=False)
