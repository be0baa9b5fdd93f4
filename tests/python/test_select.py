"""`nbody-lmp select` (nbody_lmp.workflows.selection): frames whose max per-atom force deviation
lies in [lo, hi) are written to extxyz, from a LAMMPS dump custom file (orthogonal or triclinic box,
types mapped by --elements or an element column) or an extxyz file; an existing output is never
overwritten without --force."""

import ase.io
import numpy as np
import pytest
from ase import Atoms

from nbody_lmp.cli import main
from nbody_lmp.workflows.selection import read_lammps_dump, select_frames


MAXDEV = [
    0.01,
    0.05,
    0.2,
    0.2999,
    0.3,
    0.8,
]  # lo = 0.05 and hi = 0.3: frames 1, 2, 3 are candidates


def write_dump(path, tilt=(0.0, 0.0, 0.0), element=False):
    rng = np.random.default_rng(0)
    xy, xz, yz = tilt
    lx, ly, lz = 6.0, 7.0, 8.0
    out = []
    for step, dev in zip(range(0, 60, 10), MAXDEV):
        pos = rng.uniform(0.5, 5.5, (4, 3))
        col = rng.uniform(0, dev, 4)
        col[rng.integers(4)] = dev
        out += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", "4"]
        if any(tilt):
            lo = [min(0, xy, xz, xy + xz), min(0, yz), 0.0]
            hi = [lx + max(0, xy, xz, xy + xz), ly + max(0, yz), lz]
            out += ["ITEM: BOX BOUNDS xy xz yz pp pp pp"]
            out += [f"{lo[0]} {hi[0]} {xy}", f"{lo[1]} {hi[1]} {xz}", f"{lo[2]} {hi[2]} {yz}"]
        else:
            out += ["ITEM: BOX BOUNDS pp pp pp", f"0 {lx}", f"0 {ly}", f"0 {lz}"]
        out.append(
            "ITEM: ATOMS id " + ("element" if element else "type") + " x y z c_dev[1] c_dev[2]"
        )
        for i in (3, 1, 0, 2):  # not sorted by id
            t = "O" if (element and i == 3) else ("Si" if element else ("2" if i == 3 else "1"))
            out.append(f"{i + 1} {t} {pos[i, 0]} {pos[i, 1]} {pos[i, 2]} {col[i]} 0.001")
    path.write_text("\n".join(out) + "\n")
    return path


def test_select_window_from_dump(tmp_path, capsys):
    dump = write_dump(tmp_path / "traj.dump")
    out = tmp_path / "cand.xyz"
    assert (
        main(
            [
                "select",
                str(dump),
                "-o",
                str(out),
                "--lo",
                "0.05",
                "--hi",
                "0.3",
                "--elements",
                "Si",
                "O",
            ]
        )
        == 0
    )
    msg = capsys.readouterr().out
    assert (
        "6 frames: 1 accurate" in msg
        and "3 candidates" in msg
        and "2 failed" in msg
        and "c_dev[1]" in msg
    )
    frames = ase.io.read(out, ":")
    assert [f.info["timestep"] for f in frames] == [10, 20, 30]
    assert [f.info["max_force_deviation"] for f in frames] == pytest.approx(MAXDEV[1:4])
    for f in frames:
        assert f.get_chemical_symbols() == ["Si", "Si", "Si", "O"]  # sorted by id, type 2 = O
        assert f.arrays["force_deviation"].max() == pytest.approx(f.info["max_force_deviation"])
        assert f.pbc.all() and np.allclose(f.cell.lengths(), [6, 7, 8])

    # never over an existing file without --force
    assert (
        main(
            ["select", str(dump), "-o", str(out), "--lo", "0", "--hi", "1", "--elements", "Si", "O"]
        )
        == 2
    )
    assert "--force" in capsys.readouterr().err
    assert len(ase.io.read(out, ":")) == 3
    assert (
        main(
            [
                "select",
                str(dump),
                "-o",
                str(out),
                "--lo",
                "0",
                "--hi",
                "1",
                "--elements",
                "Si",
                "O",
                "--force",
                "--max",
                "2",
            ]
        )
        == 0
    )
    assert [f.info["timestep"] for f in ase.io.read(out, ":")] == [0, 50]


def test_triclinic_dump_and_element_column(tmp_path):
    dump = write_dump(tmp_path / "tri.dump", tilt=(1.0, -0.5, 0.7), element=True)
    frames = list(read_lammps_dump(dump))
    assert np.allclose(frames[0].cell.array, [[6, 0, 0], [1.0, 7, 0], [-0.5, 0.7, 8]])
    assert frames[0].get_chemical_symbols() == ["Si", "Si", "Si", "O"]
    res = select_frames(frames, 0.05, 0.3)
    assert (res.accurate, res.candidates, res.failed) == (1, 3, 2)


def test_select_from_extxyz(tmp_path):
    frames = []
    for dev in MAXDEV:
        a = Atoms("Si2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]], cell=[4, 4, 4], pbc=True)
        a.arrays["force_deviation"] = np.array([dev / 2, dev])
        frames.append(a)
    ase.io.write(tmp_path / "t.xyz", frames)
    assert (
        main(
            [
                "select",
                str(tmp_path / "t.xyz"),
                "-o",
                str(tmp_path / "c.xyz"),
                "--lo",
                "0.05",
                "--hi",
                "0.3",
            ]
        )
        == 0
    )
    assert [
        f.info["max_force_deviation"] for f in ase.io.read(tmp_path / "c.xyz", ":")
    ] == pytest.approx(MAXDEV[1:4])


def test_select_errors(tmp_path, capsys):
    dump = write_dump(tmp_path / "traj.dump")
    o = str(tmp_path / "o.xyz")
    cases = [
        (["--lo", "0.3", "--hi", "0.1", "--elements", "Si", "O"], "0 <= lo < hi"),
        (["--lo", "0", "--hi", "1"], "--elements"),
        (["--lo", "0", "--hi", "1", "--elements", "Si"], "atom type 2"),
        (["--lo", "0", "--hi", "1", "--elements", "Si", "O", "--column", "c_x[1]"], "c_x[1]"),
    ]
    for args, pattern in cases:
        assert main(["select", str(dump), "-o", o, *args]) == 2
        assert pattern in capsys.readouterr().err
    assert main(["select", str(tmp_path / "nope.dump"), "-o", o, "--lo", "0", "--hi", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err
