"""Runs inside a peer's own virtual environment (benchmarks/accuracy.py; issue 10: "evaluates on
the same test file"): energy, energy-per-atom, force and stress MAE/RMSE of a peer's model on a
test file written by peer_data.py (keys REF_energy, REF_forces, REF_stress), in eV units and in
the layout of ``nbody-lmp evaluate --json``, plus the model's parameter count.

    python evaluate.py mace  MODEL_FILE TEST.xyz OUT.json [--stress]
    python evaluate.py nequip MODEL_FILE TEST.xyz OUT.json [--stress]

Imports only the peer, ASE, numpy and torch.
"""
import json
import sys
import time

import numpy as np


def calculator(kind, model_file):
    """(ASE calculator, torch module) of a peer's trained model, on the CPU."""
    if kind == "mace":
        from mace.calculators import MACECalculator
        calc = MACECalculator(model_paths=model_file, device="cpu", default_dtype="float64")
        return calc, calc.models[0]
    if kind == "nequip":
        from nequip.ase import NequIPCalculator
        calc = NequIPCalculator._from_saved_model(model_file, device="cpu")   # eager checkpoint: no compile
        return calc, getattr(calc, "model", None)
    raise SystemExit(f"unknown peer {kind!r}: mace or nequip")


def stats(pred, ref):
    err = np.concatenate([np.ravel(p) - np.ravel(r) for p, r in zip(pred, ref)])
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())), "n": int(err.size)}


def main(argv):
    kind, model_file, test, out = argv[:4]
    with_stress = "--stress" in argv[4:]
    import ase.io

    calc, module = calculator(kind, model_file)
    frames = ase.io.read(test, ":")
    e, e_ref, epa, epa_ref, f, f_ref, s, s_ref = [], [], [], [], [], [], [], []
    t0 = time.perf_counter()
    for atoms in frames:
        ref_e, ref_f = atoms.info["REF_energy"], atoms.arrays["REF_forces"]
        a = atoms.copy()
        a.calc = calc
        e.append(a.get_potential_energy())
        e_ref.append(ref_e)
        epa.append(e[-1] / len(a))
        epa_ref.append(ref_e / len(a))
        f.append(a.get_forces())
        f_ref.append(ref_f)
        if with_stress and "REF_stress" in atoms.info:
            s.append(a.get_stress(voigt=False))
            s_ref.append(np.asarray(atoms.info["REF_stress"]).reshape(3, 3))
    seconds = time.perf_counter() - t0
    summary = {"energy": stats(e, e_ref), "energy_per_atom": stats(epa, epa_ref), "forces": stats(f, f_ref)}
    if s:
        summary["stress"] = stats(s, s_ref)
    params = int(sum(p.numel() for p in module.parameters())) if module is not None else None
    result = {"model": model_file, "data": test, "n_configs": len(frames), "params": params,
              "eval_s": seconds, "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å³"}, **summary}
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
