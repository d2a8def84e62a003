"""The array types every module uses, in one place (type hints only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.integer[Any]]  # positions of any integer width (int32 from Index)
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
