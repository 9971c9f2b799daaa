"""The Python API: the same verbs as the CLI.

>>> from deepzoo import api
>>> run = api.train(model="cnn", data="digits", epochs=5)
>>> run.metrics["test/accuracy"]

The verbs are built in :mod:`deepzoo.run.training` (the layer that builds runs); this module names them
for users, beside the model and dataset registries.
"""

from __future__ import annotations

from .data import load_dataset
from .models import create_model
from .run.training import (
    RESUMABLE,
    build_config,
    build_recipe,
    evaluate,
    load_judge,
    load_run,
    predict,
    prepare_judge,
    pretrained_run,
    resume_command,
    train,
)

__all__ = ["RESUMABLE", "build_config", "build_recipe", "create_model", "evaluate", "load_dataset", "load_judge",
           "load_run", "predict", "prepare_judge", "pretrained_run", "resume_command", "train"]
