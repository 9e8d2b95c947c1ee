"""Write the course notebooks 02-04, outputs stripped: python scripts/make_course.py

Each notebook teaches one idea on seeded data, runs top to bottom with no sleeping and no
wall-clock dependence (a ``sn.ManualClock`` wherever processing time matters), and proves
itself with hidden check cells that nbval runs in CI. Exercise checks print whether the
learner's answer is right; they only fail when the reference they compute is wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def md(source: str) -> nbformat.NotebookNode:
    return new_markdown_cell(source.strip("\n"))


def code(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source.strip("\n"))


def hidden(source: str) -> nbformat.NotebookNode:
    """A check cell: collapsed in the notebook, run by nbval in CI."""
    cell = code(source)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["tags"] = ["hide-input", "check"]
    return cell


def setup() -> nbformat.NotebookNode:
    """The first code cell of every notebook."""
    return code(
        """
import streamnb as sn

sn.notebook.setup()  # loads BokehJS inline: plots render with no internet access
"""
    )


# --------------------------------------------------------------------------------------
# 02 - event time vs processing time
# --------------------------------------------------------------------------------------
EVENT_TIME = [
    md(
        """
# Event time vs processing time

Every tick of a market feed has **two times**:

* **event time**: when it *happened*, stamped by the exchange (the `ts` column);
* **processing time**: when it *reached us*, read from our own clock on arrival.

On a real network they differ: some ticks are delayed and arrive after later ones. In pandas
you never notice, because `df.groupby(df["ts"].dt.floor("1s"))` runs on a finished table. A
stream processor answers *while* data arrives, and must choose which time a window uses:

* **processing time** treats the stream as *data* in the order it comes ("data stream"
  processing): a 1 s window holds what arrived during that second of our clock;
* **event time** treats every record as an *event* that happened at its `ts` ("event
  stream" processing): a 1 s window holds what happened during that second.

This notebook runs one disordered feed through both, side by side, and shows why the
answers differ.
"""
    ),
    setup(),
    code("import math\n\nimport pandas as pd"),
    md(
        """
## A feed, and a clock we control

Processing time comes from a clock. A `sn.ManualClock` only moves when we advance it, so this
notebook gives the same answers every time it runs — no sleeping, no wall clock.

The feed is `sn.market`: 160 ticks per second of event time over five symbols, seeded; 20 %
of the ticks are delayed by up to 3 s. Each `feed.step()` advances the feed by one
`interval` (here 1/16 s) and delivers, as one batch, the ticks that arrived meanwhile.
"""
    ),
    code(
        """
START = "2026-01-02 09:30"
TICK = 1 / 16  # seconds of arrival per step

clock = sn.ManualClock(start=START)
feed = sn.market(seed=3, rate=160, disorder=0.2, max_delay="3s", start=START,
                 clock=clock, interval=TICK)
"""
    ),
    md(
        """
## The same ticks, windowed two ways

Both windows count ticks and average prices per symbol in 1 s tumbling windows. The only
difference is `time=`:

* `time=None`: **processing time**. Each batch is stamped with `clock.now()` when it arrives;
  a window fires as soon as the clock passes its end.
* `time="ts"`: **event time**. A window fires when the *watermark* (the largest `ts` seen
  minus 3 s) passes its end — it waits 3 s for stragglers. Watermarks are the subject of
  notebook 04.
"""
    ),
    code(
        """
agg = {"price": "mean"}
by_arrival = feed.window("1s", key="symbol", time=None, agg=agg)                # processing time
by_event = feed.window("1s", key="symbol", time="ts", agg=agg, watermark="3s")  # event time
arrival_panes, event_panes = by_arrival.sink_to_list(), by_event.sink_to_list()
"""
    ),
    md(
        """
## Watch them diverge

A live plot of one symbol's ticks per second, by arrival and by event time. Processing-time
windows are labelled in epoch seconds (arrival times are the clock's numbers), so we turn
their bounds into timestamps before plotting. The plots follow the manual clock: at most
four redraws per second of *feed* time.
"""
    ),
    code(
        """
SYMBOL = "BOLT"

def as_timestamps(panes):
    \"\"\"Processing-time windows give their bounds in epoch seconds: make them timestamps.\"\"\"
    return panes.assign(window_start=pd.to_datetime(panes["window_start"], unit="s"),
                        window_end=pd.to_datetime(panes["window_end"], unit="s"))

def one_symbol(panes):
    return panes[panes["symbol"] == SYMBOL]

style = dict(x="window_start", y="count", length=100, clock=clock, max_fps=4)
live = (by_arrival.map(as_timestamps).map(one_symbol).plot.step(label="by arrival", **style)
        * by_event.map(one_symbol).plot.step(label="by event time", **style))
live.opts(title=f"{SYMBOL}: ticks per 1 s window", width=700, height=300,
          legend_position="top_left")
"""
    ),
    md(
        """
## Run one minute of arrivals

Each step moves processing time on by 1/16 s, then lets the feed deliver what arrived. We
keep every batch with its arrival time, to check the windows with pandas afterwards. After a
minute we stop listening and close every window that is still open — what a finite source
does by itself when it ends. (To run it again, re-run the notebook from the feed cell: the
windows are closed now.)
"""
    ),
    code(
        """
batches = []
for _ in range(960):          # 960 x 1/16 s = one minute
    clock.advance(TICK)       # processing time moves on...
    batch = feed.step()       # ...and the feed delivers what arrived meanwhile
    batches.append(batch.assign(arrival=pd.to_datetime(clock.now(), unit="s")))
sn.propagate_watermark(feed, math.inf)  # stop listening: every open window fires

ticks = pd.concat(batches, ignore_index=True)
ticks["delay"] = ticks["arrival"] - ticks["ts"]
ticks.nlargest(5, "delay")[["seq", "symbol", "ts", "arrival", "delay"]]
"""
    ),
    md(
        """
Most ticks arrive within one step of happening; a fifth of them up to 3 s later. Now put the
final answer of every window side by side (the last pane a window emits is its final
answer):
"""
    ),
    code(
        """
key = ["symbol", "window_start"]
arrival = as_timestamps(pd.concat(arrival_panes)).drop_duplicates(key, keep="last")
event = pd.concat(event_panes).drop_duplicates(key, keep="last")
side = arrival.merge(event, on=key, how="outer", suffixes=(" by arrival", " by event"))
counts = ["count by arrival", "count by event"]
side[counts] = side[counts].fillna(0).astype(int)  # 0: that second had no window that way
prices = ["price_mean by arrival", "price_mean by event"]
side[side["symbol"] == SYMBOL][key + counts + prices].head(10)
"""
    ),
    code(
        """
differ = side["count by arrival"] != side["count by event"]
print(f"{differ.sum()} of {len(side)} (symbol, second) windows have a different count, "
      f"though both saw the same {len(ticks)} ticks")
"""
    ),
    hidden(
        """
# both windows saw every tick, and each gives exactly what pandas gives on the finished table
assert len(ticks) == feed.counters["events"] > 9000
for w in (by_arrival, by_event):
    assert w.counters["in"] == len(ticks) and w.counters["late"] == 0
assert arrival["count"].sum() == event["count"].sum() == len(ticks)

def by_second(column):
    return (ticks.assign(window_start=ticks[column].dt.floor("1s"))
            .groupby(key).size().rename("expected").reset_index())

for result, column in ((arrival, "arrival"), (event, "ts")):
    merged = by_second(column).merge(result, on=key, how="outer")
    assert (merged["expected"] == merged["count"]).all(), column
assert differ.sum() > 50  # the lesson: the two answers really differ
"""
    ),
    md(
        """
## Why the answers differ, and which one to use

A tick stamped 09:30:05.9 that reaches us at 09:30:07.2 is counted in the 09:30:07 window by
arrival, and in the 09:30:05 window by event time. Even undelayed ticks can move: a batch is
stamped when it is *delivered*, so a tick from the last 1/16 s of a second lands in the next
second by arrival.

* **Processing time** is immediate and needs no waiting, but its answer depends on the
  network, on batching, on how fast a replay runs: run the same feed tomorrow and the
  numbers change. It answers "what did we *see* in this second?".
* **Event time** answers "what *happened* in this second?" — the same answer as pandas on
  the finished table, however the data was delayed or replayed. The price: it must wait
  (here 3 s) before a window is final, and decide what to do with ticks that come later
  still. That is what watermarks and allowed lateness are for (notebook 04).
"""
    ),
    md(
        """
## Exercise

How many **BOLT** ticks were counted in a *different* 1 s window by arrival than by event
time? `ticks` has both times for every tick (`ts` and `arrival`), and `.dt.floor("1s")`
gives the start of a time's 1 s window. Replace `None` with your expression, run the cell,
then run the check below it.
"""
    ),
    code(
        """
answer = None  # your answer, e.g. an expression on `ticks`
"""
    ),
    hidden(
        """
bolt = ticks[ticks["symbol"] == "BOLT"]
reference = int((bolt["ts"].dt.floor("1s") != bolt["arrival"].dt.floor("1s")).sum())
# the reference agrees with the windows: moving one tick changes two windows' counts by one
by_window = side[side["symbol"] == "BOLT"]
shift = (by_window["count by arrival"] - by_window["count by event"]).abs().sum()
assert 0 < shift <= 2 * reference <= 2 * len(bolt)
if answer is None:
    print("No answer yet. Hint: compare ticks['ts'].dt.floor('1s') with "
          "ticks['arrival'].dt.floor('1s') for the BOLT rows, and count the mismatches.")
elif answer == reference:
    print(f"Right: {reference} of {len(bolt)} BOLT ticks "
          f"({reference / len(bolt):.0%}) changed window.")
else:
    print(f"Not quite ({answer!r}). Hint: keep only symbol == 'BOLT', then count the rows "
          "whose two floored times differ.")
"""
    ),
]


# --------------------------------------------------------------------------------------
# 03 - four kinds of windows
# --------------------------------------------------------------------------------------
WINDOWS = [
    md(
        """
# Four ways to cut a stream into windows

A stream never ends, so "the average price" has no answer until we say *over what*. A
**window** is that "what": a finite group of events we can aggregate, like one group of a
pandas `groupby`. streamnb has four kinds, and this notebook puts all four on the same feed:

| kind | a window is | in pandas |
|---|---|---|
| tumbling `.window("10s")` | back-to-back 10 s of event time | `floor("10s")` as the group |
| sliding `.window("10s", every="5s")` | 10 s, one every 5 s | `rolling("10s")`, every 5 s |
| session `.session("4s")` | a burst, ended by 4 s of silence | `(diff() >= 4s).cumsum()` |
| count `.count_window(10)` | every 10 events, whatever their times | `arange(n) // 10` |

All of them are per key here (`key="symbol"`) and all use event time.
"""
    ),
    setup(),
    code("import pandas as pd"),
    md(
        """
## One feed

A slow, seeded market feed: three symbols, 1.5 ticks per second, 300 ticks in all (about
200 s of event time), 10 % of them delayed by up to 2 s. `make_feed()` builds a fresh copy
whenever we need to replay the same ticks.
"""
    ),
    code(
        """
def make_feed():
    return sn.market(symbols=["ACME", "BOLT", "CRUX"], seed=11, rate=1.5, n=300,
                     disorder=0.1, max_delay="2s", start="2026-01-02 09:30", batch=20)

feed = make_feed()
raw = feed.sink_to_list()  # keep the raw ticks too, to check the windows with pandas
"""
    ),
    md(
        """
## Four windows on it

Every window kind takes the same `key=`, `agg=` and (for the time-based ones) `watermark=`:
a 2 s watermark covers the feed's 2 s delays, so no tick is late here.
"""
    ),
    code(
        """
agg = {"price": "mean"}
windows = {
    "tumbling": feed.window("10s", key="symbol", agg=agg, watermark="2s"),
    "sliding": feed.window("10s", every="5s", key="symbol", agg=agg, watermark="2s"),
    "session": feed.session("4s", key="symbol", agg=agg, watermark="2s"),
    "count": feed.count_window(10, key="symbol", agg=agg),
}
panes = {name: w.sink_to_list() for name, w in windows.items()}
"""
    ),
    md(
        """
## Plot them

ACME's mean price per window, for each kind, at the end of each window. The plots are live:
they fill in as the next cell runs the feed.
"""
    ),
    code(
        """
def acme(frame):
    return frame[frame["symbol"] == "ACME"]

style = dict(x="window_end", y="price_mean", length=200)
plot = (windows["tumbling"].map(acme).plot.step(label="tumbling 10 s", **style)
        * windows["sliding"].map(acme).plot.step(label="sliding 10 s every 5 s", **style)
        * windows["session"].map(acme).plot.scatter(label="session, 4 s gap", size=60, **style)
        * windows["count"].map(acme).plot.scatter(label="count, 10 ticks", size=60,
                                                   marker="triangle", **style))
plot.opts(title="ACME: mean price per window", width=750, height=320, legend_position="top_left")
"""
    ),
    code(
        """
feed.run()  # a finite feed: runs to its end, then every open window fires
ticks = pd.concat(raw)
result = {name: pd.concat(frames, ignore_index=True) for name, frames in panes.items()}
{name: len(frame) for name, frame in result.items()}
"""
    ),
    md(
        """
## Tumbling and sliding

Tumbling windows tile event time: every tick is in exactly one of them. Sliding windows of
10 s every 5 s overlap, so every tick is in two, and the first starts 5 s *before* the feed.
A sliding window that starts on a multiple of 10 s covers exactly the same interval as a
tumbling one, so it has the same answer.
"""
    ),
    code(
        """
key = ["symbol", "window_start"]
tumbling, sliding = result["tumbling"], result["sliding"]
aligned = sliding.merge(tumbling, on=key, suffixes=("_sliding", "_tumbling"))
aligned[aligned["symbol"] == "ACME"][key + ["count_sliding", "count_tumbling"]].head()
"""
    ),
    hidden(
        """
import numpy as np
n = len(ticks)
assert n == 300 and all(w.counters["late"] == 0 for w in windows.values())
assert tumbling["count"].sum() == n       # every tick in exactly one tumbling window
assert sliding["count"].sum() == 2 * n    # ... and in exactly two sliding windows
# the sliding windows that start on a multiple of 10 s are the tumbling windows
on_grid = sliding[sliding["window_start"].dt.second % 10 == 0]
assert len(aligned) == len(on_grid) == len(tumbling)
assert (aligned["count_sliding"] == aligned["count_tumbling"]).all()
assert np.allclose(aligned["price_mean_sliding"], aligned["price_mean_tumbling"])
# and tumbling windows are pandas' groupby on the floored event time
floored = ticks["ts"].dt.floor("10s").rename("window_start")
expected = ticks.groupby([ticks["symbol"], floored]).size()
assert (tumbling.set_index(key)["count"].sort_index() == expected.sort_index()).all()
"""
    ),
    md(
        """
## Sessions

A session grows while a symbol's ticks come less than 4 s apart and spans
`[first tick, last tick + 4 s)`. Its length is not fixed: it depends on the data. Two
sessions of the same symbol never overlap, and the next one starts at least 4 s after the
last tick of the previous one, that is at or after its `window_end`.
"""
    ),
    code(
        """
sessions = result["session"].sort_values(key, ignore_index=True)
sessions["seconds"] = (sessions["window_end"] - sessions["window_start"]).dt.total_seconds()
sessions[sessions["symbol"] == "ACME"][key + ["window_end", "seconds", "count"]].head()
"""
    ),
    hidden(
        """
assert sessions["count"].sum() == n
for symbol, group in sessions.groupby("symbol"):
    # the next session of a symbol starts at or after the end of the previous one
    starts, ends = group["window_start"].to_numpy(), group["window_end"].to_numpy()
    assert (starts[1:] >= ends[:-1]).all(), symbol
    # pandas' version: a new session wherever two consecutive ticks are >= 4 s apart
    times = ticks.loc[ticks["symbol"] == symbol, "ts"].sort_values()
    assert len(group) == 1 + (times.diff() >= pd.Timedelta("4s")).sum(), symbol
"""
    ),
    md(
        """
## Count windows

Count windows ignore time: every 10 ticks of a symbol, in arrival order, form a window. So
every count window holds exactly 10 ticks, except the last of each symbol, which fired
with what was left when the feed ended. Their `window_start`/`window_end` are just the
earliest and latest event time they hold, and `window` numbers them per symbol.
"""
    ),
    code(
        """
counted = result["count"]
counted.groupby("symbol")["count"].apply(list)
"""
    ),
    hidden(
        """
assert counted["count"].sum() == n
for symbol, group in counted.groupby("symbol"):
    group = group.sort_values("window")
    assert list(group["window"]) == list(range(len(group)))
    assert (group["count"].iloc[:-1] == 10).all() and 1 <= group["count"].iloc[-1] <= 10
    assert len(group) == -(-(ticks["symbol"] == symbol).sum() // 10)  # ceil(ticks / 10)
"""
    ),
    md(
        """
## Exercise

How many sessions does **CRUX** have with a gap of **6 s** instead of 4 s? Build a session
window on a fresh feed (`make_feed()`), run it, and count CRUX's sessions — or reason with
pandas on `ticks`. Replace `None` with your answer and run the check below.
"""
    ),
    code(
        """
answer = None  # your answer: a number
"""
    ),
    hidden(
        """
crux = ticks.loc[ticks["symbol"] == "CRUX", "ts"].sort_values()
reference = int(1 + (crux.diff() >= pd.Timedelta("6s")).sum())
# the reference is what the session window itself gives on a replay of the same feed
replay = make_feed()
crux_sessions = replay.session("6s", key="symbol", watermark="2s").sink_to_list()
replay.run()
assert (pd.concat(crux_sessions)["symbol"] == "CRUX").sum() == reference
if answer is None:
    print("No answer yet. Hint: s = make_feed(); out = s.session('6s', key='symbol', "
          "watermark='2s').sink_to_list(); s.run(); then count CRUX rows in pd.concat(out).")
elif answer == reference:
    print(f"Right: {reference} sessions (it had {(sessions['symbol'] == 'CRUX').sum()} with "
          "a 4 s gap). A longer gap merges bursts.")
else:
    print(f"Not quite ({answer!r}). Hint: a longer gap can only merge sessions, so the answer "
          "is at most the number of CRUX sessions with a 4 s gap.")
"""
    ),
]


# --------------------------------------------------------------------------------------
# 04 - watermarks and late data
# --------------------------------------------------------------------------------------
WATERMARKS = [
    md(
        """
# Watermarks and late data

An event-time window for 09:30:05 can only give its final answer once no more ticks from
09:30:05 will come. On a network we never know that for sure, so a stream processor
*guesses* with a **watermark**: "I have probably seen everything up to time W". streamnb's
watermark is simple:

> W = (largest event time seen so far) − **watermark delay**; it never goes back.

When W passes a window's end, the window fires its `on_time` pane. A tick that arrives for a
window W has already passed is **late**, and then **allowed lateness** decides:

* the window is still kept (its end + lateness > W): the tick is **late, accepted**, and
  the window re-emits a corrected `late` pane;
* otherwise the tick is **dropped**: it goes to the window's `.late` stream instead.

Two sliders set the delay and the lateness; each move re-runs the same recorded stream and
counts what happened to every tick.
"""
    ),
    setup(),
    code(
        """
import holoviews as hv
import ipywidgets as widgets
import pandas as pd
from IPython.display import display
"""
    ),
    md(
        """
## A recorded, disordered stream

3000 ticks of a seeded market feed, recorded once in *arrival order*: 10 % of them arrived up
to 3.3 s late. Two ticks were corrupted on the way (their price is `"n/a"`); a window cannot
average them, so they will be **dead letters** — neither on time nor late.
"""
    ),
    code(
        """
feed = sn.market(seed=4, rate=50, n=3000, disorder=0.1, max_delay="3.3s",
                 start="2026-01-02 09:30", batch=3000)
frames = feed.sink_to_list()
feed.run()
recording = pd.concat(frames, ignore_index=True)
recording["price"] = recording["price"].astype(object)
recording.loc[[700, 2100], "price"] = "n/a"  # corrupted on the way
recording.head()
"""
    ),
    md(
        """
## Replay it with a given delay and lateness

`replay` runs the recording through 1 s tumbling windows per symbol and reads the window's
counters: every tick that enters is exactly one of *on time*, *late, accepted*, *dropped* or
a *dead letter*. It also keeps the last pane of every window, whose counts are the final
answers.
"""
    ),
    code(
        """
def replay(delay, lateness):
    src = sn.from_records(recording, time="ts", batch=250)
    w = src.window("1s", key="symbol", agg={"price": "mean"}, watermark=delay, lateness=lateness)
    panes = []
    sink = w.sink(panes.append)
    src.run()
    sink.destroy()  # release the sink: a replay leaves nothing behind
    panes = pd.concat(panes)
    final = panes.drop_duplicates(["symbol", "window_start"], keep="last")
    c = w.counters
    return {
        "delay": delay, "lateness": lateness, "in": c["in"],
        "on time": c["on_time"], "late, accepted": c["late_accepted"],
        "dropped": c["dropped"], "dead letters": c["dead_letters"],
        "in final panes": int(final["count"].sum()), "windows": len(final),
        "late panes": int((panes["pane"] == "late").sum()),
    }

replay(delay=0, lateness=0)
"""
    ),
    md(
        """
## Move the sliders

The bars show what happened to the 3000 ticks; the line under them how many windows there
were, and how many `late` panes (corrections of an answer already given) they emitted.
`summary` always holds the numbers for the sliders' current values.
"""
    ),
    code(
        """
OUTCOMES = ["on time", "late, accepted", "dropped", "dead letters"]
slider = dict(min=0, max=5, step=0.25, continuous_update=True, readout_format=".2f",
              style={"description_width": "150px"}, layout={"width": "500px"})
delay = widgets.FloatSlider(value=0, description="watermark delay (s)", **slider)
lateness = widgets.FloatSlider(value=0, description="allowed lateness (s)", **slider)
status = widgets.HTML()
summary = {}
bars = hv.streams.Pipe(data=pd.DataFrame({"outcome": OUTCOMES, "events": [0] * 4}))

def draw(data):
    return (hv.Bars(data, "outcome", "events").opts(color="outcome", cmap="Category10")
            * hv.Labels(data, ["outcome", "events"], "events").opts(text_baseline="bottom"))

def update(change=None):
    summary.clear()
    summary.update(replay(delay.value, lateness.value))
    bars.send(pd.DataFrame({"outcome": OUTCOMES, "events": [summary[k] for k in OUTCOMES]}))
    status.value = (f"<b>{summary['windows']}</b> windows, <b>{summary['late panes']}</b> "
                    f"late panes (corrections); {summary['in final panes']} ticks in the "
                    f"final answers")

delay.observe(update, names="value")
lateness.observe(update, names="value")
update()
chart = hv.DynamicMap(draw, streams=[bars]).opts(
    hv.opts.Bars(width=600, height=300, ylim=(0, 3300), show_legend=False,
                 title="what happened to each tick"))
display(widgets.VBox([delay, lateness, status]))
chart
"""
    ),
    hidden(
        """
import numpy as np

def at(d, l):
    \"\"\"Move the sliders as a learner would, and return what the observer computed.\"\"\"
    delay.value, lateness.value = d, l
    assert (summary["delay"], summary["lateness"]) == (d, l)
    return dict(summary)

def oracle(d, l):
    \"\"\"Brute force, tick by tick in arrival order: the contract of DESIGN.md.\"\"\"
    usable = recording[recording["price"] != "n/a"]
    t = (usable["ts"] - pd.Timestamp(0)).dt.total_seconds().to_numpy()
    w_before = np.maximum.accumulate(np.r_[-np.inf, t[:-1]]) - d  # watermark when it arrives
    end = np.floor(t) + 1
    dropped = end + l <= w_before
    late = (end <= w_before) & ~dropped
    return {"on time": int((~dropped & ~late).sum()), "late, accepted": int(late.sum()),
            "dropped": int(dropped.sum()), "dead letters": len(recording) - len(usable)}

for d, l in [(0, 0), (1, 0), (1, 2), (3, 0), (0.5, 0.75)]:
    got = at(d, l)
    assert {k: got[k] for k in OUTCOMES} == oracle(d, l), (d, l)
    # conservation: every tick in is in a final pane, dropped, or a dead letter
    accounted = got["in final panes"] + got["dropped"] + got["dead letters"]
    assert got["in"] == len(recording) == accounted, (d, l)
    assert got["in"] == sum(got[k] for k in OUTCOMES)
    assert got["dead letters"] == 2

no_lateness, with_lateness = at(3, 0), at(1, 2)
assert at(0, 0)["dropped"] > 200  # a watermark with no delay drops most delayed ticks
assert no_lateness["late, accepted"] == 0 and no_lateness["late panes"] == 0
# what is dropped depends only on delay + lateness ...
assert with_lateness["dropped"] == no_lateness["dropped"] > 0
# ... but a short delay answers sooner, then corrects itself with late panes
assert with_lateness["late, accepted"] > 0 and with_lateness["late panes"] > 0
"""
    ),
    md(
        """
## What the sliders show

* **Delay 0**: windows fire as soon as a later tick shows up, so every delayed tick whose
  window has ended meanwhile is dropped. Answers are fast and incomplete.
* **More delay**: fewer drops, but every window waits that much longer before its first
  answer — latency traded for completeness.
* **Lateness** keeps fired windows open for stragglers: they are *late, accepted*, and
  each one makes its window emit a corrected `late` pane. A tick is dropped only when
  `window end + lateness <= largest event time seen − delay`: what is dropped depends on
  `delay + lateness` alone (try delay 1 + lateness 2, then delay 3 + lateness 0). The
  difference is *when* you get answers: a short delay gives early answers and corrects them;
  a long delay gives one answer, later.
* Whatever the sliders, every tick is accounted for:
  **in = in final panes + dropped + dead letters**.
"""
    ),
    md(
        """
## Exercise

With **allowed lateness 0**, what is the smallest watermark delay on the slider that drops
no tick at all? Move the sliders to find it (or compute it from `recording`), put it in
`answer` and run the check.
"""
    ),
    code(
        """
answer = None  # your answer: a delay in seconds, e.g. 1.5
"""
    ),
    hidden(
        """
grid = np.arange(0, 5.25, 0.25)
drops = {float(d): at(float(d), 0)["dropped"] for d in grid}
reference = min(d for d, n in drops.items() if n == 0)
# drops only shrink as the delay grows, and the reference agrees with the brute force
assert all(drops[a] >= drops[b] for a, b in zip(grid[:-1], grid[1:]))
assert oracle(reference, 0)["dropped"] == 0 < oracle(reference - 0.25, 0)["dropped"]
delay.value, lateness.value = 0, 0  # leave the sliders where they started
if answer is None:
    print("No answer yet. Hint: set lateness to 0 and move the delay up until 'dropped' is 0.")
elif answer == reference:
    print(f"Right: {reference} s. The most delayed tick arrived about 3.3 s late, but what "
          "matters is how far the watermark had passed the end of its window.")
else:
    print(f"Not quite ({answer!r}). Hint: with lateness 0, find the first delay where the "
          "'dropped' bar is 0; at that delay minus 0.25 s, at least one tick is dropped.")
"""
    ),
]


NOTEBOOKS = {
    "02-event-time.ipynb": EVENT_TIME,
    "03-windows.ipynb": WINDOWS,
    "04-watermarks-and-late-data.ipynb": WATERMARKS,
}


def write(name: str, cells: list[nbformat.NotebookNode]) -> Path:
    nb = new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes no line by itself
        cell.id = f"{name[:2]}-{i:02d}"
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    out = ROOT / "notebooks" / name
    nbformat.validate(nb)
    nbformat.write(nb, out)
    return out


def main(argv: list[str]) -> None:
    names = argv or list(NOTEBOOKS)
    for name in names:
        print(f"wrote {write(name, NOTEBOOKS[name])}")


if __name__ == "__main__":
    main(sys.argv[1:])
