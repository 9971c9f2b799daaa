"""deepzoo: train, evaluate and visualise the model families of a deep-learning course."""

import warnings

# PyTorch Geometric 2.x scripts a few helpers with torch.jit.script at import time, which torch ≥ 2.10
# answers with a FutureWarning on every run; nothing here can change that, so that one message, raised
# by torch.jit, is silenced (any other warning still shows). It is set here, where every deepzoo import
# passes, because both the graph datasets (data/) and the graph networks (models/gnn.py) import PyG.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning,
                        module=r"torch\.jit\._script")
