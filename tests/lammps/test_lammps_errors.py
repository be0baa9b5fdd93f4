"""Bad input to pair_style nbody stops LAMMPS with a message that says what to change
(docs/lammps.md, "Restrictions" and "Errors")."""

import re

import pytest
import torch

from _lmputils import make_model, new_lammps

BOX = [
    "atom_style atomic",
    "lattice diamond 5.43",
    "region box block 0 1 0 1 0 1",
    "create_box 2 box",
    "create_atoms 1 box",
    "mass * 28.0855",
]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(
        tmp_path_factory.mktemp("err") / "si.pt", ["Si"], cutoff=2.8, levels=2, lmax=1, channels=2
    )


def lammps_error(commands):
    """Run ``commands`` in a fresh LAMMPS; return the message of the error they must raise."""
    lmp = new_lammps()
    try:
        for c in commands:
            lmp.command(c)
    except (
        Exception
    ) as exc:  # the lammps module raises a bare Exception (MPIAbortException for error->one)
        return str(exc)
    finally:
        lmp.close()
    pytest.fail(f"no error from: {commands}")


def expect(commands, *patterns):
    msg = lammps_error(commands)
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in {msg!r}"
    return msg


def test_missing_model_file(tmp_path):
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {tmp_path}/nope.pt Si Si"],
        r"Cannot open pair_style nbody model file .*nope\.pt",
        r"No such file",
        "nbody-lmp export",
    )


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a TorchScript archive" * 10)
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {bad} Si Si"],
        r"bad\.pt is not a valid nbody-lmp model",
        "nbody-lmp export",
    )


def test_empty_model_file(tmp_path):
    bad = tmp_path / "empty.pt"
    bad.write_bytes(b"")
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {bad} Si Si"],
        r"empty\.pt is empty",
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_file_that_is_not_an_nbody_model(tmp_path):
    other = tmp_path / "other.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(other))
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {other} Si Si"],
        r"not a valid nbody-lmp model",
        r"no attribute 'format_version'",
    )


def test_wrong_format_version(tmp_path):
    from nbody_lmp import NBodyNetwork, export

    m = NBodyNetwork(["Si"], cutoff=3.0, levels=1, lmax=1, channels=2, dtype=torch.float64)
    m.format_version = 99
    p = export(m, tmp_path / "v99.pt")
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {p} Si Si"],
        r"format_version 99",
        r"reads format_version 1 to 2",
        "re-export",
    )


def test_newer_format_version_is_named_before_its_code_is_read(tmp_path):
    """A file from a newer nbody-lmp may use operators this plugin lacks: the version in its
    metadata is checked first, so the message is about the version, not an unknown operator."""
    from nbody_lmp import NBodyNetwork, export

    m = NBodyNetwork(["Si"], cutoff=3.0, levels=1, lmax=1, channels=2, dtype=torch.float64)
    m.format_version = 3
    p = export(m, tmp_path / "v3.pt", metadata={"format_version": 3})
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {p} Si Si"],
        r"format_version 3",
        r"written by a newer nbody-lmp",
        r"pip install -U",
    )


def test_wrong_number_of_pair_coeff_args(model):
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {model} Si"],
        r"Incorrect number of arguments for pair_coeff",
        r"got 4, expected 5",
        "2 atom types",
    )


def test_pair_coeff_must_be_star_star(model):
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff 1 1 {model} Si Si"],
        r"must start with \* \*",
    )


def test_element_not_in_model(model):
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {model} Si O"],
        r"element 'O' given for atom type 2 is not in model",
        r"knows: Si",
        "NULL",
    )


def test_all_types_null(model):
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {model} NULL NULL"],
        r"every atom type to NULL",
    )


def test_null_type_without_hybrid(model):
    """NULL leaves a type to another style; with nbody alone LAMMPS says coefficients are
    missing."""
    expect(
        ["units metal", *BOX, "pair_style nbody", f"pair_coeff * * {model} Si NULL", "run 0"],
        r"All pair coeffs are not set",
    )


def test_units_must_be_metal(model):
    expect(
        ["units real", *BOX, "pair_style nbody", f"pair_coeff * * {model} Si Si", "run 0"],
        r"requires 'units metal'",
        r"uses 'units real'",
    )


def test_newton_pair_off(model):
    expect(
        [
            "units metal",
            "newton off",
            *BOX,
            "pair_style nbody",
            f"pair_coeff * * {model} Si Si",
            "run 0",
        ],
        r"requires newton_pair on",
        r"newton on",
    )


def test_unknown_keyword():
    expect(
        ["units metal", *BOX, "pair_style nbody speed fast"],
        r"Unknown pair_style nbody keyword 'speed'",
        r"device auto\|cpu\|cuda",
    )


def test_bad_device_and_dtype():
    expect(
        ["units metal", *BOX, "pair_style nbody device tpu"],
        r"Unknown pair_style nbody device 'tpu'",
    )
    expect(
        ["units metal", *BOX, "pair_style nbody dtype float16"],
        r"Unknown pair_style nbody dtype 'float16'",
    )
    expect(["units metal", *BOX, "pair_style nbody device"], r"[Mm]issing argument")


def test_device_cuda_without_gpu(model):
    cmds = [
        "units metal",
        *BOX,
        "pair_style nbody device cuda",
        f"pair_coeff * * {model} Si Si",
        "run 0",
    ]
    if torch.cuda.is_available():  # with a GPU, device cuda is valid and runs
        lmp = new_lammps()
        try:
            for c in cmds:
                lmp.command(c)
        finally:
            lmp.close()
    else:
        expect(cmds, r"device cuda: no CUDA GPU", r"device cpu or device auto")


def test_comm_mode_multi(model):
    expect(
        [
            "units metal",
            *BOX,
            "neighbor 2.0 multi",
            "comm_modify mode multi",
            "pair_style nbody",
            f"pair_coeff * * {model} Si Si",
            "run 0",
        ],
        r"comm_modify mode single",
    )
