"""Hyperparameter search with Optuna, the learning-rate range test, and run comparison.

- :mod:`.space` — search spaces over any config key (YAML), Optuna suggestions, grids;
- :mod:`.study` — the study folder, storage (journal file or a database), samplers, pruners and the
  exact trial budget;
- :mod:`.workers` — worker processes running queued trials as ordinary deepzoo runs with pruning,
  and the recovery of trials whose worker died;
- :mod:`.results` — the trials table, ``best.yaml`` and plots;
- :mod:`.lr_find` — Smith's learning-rate range test;
- :mod:`.compare` — several runs side by side;
- :mod:`.seeds` — one command over several seeds, its metrics averaged.
"""

# The choices of ``deepzoo tune``, here so that building the CLI's parser does not import Optuna.
SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "asha", "hyperband", "none")
