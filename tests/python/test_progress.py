"""Progress when the output is not a terminal (docs/training.md, "Progress and logs"): plain
lines at most every NBODY_LMP_PROGRESS_INTERVAL seconds, never carriage returns."""

import io
import os
import subprocess
import sys

import pytest

from _trainutils import tiny_config

from nbody_lmp.progress import ProgressLines, progress


def test_lines_not_bars_when_the_stream_is_not_a_terminal():
    out = io.StringIO()
    bar = progress(range(5), desc="work", file=out, leave=True)
    assert isinstance(bar, ProgressLines)
    assert list(bar) == list(range(5))
    text = out.getvalue()
    assert "\r" not in text
    assert text.strip().splitlines()[-1].startswith("work: 5/5 it (100%)")


def test_lines_come_at_the_interval(monkeypatch):
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr("nbody_lmp.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = ProgressLines(total=10, desc="d", file=out, interval=3.0)
    for _ in range(10):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 5  # one every 3 s of a 10 s job, and the last one
    assert lines[-1].startswith("d: 10/10")
    assert "<" in lines[0]  # an estimate of the time left while it runs


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    list(progress(range(3), desc="x", file=out, enabled=False, leave=True))
    assert out.getvalue() == ""


def test_bad_interval_says_what_to_set(monkeypatch):
    monkeypatch.setenv("NBODY_LMP_PROGRESS_INTERVAL", "soon")
    with pytest.raises(ValueError, match="NBODY_LMP_PROGRESS_INTERVAL='soon'.*e.g. 30"):
        ProgressLines(total=1)


def test_training_log_to_a_file_has_no_carriage_returns(tmp_path):
    cfg = tiny_config(tmp_path, run_dir=tmp_path / "run", output={"progress": True})
    env = dict(os.environ, NBODY_LMP_PROGRESS_INTERVAL="0.001", OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-m", "nbody_lmp.cli", "train", str(cfg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr + run.stdout
    assert "epoch 1/4: " in run.stderr  # the progress lines, one per interval
