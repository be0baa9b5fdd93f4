#!/usr/bin/env bash
# 3BPA (train 300 K, test hotter) end to end (README.md): training (config.yaml: 30 min on 2 CPU cores), export, test-set errors.
#   ./run.sh                                               # the recipe; arguments go to `nbody-lmp train`
#   RUN_DIR=runs/smoke ./run.sh --set training.max_epochs=1  # a smoke test in another folder
#   CONFIG=config-long.yaml ./run.sh                       # the longer recipe (12 h), in runs/3bpa-long
# An existing run folder is not overwritten: pass --resume to continue it or --force to start over.
set -euo pipefail
cd "$(dirname "$0")"
CONFIG="${CONFIG:-config.yaml}"
stem="$(basename "$CONFIG" .yaml)"
RUN_DIR="${RUN_DIR:-runs/3bpa${stem#config}}"
nbody-lmp train "$CONFIG" --set "output.run_dir=$RUN_DIR" "$@"     # writes $RUN_DIR/ (model.pt at the end)
nbody-lmp evaluate "$RUN_DIR/model.pt" data/derived_mixedT_not_in_train_300K.xyz.xz --plot "$RUN_DIR/parity_test.png" --json "$RUN_DIR/test_metrics.json"
