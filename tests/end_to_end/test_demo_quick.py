"""The main job end to end at a tiny size (``nbody-lmp demo --quick``): SW data -> training ->
export -> LAMMPS MD with pair_style nbody and pair_style sw on 1 and 2 ranks -> report with plots. A
re-run reuses every step; --force keeps the earlier results."""

import re
import subprocess
import sys


def test_demo_quick_runs_to_report_and_reuses(tmp_path):
    work = tmp_path / "demo"
    cmd = [sys.executable, "-m", "nbody_lmp.cli", "demo", "--workdir", str(work), "--quick"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # a progress line per LAMMPS run, plain lines (not a bar's carriage returns) in a pipe
    assert re.search(r"nbody, 2 rank\(s\): \d+/\d+ step \(100%\)", proc.stderr), proc.stderr
    assert "\r" not in proc.stderr
    report = (work / "report.md").read_text()
    for needle in (
        "Accuracy on the test set",
        "atom-steps/s",
        "speed-up",
        "NVE energy drift",
        "mean pressure",
        "g(r) overlap",
        "![learning curves](run/learning_curves.png)",
    ):
        assert needle in report
    for png in ("parity_test.png", "structure.png", "nve_energy.png", "run/learning_curves.png"):
        assert (work / png).stat().st_size > 1000
    model_mtime = (work / "model.pt").stat().st_mtime
    # second run: everything is reused (no training, no export), the report is rewritten
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "$ nbody-lmp train" not in proc.stdout
    assert (work / "model.pt").stat().st_mtime == model_mtime
