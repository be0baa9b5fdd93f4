"""Runs inside a peer's own virtual environment (benchmarks.accuracy), on the same test file as
ours: energy, energy-per-atom, force and stress MAE/RMSE of a peer's model on a
test file written by peer_data.py (keys REF_energy, REF_forces, REF_stress), in eV units and in
the layout of ``nbody-lmp evaluate --json``, plus the model's parameter count.

    python evaluate.py mace  MODEL_FILE TEST.xyz OUT.json [--stress]
    python evaluate.py nequip MODEL_FILE TEST.xyz OUT.json [--stress]

MACE is evaluated by its own batched ``mace_eval_configs``, NequIP in batches prepared by its ASE
calculator's transforms.
Imports only the peer, ASE, numpy and torch.
"""

import json
import sys
import time

import numpy as np


def calculator(kind, model_file):
    """(ASE calculator, torch module) of a peer's trained model, on the CPU."""
    if kind == "nequip":
        from nequip.ase import NequIPCalculator

        calc = NequIPCalculator._from_saved_model(
            model_file, device="cpu"
        )  # eager checkpoint: no compile
        return calc, getattr(calc, "model", None)
    raise SystemExit(f"unknown peer {kind!r}: mace or nequip")


def stats(pred, ref):
    """MAE, RMSE and count as ``nbody_lmp.training.metrics`` gives them (which a peer's environment
    cannot import: it has no nbody_lmp)."""
    err = np.concatenate([np.ravel(p) - np.ravel(r) for p, r in zip(pred, ref)])
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "n": int(err.size),
    }


def predictions_by_calculator(kind, model_file, frames, with_stress):
    """(energies, forces, stresses or None, torch module): one ASE calculator call per frame."""
    calc, module = calculator(kind, model_file)
    e, f, s = [], [], []
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        e.append(a.get_potential_energy())
        f.append(a.get_forces())
        if with_stress:
            s.append(a.get_stress(voigt=False))
    return e, f, (s if with_stress else None), module


def predictions_by_mace_eval(model_file, test, with_stress):
    """MACE's own batched evaluator (``mace_eval_configs``, documented in its README): far faster
    than its ASE calculator, which takes one configuration at a time."""
    import subprocess
    import tempfile

    import ase.io
    import torch

    out = tempfile.mktemp(suffix=".xyz", dir=".")
    cmd = [
        sys.executable,
        "-m",
        "mace.cli.eval_configs",
        "--configs",
        test,
        "--model",
        model_file,
        "--output",
        out,
        "--device",
        "cpu",
        "--default_dtype",
        "float32",
        "--batch_size",
        "20",
        "--info_prefix",
        "PRED_",
    ]
    if with_stress:
        cmd.append("--compute_stress")
    subprocess.run(cmd, check=True)
    pred = ase.io.read(out, ":")
    e = [a.info["PRED_energy"] for a in pred]
    f = [a.arrays["PRED_forces"] for a in pred]
    s = (
        [
            np.reshape(a.info["PRED_stress"], (3, 3))
            if np.size(a.info["PRED_stress"]) == 9
            else _voigt_to_3x3(a.info["PRED_stress"])
            for a in pred
        ]
        if with_stress
        else None
    )
    module = torch.load(model_file, map_location="cpu", weights_only=False)
    return e, f, s, module


def predictions_by_nequip_batches(model_file, frames, with_stress, batch_size=20):
    """NequIP's eager model on batches of configurations, prepared by its own ASE calculator's
    transforms (neighbour list, type mapping) and joined by ``AtomicDataDict.batched_from_list``:
    the calculator alone takes one configuration at a time."""
    import torch
    from nequip.data import AtomicDataDict

    calc, module = calculator("nequip", model_file)
    e, f, s = [], [], []
    for start in range(0, len(frames), batch_size):
        chunk = frames[start : start + batch_size]
        for a in chunk:
            a.calc = None
        batch = AtomicDataDict.batched_from_list([calc.atoms_to_data(a) for a in chunk])
        out = calc.call_model(batch)
        energy = out[AtomicDataDict.TOTAL_ENERGY_KEY].detach().reshape(-1).double().numpy()
        forces = out[AtomicDataDict.FORCE_KEY].detach().double().numpy()
        bounds = np.cumsum([0] + [len(a) for a in chunk])
        e += list(energy)
        f += [forces[bounds[i] : bounds[i + 1]] for i in range(len(chunk))]
        if with_stress:
            stress = out[AtomicDataDict.STRESS_KEY].detach().double().numpy().reshape(-1, 3, 3)
            s += list(stress)
        del out, batch
        torch.set_grad_enabled(True)
    return e, f, (s if with_stress else None), module


def _voigt_to_3x3(v):
    from ase.stress import voigt_6_to_full_3x3_stress

    return voigt_6_to_full_3x3_stress(np.asarray(v))


def main(argv):
    kind, model_file, test, out = argv[:4]
    with_stress = "--stress" in argv[4:]
    import ase.io

    frames = ase.io.read(test, ":")
    with_stress = with_stress and all("REF_stress" in a.info for a in frames)
    t0 = time.perf_counter()
    if kind == "mace":
        e, f, s, module = predictions_by_mace_eval(model_file, test, with_stress)
    elif kind == "nequip":
        e, f, s, module = predictions_by_nequip_batches(
            model_file, [a.copy() for a in frames], with_stress
        )
    else:
        e, f, s, module = predictions_by_calculator(kind, model_file, frames, with_stress)
    seconds = time.perf_counter() - t0
    e_ref = [a.info["REF_energy"] for a in frames]
    n = [len(a) for a in frames]
    summary = {
        "energy": stats(e, e_ref),
        "energy_per_atom": stats([x / k for x, k in zip(e, n)], [x / k for x, k in zip(e_ref, n)]),
        "forces": stats(f, [a.arrays["REF_forces"] for a in frames]),
    }
    if s:
        summary["stress"] = stats(s, [np.reshape(a.info["REF_stress"], (3, 3)) for a in frames])
    params = int(sum(p.numel() for p in module.parameters())) if module is not None else None
    result = {
        "model": model_file,
        "data": test,
        "n_configs": len(frames),
        "params": params,
        "eval_s": seconds,
        "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"},
        **summary,
    }
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
