"""The local hierarchy builder of pair_style nbody (lammps_plugin/nbody_graph.cpp), tested on its
own without LAMMPS or libtorch (docs/model-format.md, "Nodes" and "Edges of level k"): the C++
unit test lammps_plugin/test_nbody_graph.cpp compares it with a brute-force construction."""

import os
import shutil
import subprocess
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "lammps_plugin"


def test_graph_builder_unit_test(tmp_path):
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    assert cxx, "a C++ compiler is needed (the plugin build needs one too)"
    exe = tmp_path / "test_nbody_graph"
    build = subprocess.run(
        [
            cxx,
            "-std=c++17",
            "-O1",
            "-g",
            "-Wall",
            "-Werror",
            f"-I{SRC}",
            str(SRC / "test_nbody_graph.cpp"),
            str(SRC / "nbody_graph.cpp"),
            "-o",
            str(exe),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert build.returncode == 0, build.stdout
    run = subprocess.run(
        [str(exe)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120
    )
    assert run.returncode == 0 and run.stdout.strip().endswith("OK"), run.stdout
