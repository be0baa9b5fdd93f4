"""Training (README.md, "Quick start"; a commented configuration: ``examples/si-sw/config.yaml``):
the YAML configuration and its keys (:mod:`.config`), the loss (:mod:`.losses`), error metrics
(:mod:`.metrics`), EMA of the weights (:mod:`.ema`), checkpoints and exporting from them
(:mod:`.checkpoint`), the training loop (:mod:`.trainer`), ensembles of models (:mod:`.ensemble`;
README.md, "Ensembles: is the MD still where the model was trained?") and plots (:mod:`.plots`).

    from nbody_lmp.training import load_config, Trainer
    result = Trainer(load_config("config.yaml")).run()      # CLI: nbody-lmp train config.yaml
"""

from .checkpoint import (
    export_checkpoint,
    find_checkpoint,
    load_any_model,
    load_checkpoint,
    model_from_checkpoint,
)
from .config import ConfigError, TrainConfig, config_from_dict, load_config, valid_keys
from .ensemble import EnsembleResult, EnsembleTrainer, export_ensemble, is_ensemble_dir
from .losses import WeightedLoss
from .metrics import MetricsAccumulator, format_table
from .trainer import Trainer, TrainResult, evaluate_model

__all__ = [
    "ConfigError",
    "TrainConfig",
    "config_from_dict",
    "load_config",
    "valid_keys",
    "WeightedLoss",
    "MetricsAccumulator",
    "format_table",
    "Trainer",
    "TrainResult",
    "evaluate_model",
    "export_checkpoint",
    "find_checkpoint",
    "load_any_model",
    "load_checkpoint",
    "model_from_checkpoint",
    "EnsembleTrainer",
    "EnsembleResult",
    "export_ensemble",
    "is_ensemble_dir",
]
