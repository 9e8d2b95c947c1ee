"""Dictionary encoding of window keys: any hashable key value <-> a small integer code.

>>> enc = KeyEncoder()
>>> enc.encode_column(pd.Series(["b", "a", "b"])).tolist()
[0, 1, 0]
>>> enc.encode_one("a"), enc.decode(np.array([1, 0])).tolist()
(1, ['a', 'b'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["KeyEncoder"]


def _normal(value: object) -> object:
    """Missing values (None, NaN, NaT) all become one key, ``None``."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class KeyEncoder:
    """Assigns codes in order of first appearance; codes are stable for the encoder's life."""

    def __init__(self) -> None:
        self._code: dict[object, int] = {}
        self.values: list[object] = []

    def __len__(self) -> int:
        return len(self.values)

    def encode_one(self, key: object) -> int:
        key = _normal(key)
        code = self._code.get(key)
        if code is None:
            code = self._code[key] = len(self.values)
            self.values.append(key)
        return code

    def encode_column(self, column: pd.Series | Sequence[pd.Series]) -> np.ndarray:
        """Codes for a column (or several columns, as tuples) in one vectorised pass."""
        if isinstance(column, pd.Series):
            inv, uniques = pd.factorize(column, use_na_sentinel=False)
            uniq = list(uniques)
        else:
            index = pd.MultiIndex.from_arrays(list(column))
            inv, uniques = index.factorize()
            uniq = [tuple(_normal(v) for v in u) for u in uniques]
        mapping = np.fromiter((self.encode_one(u) for u in uniq), dtype=np.int64, count=len(uniq))
        return mapping[inv]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        lookup = np.empty(len(self.values), dtype=object)
        lookup[:] = self.values
        return lookup[codes]
