"""The files sedet writes.

openpyxl, when numpy is installed (it is, for `sedet sample`), imports numpy to accept numpy
scalars as cell values. sedet never hands it one (cell values come from polars rows as Python
ints, floats and strings), so before anything here imports openpyxl its small `compat.numbers`
module is provided without numpy. Measured on a 3M-student run: numpy's import took 0.11 s of the
thread that warms openpyxl up beside the reading, its OpenBLAS threads spun for 0.07 CPU-s, and
each text cell was checked against 33 numeric types instead of 3. If numpy is already imported, or
openpyxl is, nothing changes; a later openpyxl without this module would import numpy as before.
"""

from __future__ import annotations

import sys
import types
from decimal import Decimal

if "openpyxl" not in sys.modules and "numpy" not in sys.modules:
    _numbers = types.ModuleType("openpyxl.compat.numbers")
    _numbers.NUMERIC_TYPES = (int, float, Decimal)  # type: ignore[attr-defined]
    _numbers.NUMPY = False  # type: ignore[attr-defined]
    sys.modules.setdefault("openpyxl.compat.numbers", _numbers)
