"""Write notebooks 05-detection and 06-capture, outputs stripped:

    python scripts/make_detection_course.py [05-detection.ipynb] [06-capture.ipynb]

As in the other course notebooks: one idea each, seeded data, a short narrative, hidden check
cells that nbval runs in CI, and an exercise whose check prints whether the learner's answer
is right (it only fails when the reference it computes is wrong). Live cells start a feed on
the kernel's event loop; every checked number comes from a finite replay of the same seed.
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
    return code(
        """
import pandas as pd

import streamnb as sn

sn.notebook.setup()  # loads BokehJS inline: plots render with no internet access
"""
    )


# --------------------------------------------------------------------------------------
# 05 - rule-based detection on vital signs
# --------------------------------------------------------------------------------------
DETECTION = [
    md(
        """
# Detecting clinical events in a live vitals stream

A ward monitor streams heart rate (`hr`), oxygen saturation (`spo2`), blood pressure
(`sbp`/`dbp`) and temperature for every patient, once a second. Nobody can watch eight
screens at once, so we write down what a clinician looks for as **rules**, and let
`.detect` raise an **alert** when a rule matches — per patient, in *event time*.

This notebook:

1. streams `sn.vitals`, a seeded monitor feed with injected clinical episodes;
2. writes four rules a clinician would write, and shows alerts live in a table and a plot;
3. checks on a three-hour replay that every episode is caught and nothing else is;
4. studies **alert fatigue**: how the `for_` duration trades false alarms for delay.
"""
    ),
    setup(),
    md(
        """
## The feed

Eight patients, one reading per patient per second. 3 % of the readings arrive late, by up
to 2 seconds, as they would over a hospital network. The feed injects episodes — the ground
truth we will check against — and harmless motion **artifacts**: `hr` spikes of a few
seconds that a naive alarm would shout about.
"""
    ),
    code(
        """
feed = sn.vitals(patients=8, seed=7, disorder=0.03, max_delay="2s")
feed
"""
    ),
    md(
        """
## Four rules, as a clinician would write them

| episode | rule |
|---|---|
| tachycardia | `hr` above 120 **for 30 seconds** |
| desaturation after tachycardia | `hr > 120`, **then** `spo2 < 90` within 2 minutes |
| hypotension | `sbp` **falls by 25** within 2 minutes |
| monitor drop-out | **no reading** for 10 seconds |

Conditions such as `"hr > 120"` are safe expressions over columns (no Python is executed);
durations are event time. A rule alerts **once per episode** and re-arms when its condition
stops holding, so a patient at 130 bpm for ten minutes gives one alert, not six hundred.
"""
    ),
    code(
        """
R = sn.rules
rules = [
    R.threshold("hr", above=120, for_="30s", name="tachycardia"),
    R.sequence("hr > 120", "spo2 < 90", within="2min", name="desaturation"),
    R.change("sbp", by=-25, within="2min", name="hypotension"),
    R.absence("10s", name="dropout"),
]
[r.name for r in rules]
"""
    ),
    md(
        """
## Alerts, per patient, in event time

`watermark="2s"` matches the feed's largest delay: each reading is held until no earlier
reading can still arrive, then every rule sees each patient's readings **in event-time
order**. Without it, a delayed reading would be late and ignored (`alerts.late`). The output
is a stream of DataFrames, one row per alert: the rule, the patient, when it happened, since
when the evidence holds, a readable message and the positions of the readings involved.
"""
    ),
    code(
        """
alerts = feed.detect(rules, key="patient", watermark="2s")
alerts.plot.table(columns=["rule", "patient", "ts", "message"], length=12,
                  width=800, height=300)
"""
    ),
    md(
        """
Heart rate of every patient (the last 10 minutes), and the alerts as points: the value at
which each rule fired.
"""
    ),
    code(
        """
hr_plot = feed.plot.line(x="ts", y="hr", by="patient", length=8 * 600,
                         title="heart rate", width=800, height=300)
alert_plot = alerts.plot.scatter(x="ts", y="value", by="rule", length=200,
                                 title="alerts", width=800, height=200)
hr_plot + alert_plot
"""
    ),
    md(
        """
## Run it

The controls play, pause and step the feed; `speed=1` is real time, so an episode takes a
few minutes to show up. Push the speed slider up to see alerts sooner.
"""
    ),
    code("sn.controls(feed)"),
    code("feed.start()  # live: readings stream through the rules, the table and the plots"),
    md(
        """
## Did we catch everything? A three-hour replay

The same seed, replayed as a *finite* feed from a fixed start, runs through the same rules in
a fraction of a second. `feed.episodes` is the ground truth: patient, kind, start and end of
every injected episode (and artifact).
"""
    ),
    code(
        """
def replay(**settings):
    return sn.vitals(patients=8, seed=7, disorder=0.03, max_delay="2s",
                     n=8 * 3 * 3600, start="2026-03-01 08:00", batch=5_000, **settings)


check = replay()
check_alerts = check.detect(rules, key="patient", watermark="2s")
found = check_alerts.sink_to_list()
check.run()
found = pd.concat(found, ignore_index=True)
episodes = check.episodes
clinical = episodes[episodes["kind"] != "artifact"]
found["rule"].value_counts()
"""
    ),
    md(
        """
An episode is *caught* when the rule of its kind alerts for that patient between its start
and its end; an alert is a *false alarm* when it falls outside every clinical episode of the
patient.
"""
    ),
    code(
        """
def score(alerts, episodes, kind_of_rule=None):
    \"\"\"Episodes caught (with the delay to the first alert) and false alarms.\"\"\"
    caught = []
    for ep in episodes.itertuples():
        mine = alerts[(alerts["patient"] == ep.patient) & alerts["ts"].between(ep.start, ep.end)]
        if kind_of_rule is not None:
            mine = mine[mine["rule"] == kind_of_rule.get(ep.kind, ep.kind)]
        if len(mine):
            caught.append((ep.kind, (mine["ts"].min() - ep.start).total_seconds()))
    false = 0
    for a in alerts.itertuples():
        hits = episodes[(episodes["patient"] == a.patient)
                        & (episodes["start"] <= a.ts) & (episodes["end"] >= a.ts)]
        false += not len(hits)
    return pd.DataFrame(caught, columns=["kind", "delay_s"]), false


complete = clinical[clinical["end"] < pd.Timestamp(check.horizon, unit="s")]
caught, _ = score(found, complete, kind_of_rule={})  # the rule named after the kind
_, false_alarms = score(found, clinical)  # alerts outside every clinical episode
print(f"{len(caught)} of {len(complete)} episodes caught, {false_alarms} false alarms")
caught.groupby("kind")["delay_s"].describe()[["count", "mean", "max"]].round(1)
"""
    ),
    hidden(
        """
assert check_alerts.counters["late"] == 0 and check_alerts.counters["dead_letters"] == 0
assert len(complete) >= 20 and set(complete["kind"]) == {
    "tachycardia", "desaturation", "hypotension", "dropout"}
assert len(caught) == len(complete), "every episode is caught by the rule of its kind"
assert false_alarms == 0, "no alert on a clean segment"
# the same alerts record by record: batching changes nothing
again = replay(); again_out = again.detect(rules, key="patient", watermark="2s").sink_to_list()
again.batch = 250; again.run()
pd.testing.assert_frame_equal(pd.concat(again_out, ignore_index=True), found)
"""
    ),
    md(
        """
## Alert fatigue: what `for_` buys

Motion artifacts push `hr` above 120 for a few seconds. A rule without a duration alarms on
every one of them; a rule that waits until the condition has held for `for_` ignores them,
at the price of alerting later on real episodes. Let us measure that trade-off on the
tachycardia rule alone, against the tachycardia and desaturation episodes (both have a
tachycardia).
"""
    ),
    code(
        """
tachy_episodes = complete[complete["kind"].isin(["tachycardia", "desaturation"])]
rows = []
for for_ in ["0s", "3s", "10s", "30s", "60s"]:
    src = replay()
    out = src.detect(R.threshold("hr", above=120, for_=for_), key="patient",
                     watermark="2s").sink_to_list()
    src.run()
    fired = pd.concat(out, ignore_index=True)
    caught_t, _ = score(fired, tachy_episodes)
    _, false = score(fired, clinical)
    rows.append({"for_": for_, "alerts": len(fired), "false alarms": false,
                 "episodes caught": len(caught_t), "of": len(tachy_episodes),
                 "mean delay (s)": round(caught_t["delay_s"].mean(), 1)})
fatigue = pd.DataFrame(rows)
fatigue
"""
    ),
    code(
        """
import holoviews as hv

(hv.Bars(fatigue, "for_", "false alarms").opts(width=380, height=260, title="false alarms")
 + hv.Bars(fatigue, "for_", "mean delay (s)").opts(width=380, height=260,
                                                   title="delay to the first alert"))
"""
    ),
    hidden(
        """
first, chosen = fatigue.iloc[0], fatigue.set_index("for_").loc["30s"]
assert first["false alarms"] > 5, "without a duration, artifacts raise false alarms"
assert chosen["false alarms"] == 0 and chosen["episodes caught"] == chosen["of"]
assert list(fatigue["false alarms"]) == sorted(fatigue["false alarms"], reverse=True)
assert list(fatigue["mean delay (s)"]) == sorted(fatigue["mean delay (s)"])
"""
    ),
    md(
        """
Artifacts last at most 6 seconds, so from `for_="10s"` on they no longer alarm; each extra
second of `for_` is then only delay. A minute is too long: some short episodes are missed.

## Marking readings instead of alerting

With `mark=True` the node passes every reading on, in event-time order, with a `rules` column:
the rules that alerted at it or are in alarm there — handy to colour a plot, or to keep the
evidence next to the data.
"""
    ),
    code(
        """
small = sn.vitals(patients=2, seed=7, n=2 * 1200, start="2026-03-01 08:00", batch=1_000)
marked = small.detect(rules[0], key="patient", watermark="2s", mark=True).sink_to_list()
small.run()
marked = pd.concat(marked)
marked[marked["rules"].map(len) > 0].head()
"""
    ),
    hidden(
        """
assert len(marked) == 2 * 1200 and marked["ts"].is_monotonic_increasing
in_alarm = marked[marked["rules"].map(len) > 0]
assert len(in_alarm) == 0 or (in_alarm["hr"] > 120).all()
"""
    ),
    md(
        """
## Exercise

Desaturation can also be caught without the sequence: *`spo2` below 90 for 15 seconds*.
Write that rule with `sn.rules.threshold` and run the check below it: it replays the three
hours and tells you whether your rule catches every desaturation episode without a false
alarm.
"""
    ),
    code(
        """
my_rule = None  # your rule, e.g. sn.rules.threshold(...)
"""
    ),
    hidden(
        """
desat = complete[complete["kind"] == "desaturation"]
reference = R.threshold("spo2", below=90, for_="15s")
src = replay(); ref_out = src.detect(reference, key="patient", watermark="2s").sink_to_list()
src.run(); ref_alerts = pd.concat(ref_out, ignore_index=True)
ref_caught, ref_false = score(ref_alerts, desat)
assert len(ref_caught) == len(desat) and score(ref_alerts, clinical)[1] == 0
if my_rule is None:
    print("No answer yet. Hint: sn.rules.threshold('spo2', below=..., for_=...)")
else:
    src = replay(); out = src.detect(my_rule, key="patient", watermark="2s").sink_to_list()
    src.run()
    mine = pd.concat(out, ignore_index=True) if out else ref_alerts.iloc[:0]
    got, _ = score(mine, desat)
    _, false = score(mine, clinical)
    if len(got) == len(desat) and false == 0:
        print(f"Right: all {len(desat)} desaturations caught, no false alarm.")
    else:
        print(f"Not quite: {len(got)} of {len(desat)} caught, {false} false alarms. "
              "Hint: spo2 below 90, held for 15 s.")
"""
    ),
    md("## Stop\n\n`sn.stop_all()` stops the live feed started above."),
    code("sn.stop_all()"),
]


# --------------------------------------------------------------------------------------
# 06 - capture and SQL
# --------------------------------------------------------------------------------------
CAPTURE = [
    md(
        """
# Capture a stream, query it with SQL while it runs

Windows and rules answer questions you asked *before* the data came. Often you want to ask
new ones *while* it comes: "which students have gone quiet?", "how does each course do on
quizzes?". `.capture()` keeps the events of a stream in memory — bounded, so a stream that
never ends cannot fill it — and `.sql()` queries every capture with DuckDB, joins included.

The data: `sn.learning`, a seeded online course. Students play, pause and seek videos,
submit quizzes and post in the forum; some drop out.
"""
    ),
    setup(),
    code(
        """
feed = sn.learning(students=40, courses=3, seed=11, disorder=0.02, max_delay="30s",
                   n=30_000, start="2026-01-05", batch=500)
feed.roster.head()
"""
    ),
    md(
        """
## Two captures and a lookup table

* `events` keeps everything (at most 50,000 rows);
* `quizzes` keeps only quiz submissions, and only the columns we need — `where=` is a safe
  expression like the ones of `sn.rules`;
* `roster` captures a plain table (the students' courses and abilities) so SQL can join it.

Every capture is a table named after it (`name=`, or `capture_1`, `capture_2` ...).
"""
    ),
    code(
        """
events = feed.capture(name="events", max_rows=50_000)
quizzes = feed.capture(where="event == 'quiz'",
                       columns=["ts", "student", "course", "item", "score"], name="quizzes")
lookup = sn.from_records(feed.roster)
roster = lookup.capture(name="roster")
lookup.run()
len(roster)
"""
    ),
    md(
        """
## SQL while the stream runs

`feed.step()` advances the feed by one tick — `interval` × `speed`, here 12 s × 3600 = 12
hours of course time — and emits what arrived, exactly as the live player does. Each query
sees a snapshot of what has arrived so far.
"""
    ),
    code(
        """
feed.interval = 12.0  # one step = 12 s x speed 3600 = 12 h of course time
growth = []
for _ in range(6):
    feed.step()
    growth.append(events.sql(\"\"\"
        select count(*) as events, count(distinct student) as students,
               max(ts) as latest from events\"\"\"))
pd.concat(growth, ignore_index=True)
"""
    ),
    hidden(
        """
g = pd.concat(growth, ignore_index=True)
assert g["events"].is_monotonic_increasing and g["events"].iloc[-1] > g["events"].iloc[0]
assert g["latest"].is_monotonic_increasing
"""
    ),
    md(
        """
## Engagement per student

Run the rest of the feed, then one query: per student, their course and ability (from the
roster capture), how many events, videos played, quizzes and their mean score, and when we
last heard from them. Captures join like tables.
"""
    ),
    code(
        """
feed.run()
engagement = events.sql(\"\"\"
    select e.student, r.course, r.ability,
           count(*) as events,
           count(*) filter (where e.event = 'play') as plays,
           count(e.score) as quizzes,
           round(avg(e.score), 2) as mean_score,
           max(e.ts) as last_seen
    from events e join roster r using (student)
    group by e.student, r.course, r.ability
    order by mean_score
\"\"\")
engagement.head(8)
"""
    ),
    hidden(
        """
everything = events.df
assert len(everything) == 30_000 and events.evicted == 0
assert set(engagement["student"]) == set(everything["student"])
by_pandas = everything[everything["event"] == "quiz"].groupby("student")["score"].mean().round(2)
merged = engagement.set_index("student")["mean_score"].dropna()
assert (merged - by_pandas.loc[merged.index]).abs().max() < 0.011
assert engagement["quizzes"].sum() == len(quizzes)
"""
    ),
    md(
        """
## Who dropped out?

A student who has sent nothing for two days has probably left. `absence` per student finds
them (in event time, behind the watermark); capture the alerts too, and join them with the
quiz scores: on average, the drop-outs scored lower before they left.
"""
    ),
    code(
        """
replayed = sn.learning(students=40, courses=3, seed=11, disorder=0.02, max_delay="30s",
                       n=30_000, start="2026-01-05", batch=5_000)
gone = replayed.detect(sn.rules.absence("2D", name="quiet for 2 days"), key="student",
                       watermark="30s").capture(name="gone")
replayed.run()
events.sql(\"\"\"
    select g.student, g.start as last_event, x.mean_score, x.quizzes
    from gone g join (
        select student, round(avg(score), 2) as mean_score, count(*) as quizzes
        from quizzes group by student) x using (student)
    order by g.start
\"\"\")
"""
    ),
    hidden(
        """
truth = replayed.dropouts
end = pd.Timestamp(replayed.horizon, unit="s")
silent = set(truth.loc[truth["last_event"] < end - pd.Timedelta("2D"), "student"])
assert set(gone.df["student"]) == silent and len(silent) >= 3
scores = quizzes.df.groupby("student")["score"].mean()
assert scores[list(silent)].mean() < scores.drop(list(silent)).mean()
"""
    ),
    md(
        """
## Bounded memory: nothing leaves silently

A capture keeps at most `max_rows` rows: older rows are evicted, and counted.
"""
    ),
    code(
        """
small = sn.learning(students=40, seed=11, n=5_000, start="2026-01-05", batch=700)
recent = small.capture(max_rows=1_000, name="recent")
small.run()
len(recent), recent.evicted, recent.counters
"""
    ),
    hidden(
        """
assert len(recent) == 1_000 and recent.evicted == 4_000
assert recent.df["seq"].is_monotonic_increasing or len(recent.df) == 1_000
"""
    ),
    md(
        """
## Keep it: Parquet

`to_parquet` writes a snapshot that pandas, DuckDB or Spark read back with its types.
"""
    ),
    code(
        """
import tempfile
from pathlib import Path

path = quizzes.to_parquet(Path(tempfile.mkdtemp()) / "quizzes.parquet")
pd.read_parquet(path).dtypes
"""
    ),
    hidden(
        """
back = pd.read_parquet(path)
pd.testing.assert_frame_equal(back, quizzes.df, check_dtype=False)
"""
    ),
    md(
        """
## A live view of a capture

`capture.plot` is `stream.plot`, starting from what is already captured: here the latest
quiz submissions, updating while a live feed runs (`sn.stop_all()` at the end stops it).
"""
    ),
    code(
        """
live = sn.learning(students=40, courses=3, seed=12)
live_quizzes = live.capture(where="event == 'quiz'", columns=["ts", "student", "score"],
                            name="live_quizzes")
view = live_quizzes.plot.table(columns=["ts", "student", "score"], length=10,
                               width=600, height=280)
live.start()
view
"""
    ),
    md(
        """
## Exercise

Per course, what share of quiz submissions scored **below 0.5**? Write the query on the
`quizzes` capture (columns `course` and `score`) so that it returns the columns `course` and
`share`, then run the check below it.
"""
    ),
    code(
        """
query = None  # your SQL, e.g. "select course, ... as share from quizzes group by course"
answer = quizzes.sql(query) if query else None
answer
"""
    ),
    hidden(
        """
q = quizzes.df
reference = (q["score"] < 0.5).groupby(q["course"]).mean()
check = quizzes.sql("select course, avg(case when score < 0.5 then 1.0 else 0.0 end) as share "
                    "from quizzes group by course").set_index("course")["share"]
assert (check - reference.loc[check.index]).abs().max() < 1e-12
if answer is None:
    print("No answer yet. Hint: avg(case when score < 0.5 then 1.0 else 0.0 end) per course.")
elif {"course", "share"} <= set(answer.columns) and (
        (answer.set_index("course")["share"] - reference).abs().max() < 1e-9):
    print("Right: " + ", ".join(f"{c} {s:.0%}" for c, s in reference.items()))
else:
    print("Not quite. Hint: the share is the mean of (score < 0.5) per course.")
"""
    ),
    code("sn.stop_all()"),
]


NOTEBOOKS = {"05-detection.ipynb": DETECTION, "06-capture.ipynb": CAPTURE}


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
    for name in argv or list(NOTEBOOKS):
        print(f"wrote {write(name, NOTEBOOKS[name])}")


if __name__ == "__main__":
    main(sys.argv[1:])
