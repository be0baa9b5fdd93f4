"""The main job, ``nbody-lmp demo`` (``make demo``): Stillinger–Weber Si reference data -> a
trained 2-level N-body network -> exported model -> LAMMPS MD with ``pair_style nbody`` beside
``pair_style sw`` on the same box -> ``demo/report.md`` with plots. The training recipe is
examples/si-sw's (its README); the LAMMPS side is docs/lammps.md.

Every step writes into the work folder and is skipped when its output is already there, so a
re-run reuses what was built and trained. ``--force`` redoes everything, after moving the
earlier results into ``<workdir>/previous-<time>/`` (nothing is deleted).
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

from .analysis import angle_distribution, energy_drift, overlap, rdf, read_dump
from .lammps_run import parse_log, parse_throughput, run_lammps, si_md_input

# the demo's recipe is the si-sw example's
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "si-sw" / "config.yaml"


def _log(msg: str) -> None:
    print(f"[demo {datetime.datetime.now():%H:%M:%S}] {msg}", flush=True)


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "nbody_lmp.cli", *args]
    _log("$ nbody-lmp " + " ".join(args))
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise SystemExit(
            f"demo: `nbody-lmp {' '.join(args)}` failed (exit {proc.returncode}); "
            "see the messages above"
        )


def _archive(work: Path) -> None:
    items = (
        [p for p in work.iterdir() if not p.name.startswith("previous-")] if work.exists() else []
    )
    if not items:
        return
    dest = work / f"previous-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    dest.mkdir()
    for p in items:
        shutil.move(str(p), dest / p.name)
    _log(f"--force: earlier results moved to {dest}")


def run_demo(
    workdir: str = "demo", force: bool = False, quick: bool = False, config: str | None = None
) -> Path:
    """Run (or resume) the demo in ``workdir``; ``quick`` shrinks every size for a smoke test."""
    work = Path(workdir).resolve()
    if force:
        _archive(work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = dict(train=300, test=50, reps=8, steps=500, nve=500, dump=25, ranks=(1, 2))
    if quick:
        sizes = dict(train=12, test=4, reps=2, steps=40, nve=40, dump=10, ranks=(1, 2))
    t_start = time.time()
    timings: Dict[str, float] = {}

    # 1. reference data
    data = work / "data"
    data.mkdir(exist_ok=True)
    train, test = data / "train.xyz", data / "test.xyz"
    t0 = time.time()
    if not train.exists():
        _cli("generate", "sw-si", "-o", str(train), "--configs", str(sizes["train"]), "--seed", "1")
    if not test.exists():
        _cli("generate", "sw-si", "-o", str(test), "--configs", str(sizes["test"]), "--seed", "2")
    timings["data"] = time.time() - t0

    # 2. training
    run_dir = work / "run"
    t0 = time.time()
    if not (run_dir / "best.pt").exists() and not (run_dir / "checkpoints" / "best.pt").exists():
        cfg = _demo_config(work, train, run_dir, quick, config)
        _cli("train", str(cfg))
    timings["train"] = time.time() - t0

    # 3. export
    model = work / "model.pt"
    if not model.exists():
        _cli(
            "export", str(run_dir), "-o", str(model), "--dtype", "float32", "--radial-table", "2048"
        )

    # 4. test-set errors and parity plots
    t0 = time.time()
    metrics_file = work / "test_metrics.json"
    if not metrics_file.exists():
        _cli(
            "evaluate",
            str(model),
            str(test),
            "--json",
            str(metrics_file),
            "--plot",
            str(work / "parity_test.png"),
        )
    metrics = json.loads(metrics_file.read_text())
    timings["evaluate"] = time.time() - t0

    # 5. MD: nbody and sw on the same box, 1 and 2 ranks
    t0 = time.time()
    md = _run_md(work, model, sizes)
    timings["md"] = time.time() - t0

    # 6. report
    report = write_report(work, metrics, md, sizes, timings, time.time() - t_start)
    _log(f"report: {report}")
    return report


def _run_md(work: Path, model: Path, sizes: dict) -> Dict[str, dict]:
    """Step 5: the same box under pair_style sw and pair_style nbody, on 1 and 2 ranks (runs
    that finished earlier are reused)."""
    md: Dict[str, object] = {}
    for style in ("sw", "nbody"):
        for ranks in sizes["ranks"]:
            folder = work / "md" / f"{style}-{ranks}rank"
            done = folder / "log.lammps"
            dump = sizes["dump"] if ranks == 1 else 0
            text = si_md_input(
                style, sizes["reps"], sizes["steps"], 600.0, model=str(model), dump_every=dump
            )
            if not (done.exists() and "Total wall time" in done.read_text()):
                _log(
                    f"LAMMPS: pair_style {style}, {8 * sizes['reps'] ** 3} atoms, {ranks} rank(s), "
                    f"{sizes['steps']} steps"
                )
                run_lammps(
                    folder,
                    text,
                    ranks=ranks,
                    steps=sizes["steps"],
                    label=f"{style}, {ranks} rank(s)",
                )
            log = done.read_text()
            md[f"{style}-{ranks}"] = dict(
                thermo=parse_log(log), rate=parse_throughput(log), folder=folder
            )
    return md


def _demo_config(work: Path, train: Path, run_dir: Path, quick: bool, config: str | None) -> Path:
    import yaml

    src = Path(config) if config else DEFAULT_CONFIG
    if not src.is_file():
        raise SystemExit(
            f"demo: training config {src} not found: run the demo from a checkout of nbody-lmp "
            "(it uses examples/si-sw/config.yaml) or pass --config your.yaml"
        )
    cfg = yaml.safe_load(src.read_text())
    cfg.setdefault("data", {})["train"] = str(train)
    cfg["output"] = {**cfg.get("output", {}), "run_dir": str(run_dir)}
    if quick:
        cfg.setdefault("training", {})["max_epochs"] = 2
        cfg["training"]["time_limit_minutes"] = 1
    dest = work / "config.yaml"
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def _structure_figure(work: Path, md: Dict[str, dict]):
    """structure.png (g(r) and bond angles of both MD runs); returns the overlaps of nbody's
    distributions with sw's."""
    import matplotlib.pyplot as plt

    frames = {s: read_dump(md[f"{s}-1"]["folder"] / "traj.dump")[1:] for s in ("sw", "nbody")}
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    res = {}
    for s, ls in (("sw", "-"), ("nbody", "--")):
        r, g = rdf(frames[s])
        th, p = angle_distribution(frames[s])
        ax[0].plot(r, g, ls, label=f"pair_style {s}")
        ax[1].plot(th, p, ls, label=f"pair_style {s}")
        res[s] = (r, g, th, p)
    ax[0].set_xlabel("r (Å)")
    ax[0].set_ylabel("g(r)")
    ax[0].legend()
    ax[1].set_xlabel("bond angle (degrees, neighbours within 2.8 Å)")
    ax[1].set_ylabel("density")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(work / "structure.png", dpi=120)
    plt.close(fig)
    rdf_overlap = overlap(res["nbody"][1], res["sw"][1], res["sw"][0])
    adf_overlap = overlap(res["nbody"][3], res["sw"][3], res["sw"][2])
    return rdf_overlap, adf_overlap


def _energy_figure(work: Path, md: Dict[str, dict], n: int) -> Dict[str, float]:
    """nve_energy.png (total energy against time, both runs); returns each run's drift."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    drifts = {}
    for s in ("sw", "nbody"):
        th = md[f"{s}-1"]["thermo"]
        drifts[s] = energy_drift(th["Step"], th["TotEng"], n, 0.001)
        ax.plot(
            th["Step"] * 0.001, (th["TotEng"] - th["TotEng"][0]) / n * 1000, label=f"pair_style {s}"
        )
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("E_total - E_total(0) (meV/atom)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(work / "nve_energy.png", dpi=120)
    plt.close(fig)
    return drifts


def write_report(
    work: Path,
    metrics: dict,
    md: Dict[str, dict],
    sizes: dict,
    timings: Dict[str, float],
    total: float,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    n = 8 * sizes["reps"] ** 3
    rdf_overlap, adf_overlap = _structure_figure(work, md)
    drifts = _energy_figure(work, md, n)
    lines = _accuracy_lines(work, metrics, sizes, timings, total)
    lines += _md_lines(md, sizes, n, drifts, rdf_overlap, adf_overlap)
    out = work / "report.md"
    out.write_text("\n".join(lines))
    return out


def _accuracy_lines(
    work: Path, metrics: dict, sizes: dict, timings: Dict[str, float], total: float
):
    lines = [
        "# nbody-lmp demo report",
        "",
        f"Generated {datetime.datetime.now():%Y-%m-%d %H:%M}, total wall time {total / 60:.1f} min "
        f"(data {timings.get('data', 0) / 60:.1f}, training {timings.get('train', 0) / 60:.1f}, "
        f"MD {timings.get('md', 0) / 60:.1f} min; steps already done were reused).",
        "",
        "Stillinger–Weber silicon (LAMMPS's `Si.sw`) is the reference: "
        f"the N-body network was trained on {sizes['train']} SW configurations and is tested on "
        f"{sizes['test']} configurations generated with another seed.",
        "",
        "## Accuracy on the test set",
        "",
        "| quantity | MAE | RMSE | reference spread (std) | RMSE / std |",
        "|---|---|---|---|---|",
    ]
    for key, unit in (("energy_per_atom", "meV/atom"), ("forces", "meV/Å")):
        m = metrics.get(key, {})
        if m:
            lines.append(
                f"| {key.replace('_', ' ')} ({unit}) | {1000 * m['mae']:.2f} | "
                f"{1000 * m['rmse']:.2f} | {1000 * m.get('std', float('nan')):.2f} | "
                f"{m['rmse'] / m['std'] if m.get('std') else float('nan'):.3f} |"
            )
    lines += ["", "![parity](parity_test.png)", ""]
    # absent when the config says output.plots: false
    if (work / "run" / "learning_curves.png").is_file():
        lines += [
            "Training, against the validation configurations held out of the training file:",
            "",
            "![learning curves](run/learning_curves.png)",
            "",
        ]
    return lines


def _md_lines(md, sizes, n, drifts, rdf_overlap, adf_overlap):
    rate = {k: v["rate"] for k, v in md.items()}
    lines = [
        f"## MD: {n} atoms, diamond Si, NVE from 2×600 K velocities, "
        f"{sizes['steps']} steps of 1 fs",
        "",
        "| | pair_style sw | pair_style nbody | ratio nbody/sw |",
        "|---|---|---|---|",
    ]
    for ranks in sizes["ranks"]:
        a, b = rate.get(f"sw-{ranks}", float("nan")), rate.get(f"nbody-{ranks}", float("nan"))
        lines.append(
            f"| atom-steps/s, {ranks} rank(s) | {a:,.0f} | {b:,.0f} | {b / a:.4f} (1/{a / b:.0f}) |"
        )
    r1, r2 = sizes["ranks"][0], sizes["ranks"][-1]
    for s in ("sw", "nbody"):
        lines.append(
            f"| speed-up {r2} ranks / {r1} rank, {s} | | | "
            f"{rate[f'{s}-{r2}'] / rate[f'{s}-{r1}']:.2f} |"
        )
    lines += [
        f"| NVE energy drift (meV/atom/ps) | {drifts['sw']:.4f} | {drifts['nbody']:.4f} | |",
        f"| mean temperature (K) | {md['sw-1']['thermo']['Temp'].mean():.0f} | "
        f"{md['nbody-1']['thermo']['Temp'].mean():.0f} | |",
        f"| mean pressure (bar) | {md['sw-1']['thermo']['Press'].mean():.0f} | "
        f"{md['nbody-1']['thermo']['Press'].mean():.0f} | |",
        f"| g(r) overlap with sw (1 = identical) | | {rdf_overlap:.3f} | |",
        f"| bond-angle distribution overlap with sw | | {adf_overlap:.3f} | |",
        "",
        "![structure](structure.png)",
        "",
        "![nve](nve_energy.png)",
        "",
    ]
    return lines
