#!/usr/bin/env bash
# The Stillinger-Weber silicon example end to end (README.md): reference data from LAMMPS,
# training (<= 10 min on 2 CPU cores), export, test-set errors and parity plot, LAMMPS MD.
# train.xyz and test.xyz are generated only when missing; the rest goes into runs/si-sw/, which
# `./run.sh --force` moves aside (runs/si-sw/previous-<time>/) rather than overwrites.
#   ./run.sh                                   # the recipe; arguments go to `nbody-lmp train`
#   CONFIGS=12 TEST_CONFIGS=4 STEPS=20 ./run.sh --set training.max_epochs=1   # a smoke test
set -euo pipefail
cd "$(dirname "$0")"
[ -f train.xyz ] || nbody-lmp generate sw-si -o train.xyz --configs "${CONFIGS:-300}" --seed 1
[ -f test.xyz ]  || nbody-lmp generate sw-si -o test.xyz  --configs "${TEST_CONFIGS:-100}" --seed 2
nbody-lmp train config.yaml "$@"                     # writes runs/si-sw/ (model.pt at the end)
nbody-lmp evaluate runs/si-sw/model.pt test.xyz --plot runs/si-sw/parity_test.png --json runs/si-sw/test_metrics.json
lmp -in in.lammps -var steps "${STEPS:-1000}" -var dump runs/si-sw/traj.dump -log runs/si-sw/log.lammps
