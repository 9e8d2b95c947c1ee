"""The streamnb command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streamnb.cli import main


def test_demo_prints_latest_windows_and_a_summary(capsys):
    assert main(["demo", "--events", "30000", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    assert "latest windows:" in out
    assert "window_start" in out and "price_mean" in out
    assert "events: 30,000 in" in out and "dead letters: 0" in out
    assert "100.0%" in err  # the progress bar reached the end


def test_demo_rejects_nonsense(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--events", "0"])
    assert "--events must be positive" in capsys.readouterr().err


def test_console_script_is_installed():
    exe = sys.executable.replace("python", "streamnb")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "demo" in result.stdout and "lab" in result.stdout
