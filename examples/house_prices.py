"""The course tutorial's regression problem with every output activation deepzoo offers.

Fits house price → size (12 points) from w = −0.01, b = 8 with Adam at lr 0.01, full batch, for 100
epochs, as the tutorial does (it reports MSE ≈ 0.13 for the linear output), once per output
activation, and prints a table of the final MSE and the fitted line. Run:
``python examples/house_prices.py``.
"""

from __future__ import annotations

import tempfile

from deepzoo import api

ACTIVATIONS = ("linear", "relu", "prelu", "bent_identity", "soft_exponential")
TUTORIAL = ["data.normalize=none", "data.standardize_targets=false", "model.weight_init=-0.01",
            "model.bias_init=8", "optim.lr=0.01", "train.batch_size=12", "early_stop.enabled=false",
            "train.progress=false", "train.tensorboard=false", "train.plots=false", "train.checkpoint=false"]


def fit(activation: str, runs_dir: str) -> dict:
    """Train the tutorial's line with one output activation; return its MSE and parameters."""
    run = api.train(model="linear", data="house-prices", epochs=100, runs_dir=runs_dir, echo=lambda *a: None,
                    overrides=TUTORIAL + [f"task_args.output_activation={activation}"])
    state = {k: v.flatten().tolist() for k, v in run.model.state_dict().items()}
    weight = next(v for k, v in state.items() if k.endswith("head.weight"))[0]
    bias = next(v for k, v in state.items() if k.endswith("head.bias"))[0]
    extra = {k.split(".")[-1]: v[0] for k, v in state.items() if k.startswith("activation.")}
    return {"mse": run.metrics["train/mse"], "w": weight, "b": bias, "extra": extra}


def main() -> None:
    with tempfile.TemporaryDirectory() as runs_dir:
        rows = {a: fit(a, runs_dir) for a in ACTIVATIONS}
    print("| output activation | final MSE | fitted w·price + b (before the activation) | activation parameter |")
    print("|---|---:|---|---|")
    for name, r in rows.items():
        extra = ", ".join(f"{k} = {v:.3f}" for k, v in r["extra"].items()) or "—"
        print(f"| {name} | {r['mse']:.4f} | size = {r['w']:.4f} · price + {r['b']:.3f} | {extra} |")


if __name__ == "__main__":
    main()
