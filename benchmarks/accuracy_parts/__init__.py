"""The pieces of :mod:`benchmarks.accuracy` (accuracy per cost on public benchmarks, side by side
with MACE and NequIP) and :mod:`benchmarks.ablation`, one concept a module:

* :mod:`recipes`: a recipe (training config, train and test files, published numbers) and its
  YAML file; the built-in ones are benchmarks/recipes/*.yaml;
* :mod:`own_data`: a recipe from ``--train/--test/--config`` on the command line;
* :mod:`table`: the one table (test errors, published figures, training time, size, MD speed);
* :mod:`ours`: training an nbody recipe within a budget, or reusing its finished run;
* :mod:`throughput`: LAMMPS MD throughput of a model beside ``pair_style sw`` in the same run;
* :mod:`peer_data`, :mod:`peer_venv`, :mod:`mace_peer`, :mod:`nequip_peer`: the peers, each in
  a virtual environment of its own, trained on the same file for the same wall-clock budget;
* :mod:`plot`: test force error against MD throughput (or training time), one point per model.

``in_peer/`` holds the scripts that run *inside* a peer's environment (they import only the
peer, ASE and numpy).
"""
