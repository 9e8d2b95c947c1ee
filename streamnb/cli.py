"""The ``streamnb`` command: ``streamnb demo`` (headless) and ``streamnb lab`` (the quickstart).

>>> main(["demo", "--events", "20000", "--no-progress", "--seed", "3"])  # doctest: +ELLIPSIS
latest windows:
...
events: 20,000 in ... · windows: ... · late: 0 · dead letters: 0
0
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

QUICKSTART = "01-quickstart.ipynb"


def _notebooks_dir() -> Path:
    """The repository's ``notebooks/`` (editable install), else ``./notebooks``."""
    here = Path(__file__).resolve().parents[1] / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def demo(events: int, seed: int, batch: int, progress: bool) -> int:
    """Run the market pipeline of the quickstart on ``events`` ticks and print a summary."""
    import pandas as pd

    import streamnb as sn

    feed = sn.market(seed=seed, n=events, batch=batch, start="2026-01-02 09:30", disorder=0.05)
    w = feed.window(
        "1s", key="symbol", agg={"price": ["mean", "max"], "volume": "sum"}, watermark="2s"
    )
    latest: deque[pd.DataFrame] = deque(maxlen=20)  # bounded, however long the run
    w.sink(latest.append)
    if progress:

        def show(_: object) -> None:
            done = feed.counters["events"] / events
            bar = "#" * int(30 * done)
            line = f"\r[{bar:<30}] {done:6.1%} {feed.counters['events']:,} events"
            print(line, end="", file=sys.stderr, flush=True)

        feed.sink(show)
    t0 = time.perf_counter()
    feed.run()  # to the end, then the final watermark: every open window fires
    elapsed = time.perf_counter() - t0
    if progress:
        print(file=sys.stderr)
    panes = pd.concat(latest).tail(10) if latest else pd.DataFrame()
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print("latest windows:")
        print(panes.to_string(index=False))
    c = w.counters
    rate = feed.counters["events"] / elapsed if elapsed > 0 else float("inf")
    print(
        f"events: {feed.counters['events']:,} in {elapsed:.2f} s ({rate:,.0f} events/s) · "
        f"windows: {c['windows']:,} · late: {c['late']:,} · "
        f"dead letters: {feed.dead_letters.count + w.dead_letters.count:,}"
    )
    return 0


def lab(extra: Sequence[str]) -> int:
    """Open JupyterLab on the quickstart notebook (127.0.0.1 only)."""
    notebook = _notebooks_dir() / QUICKSTART
    if not notebook.exists():
        print(f"cannot find {notebook}; run this from the streamnb repository", file=sys.stderr)
        return 2
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("JupyterLab is not installed: pip install -e '.[lab]'", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "jupyter", "lab", str(notebook), "--ip=127.0.0.1", *extra]
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.call(cmd, cwd=notebook.parent.parent, env=os.environ.copy())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streamnb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="run the market pipeline headless and print a summary")
    p_demo.add_argument("--events", type=int, default=200_000, help="ticks to replay")
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--batch", type=int, default=5_000, help="rows per batch")
    p_demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_lab = sub.add_parser("lab", help="open JupyterLab on notebooks/01-quickstart.ipynb")
    p_lab.add_argument("extra", nargs=argparse.REMAINDER, help="passed on to jupyter lab")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.events < 1:
            parser.error("--events must be positive")
        return demo(args.events, args.seed, args.batch, progress=not args.no_progress)
    return lab(args.extra)


if __name__ == "__main__":
    raise SystemExit(main())
