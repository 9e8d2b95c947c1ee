"""Grouping the rows of a batch by (key code, window index), vectorised."""

from __future__ import annotations

from typing import overload

import numpy as np
import pandas as pd

__all__ = ["group"]


@overload
def group(
    codes: np.ndarray, wins: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def group(
    codes: np.ndarray, wins: np.ndarray, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None: ...
def group(
    codes: np.ndarray, wins: np.ndarray, skip: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Group events by (key code, window): returns the group of each event, and the code,
    window and number of events of each group, numbered by window, then code.

    >>> inv, code, win, count = group(np.array([1, 0, 1, 1]), np.array([7, 7, 7, 8]))
    >>> [(int(code[g]), int(win[g])) for g in inv], count[inv].tolist()
    ([(1, 7), (0, 7), (1, 7), (1, 8)], [2, 1, 2, 1])

    Windows far apart use a hash table, not a dense one (same groups):

    >>> for far in (10**6, 2**62):
    ...     inv, code, win, count = group(np.array([1, 0, 1]), np.array([far, 7, far]))
    ...     print([(int(code[g]), int(win[g]) == far) for g in inv], count[inv].tolist())
    [(1, True), (0, False), (1, True)] [2, 1, 2]
    [(1, True), (0, False), (1, True)] [2, 1, 2]

    With ``skip``, skipped events get the group after the last, and are not counted; only
    the dense table does this (``None`` when the windows are too far apart for it):

    >>> inv, code, win, count = group(np.array([1, 0, 1]), np.array([7, 7, 7]),
    ...                                np.array([False, True, False]))
    >>> inv.tolist(), code.tolist(), count.tolist()
    ([0, 1, 0], [1], [2])
    """
    w_min = int(wins.min())
    span = int(wins.max()) - w_min + 1
    n_codes = int(codes.max()) + 1
    cells = span * n_codes
    if cells <= 4 * len(codes) + 4096:
        # few (window, code) cells, as in a batch spanning a few windows: count in a table
        comb = wins - w_min
        comb *= n_codes
        comb += codes
        if skip is not None:
            comb[skip] = cells
        counts = np.bincount(comb, minlength=cells + 1)
        uniq = np.flatnonzero(counts[:cells])
        group_of = np.empty(cells + 1, dtype=np.int64)
        group_of[uniq] = np.arange(len(uniq))
        group_of[cells] = len(uniq)
        return group_of[comb], uniq % n_codes, uniq // n_codes + w_min, counts[uniq]
    if skip is not None:
        return None
    if cells < 2**62:
        comb = (wins - w_min) * n_codes + codes
        inv, uniq = pd.factorize(comb)
        order = np.argsort(uniq)
        rank = np.empty(len(uniq), dtype=np.int64)
        rank[order] = np.arange(len(uniq))
        inv, uniq = rank[inv], uniq[order]
        counts = np.bincount(inv, minlength=len(uniq))
        return inv, uniq % n_codes, uniq // n_codes + w_min, counts
    pairs = np.stack([wins, codes], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv, uniq[:, 1], uniq[:, 0], np.bincount(inv, minlength=len(uniq))
