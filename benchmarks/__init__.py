"""Measurements of nbody-lmp, not tests: each module is a command that prints (and usually writes)
numbers and asserts nothing. Run them from the repository root as modules of this package:

    python -m benchmarks.lammps_speed --sizes 4 --ranks 1

* :mod:`.lammps_speed` — pair_style nbody against pair_style sw in LAMMPS: throughput, scaling,
  memory, where a step goes, the cost of an ensemble (docs/lammps.md, "Performance notes");
* :mod:`.gpu_speed` — ``device cuda`` checked against ``device cpu``, then timed
  (docs/lammps.md, "Devices, threads and MPI");
* :mod:`.model_speed` — the network's energy and forces in Python, variant against variant;
* :mod:`.nve_stability`, :mod:`.molecule_stability`, :mod:`.close_pairs` — long MD, a molecule
  in vacuum, and atoms pushed together (docs/lammps.md, "Validation" and "Short-range
  repulsion and geometries far from the training data");
* :mod:`.mlearn_accuracy` — test errors beside the SNAP fits LAMMPS ships;
* :mod:`.accuracy`, :mod:`.ablation`, :mod:`.training_budget` — accuracy per training budget
  beside MACE and NequIP, one factor at a time, and against the budget (their pieces are in
  :mod:`.accuracy_parts`);
* :mod:`.train_profile` — where a training step's time goes;
* :mod:`.training_scale` — training on 10^3 to 10^5 configurations from the sharded graph store,
  1 against 2 processes (docs/training.md, "Large data sets").

They run LAMMPS through the library's runner (:mod:`nbody_lmp.workflows.lammps_run`) and compute
errors with its metrics (:mod:`nbody_lmp.training.metrics`). The ones that import nothing from
this package (lammps_speed, model_speed, nve_stability, molecule_stability, close_pairs,
mlearn_accuracy, train_profile) also run as files, ``python benchmarks/nve_stability.py``, as
the examples' ``run.sh`` scripts do.
"""
