#!/usr/bin/env bash
# Silicon from DFT (mlearn, VASP PBE) end to end (README.md): training (<= 10 min on 2 CPU cores),
# export, test-set errors side by side with the SNAP fits of the same paper, then LAMMPS.
#   ./run.sh                                   # the recipe; arguments go to `nbody-lmp train`
#   STEPS=20 ./run.sh --set training.max_epochs=1                            # a smoke test
set -euo pipefail
cd "$(dirname "$0")"
nbody-lmp train config.yaml "$@"                     # writes runs/si-dft/ (model.pt at the end)
nbody-lmp evaluate runs/si-dft/model.pt data/si_test.xyz --stress-key virial_kbar_raw --stress-format vasp_kbar \
    --plot runs/si-dft/parity_test.png --json runs/si-dft/test_metrics.json
python ../../benchmarks/mlearn_accuracy.py runs/si-dft/model.pt data/si_test.xyz --element Si \
    --json runs/si-dft/vs_snap.json
lmp -in in.lammps -var steps "${STEPS:-1000}" -log runs/si-dft/log.lammps   # lattice constant, then MD at 1000 K
