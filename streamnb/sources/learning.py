"""``sn.learning``: a seeded online-course feed with drop-outs.

Students (each enrolled in one course) study in sessions of 10–40 minutes, 3 to 36 hours
apart. In a session they ``play`` the course's videos in order, ``pause`` and ``seek`` in them
(``position``: seconds into the video), submit a ``quiz`` after every third video (``score``
in [0, 1], around the student's ability) and sometimes write a forum ``post``. A fraction
``dropout`` of the students stop for good 1 to 14 days in; before they do, their sessions get
shorter and their scores fall. Nobody else is silent for more than 36 hours, so
``absence("2d")`` per student finds exactly the drop-outs.

Ground truth: ``feed.roster`` (``student``, ``course``, ``ability``, ``drops_out``) and
``feed.dropouts``, the students who have stopped so far with their ``last_event`` time.
Generation runs in blocks of event time with one seeded generator per student, so the same
seed gives the same events however the feed is driven; a fraction ``disorder`` of events
arrives late by up to ``max_delay``, as in :class:`Market`.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.sources._synthetic import SyntheticFeed, to_datetimes
from streamnb.state.clock import Clock

__all__ = ["EVENTS", "Learning", "learning"]

EVENTS = ("play", "pause", "seek", "quiz", "post")
_PLAY, _PAUSE, _SEEK, _QUIZ, _POST = range(5)
_BLOCK = 6 * 3600.0  # seconds of event time per generated block
_DAY = 86400.0


class Learning(SyntheticFeed):
    """Synthetic learning events: ``seq, ts, student, course, event, item, position, score``.

    Parameters
    ----------
    students
        Number of students (named ``s01``, ``s02`` ...) or a list of names.
    courses
        Number of courses (``C1``, ``C2`` ...) or a list of names.
    seed
        Seed of the random generators: same seed, same events.
    dropout
        Fraction of students who stop for good (1 to 14 days in).
    videos
        Videos per course (a quiz follows every third).
    disorder
        Fraction of events that arrive late, by up to ``max_delay``.
    max_delay
        Largest arrival delay, seconds or ``"30s"``.
    n
        Number of events; ``None`` for an endless feed.
    start
        Event time of the course start; default the clock's time, to the second.
    batch
        Rows per emitted DataFrame (``None`` emits records one by one).
    speed
        Feed time runs ``speed`` times faster than the clock when live (default: an hour of
        course time per second).

    Examples
    --------
    >>> import streamnb as sn
    >>> feed = sn.learning(students=5, courses=2, seed=3, n=500, start="2026-01-05")
    >>> frames = feed.sink_to_list()
    >>> _ = feed.run()
    >>> events = pd.concat(frames)
    >>> list(events.columns)
    ['seq', 'ts', 'student', 'course', 'event', 'item', 'position', 'score']
    >>> sorted(events["event"].unique())
    ['pause', 'play', 'post', 'quiz', 'seek']
    >>> bool(events.loc[events["event"] == "quiz", "score"].between(0, 1).all())
    True
    """

    def __init__(
        self,
        students: int | list[str] | tuple[str, ...] = 50,
        courses: int | list[str] | tuple[str, ...] = 3,
        seed: int | None = 0,
        dropout: float = 0.2,
        videos: int = 12,
        disorder: float = 0.02,
        max_delay: float | str = "30s",
        n: int | None = None,
        start: float | str | None = None,
        batch: int | None = 1000,
        clock: Clock | None = None,
        speed: float | None = 3600.0,
        time: str = "ts",
        **kwargs: Any,
    ) -> None:
        super().__init__(seed, disorder, max_delay, n, start, batch, clock, speed, time, **kwargs)
        self.students = _names(students, "s", "students")
        self.courses = _names(courses, "C", "courses", pad=False)
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout is a fraction in [0, 1], got {dropout!r}")
        if not isinstance(videos, int) or videos < 1:
            raise ValueError(f"videos must be a positive int, got {videos!r}")
        self.dropout = float(dropout)
        self.videos = videos
        k = len(self.students)
        children = self._seeds.spawn(k + 1)
        setup = np.random.default_rng(children[0])
        self._video_len = setup.uniform(300, 720, (len(self.courses), videos))
        self._rngs = [np.random.default_rng(c) for c in children[1:]]
        self._course = np.array([r.integers(len(self.courses)) for r in self._rngs])
        self._ability = np.array([r.beta(5, 2) for r in self._rngs])
        drops = [r.random() < self.dropout for r in self._rngs]
        self._drop_at = np.array(
            [
                self.start_time + r.uniform(1, 14) * _DAY if d else math.inf
                for r, d in zip(self._rngs, drops, strict=True)
            ]
        )
        self._next = np.array([self.start_time + r.uniform(0, 12 * 3600) for r in self._rngs])
        self._video = np.zeros(k, dtype=np.int64)
        self._pos = np.zeros(k)
        self._last = np.full(k, np.nan)  # time of each student's last event
        self._stopped = np.zeros(k, dtype=bool)
        self._pool: list[dict[str, np.ndarray]] = []

    # ------------------------------------------------------------- ground truth
    @property
    def roster(self) -> pd.DataFrame:
        """Every student: ``student``, ``course``, ``ability`` (mean quiz score), ``drops_out``."""
        return pd.DataFrame(
            {
                "student": list(self.students),
                "course": [self.courses[c] for c in self._course],
                "ability": self._ability.round(3),
                "drops_out": np.isfinite(self._drop_at),
            }
        )

    @property
    def dropouts(self) -> pd.DataFrame:
        """Students who have stopped for good in the events generated so far, with the time
        of their last event."""
        gone = np.flatnonzero(self._stopped & (self._last < self._horizon))
        return pd.DataFrame(
            {
                "student": [self.students[i] for i in gone],
                "course": [self.courses[self._course[i]] for i in gone],
                "last_event": to_datetimes(self._last[gone]),
            }
        )

    # ------------------------------------------------------------- generation
    def _session(self, s: int, t0: float) -> dict[str, np.ndarray]:
        """One study session of student ``s`` starting at ``t0``."""
        rng = self._rngs[s]
        course = self._course[s]
        lengths = self._video_len[course]
        decline = 0.0
        if math.isfinite(self._drop_at[s]):
            done = (t0 - self.start_time) / (self._drop_at[s] - self.start_time)
            decline = min(1.0, max(0.0, done))
        end = t0 + rng.uniform(600, 2400) * (1 - 0.6 * decline)
        video, pos = int(self._video[s]), float(self._pos[s])
        ts, ev, item, position, score = [t0], [_PLAY], [f"v{video + 1:02d}"], [pos], [math.nan]
        t = t0
        while True:
            dt = rng.exponential(45.0)
            t += dt
            if t >= end:
                break
            pos += dt
            if pos >= lengths[video]:
                if (video + 1) % 3 == 0:
                    mark = rng.normal(self._ability[s] - 0.35 * decline, 0.1)
                    ts.append(t)
                    ev.append(_QUIZ)
                    item.append(f"q{(video + 1) // 3}")
                    position.append(math.nan)
                    score.append(round(min(1.0, max(0.0, mark)), 2))
                    t += rng.exponential(20.0)
                video = (video + 1) % self.videos
                pos = 0.0
                ts.append(t)
                ev.append(_PLAY)
                item.append(f"v{video + 1:02d}")
                position.append(0.0)
                score.append(math.nan)
                continue
            r = rng.random()
            if r < 0.2:
                ts += [t, t + rng.exponential(20.0)]
                ev += [_PAUSE, _PLAY]
                item += [f"v{video + 1:02d}"] * 2
                position += [round(pos, 1)] * 2
                score += [math.nan, math.nan]
                t = ts[-1]
            elif r < 0.35:
                pos = float(np.clip(pos + rng.normal(0, 90), 0, lengths[video] - 1))
                ts.append(t)
                ev.append(_SEEK)
                item.append(f"v{video + 1:02d}")
                position.append(round(pos, 1))
                score.append(math.nan)
        ts.append(end)
        ev.append(_PAUSE)
        item.append(f"v{video + 1:02d}")
        position.append(round(min(pos, lengths[video]), 1))
        score.append(math.nan)
        if rng.random() < 0.15:
            ts.append(rng.uniform(t0, end))
            ev.append(_POST)
            item.append("forum")
            position.append(math.nan)
            score.append(math.nan)
        self._video[s], self._pos[s] = video, min(pos, lengths[video])
        return {
            "ts": np.array(ts),
            "student": np.full(len(ts), s),
            "event": np.array(ev),
            "item": np.array(item, dtype=object),
            "position": np.array(position),
            "score": np.array(score),
        }

    def _block(self) -> tuple[dict[str, np.ndarray], float] | None:
        hi = self._horizon + _BLOCK
        for s in range(len(self.students)):
            while not self._stopped[s] and self._next[s] < hi:
                t0 = float(self._next[s])
                if t0 >= self._drop_at[s]:
                    self._stopped[s] = True
                    break
                session = self._session(s, t0)
                self._pool.append(session)
                self._last[s] = max(np.nan_to_num(self._last[s], nan=-np.inf), session["ts"].max())
                gap = self._rngs[s].uniform(3 * 3600, 36 * 3600)
                self._next[s] = float(session["ts"].max()) + gap
        if not self._pool:
            return None if self._stopped.all() else ({c: np.zeros(0) for c in _COLS}, hi)
        pool = {c: np.concatenate([p[c] for p in self._pool]) for c in _COLS}
        order = np.argsort(pool["ts"], kind="stable")
        pool = {c: v[order] for c, v in pool.items()}
        cut = int(np.searchsorted(pool["ts"], hi, side="left"))
        rest = {c: v[cut:] for c, v in pool.items()}
        self._pool = [rest] if len(rest["ts"]) else []
        return {c: v[:cut] for c, v in pool.items()}, hi

    def _frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        students = np.array(self.students, dtype=object)
        courses = np.array(self.courses, dtype=object)
        events = np.array(EVENTS, dtype=object)
        who = cols["student"].astype(np.int64)
        return pd.DataFrame(
            {
                "seq": cols["seq"],
                "ts": to_datetimes(cols["ts"]),
                "student": students[who],
                "course": courses[self._course[who]],
                "event": events[cols["event"].astype(np.int64)],
                "item": cols["item"],
                "position": cols["position"],
                "score": cols["score"],
            }
        )

    def __repr__(self) -> str:
        return (
            f"<learning students={len(self.students)} courses={len(self.courses)} "
            f"seed={self.seed} n={self.n} counters={self.counters}>"
        )


_COLS = ("ts", "student", "event", "item", "position", "score")


def _names(value: Any, prefix: str, what: str, pad: bool = True) -> tuple[str, ...]:
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"learning() needs at least one of {what}, got {value}")
        width = max(2, len(str(value))) if pad else 1
        return tuple(f"{prefix}{i + 1:0{width}d}" for i in range(value))
    names = tuple(value)
    if not names:
        raise ValueError(f"learning() needs at least one of {what}")
    return names


@Stream.register_api(staticmethod)
def learning(*args: Any, **kwargs: Any) -> Learning:
    """A synthetic online-learning feed; see :class:`Learning` for its parameters.

    >>> import streamnb as sn
    >>> first = sn.learning(students=3, seed=0, start=0, batch=None).step()
    >>> first["event"], first["student"] in ("s01", "s02", "s03")
    ('play', True)
    """
    return Learning(*args, **kwargs)


learning.__signature__ = inspect.signature(Learning.__init__)  # type: ignore[attr-defined]
