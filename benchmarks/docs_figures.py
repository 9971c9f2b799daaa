"""The measured figures of the docs pages, each group rerun by the commands the page documents.

Issue 17 §2: every number in the docs comes from a named script that prints it. Each sub-command runs
one page's documented ``deepzoo train`` commands through :func:`deepzoo.api.train` (the CLI's own
code path; the same seeds and settings as the page) and prints the page's table:

    python benchmarks/docs_figures.py mnist1d-seeds      # docs/supervised.md, MNIST-1D (CNN, MLP)
    python benchmarks/docs_figures.py ssl-tables         # docs/ssl.md, Results (10 runs)
    python benchmarks/docs_figures.py gan-digits         # docs/gans.md, Results (digits, ring)
    python benchmarks/docs_figures.py zoo-5-epochs       # docs/zoo/*.md, "Train it"
    python benchmarks/docs_figures.py autoencoder-uses   # docs/autoencoder_uses.md
    python benchmarks/docs_figures.py transfer-learning  # docs/transfer_learning.md (and its curves' PNG)
    python benchmarks/docs_figures.py segmentation       # docs/segmentation.md (and its overlays' PNG)
    python benchmarks/docs_figures.py segmentation-gan   # docs/segmentation.md, the segmentation GAN (3 seeds, PNG)
    python benchmarks/docs_figures.py conditional-gans   # docs/image_to_image.md, Conditional GANs (and PNGs)
    python benchmarks/docs_figures.py pix2pix            # docs/image_to_image.md, pix2pix and next-frame (PNGs)
    python benchmarks/docs_figures.py cyclegan           # docs/image_to_image.md, CycleGAN (PNGs)
    python benchmarks/docs_figures.py report             # docs/inspect.md, The HTML report (its screenshot)
    python benchmarks/docs_figures.py error-analysis     # docs/inspect.md, Error analysis (its pictures)
    python benchmarks/docs_figures.py attribution        # docs/inspect.md, Attribution maps (PNGs, sanity numbers)
    python benchmarks/docs_figures.py export             # docs/inspect.md, Export (the verification table)
    python benchmarks/docs_figures.py NAME --quick       # a reduced run that only checks the script works

Options: ``--runs-dir`` (default ``runs/docs-figures``; every group writes its runs to
``<runs-dir>/<group>/``), ``--overwrite`` (replace the runs of an earlier call), ``--threads`` (torch
threads; default: what the page states, one for SSL and the zoo, the machine's default otherwise).
Each group also writes ``<runs-dir>/<group>.json`` with every number it printed. Wall times are those
of ``api.train`` (data, training, evaluation, plots) on whatever machine runs the script; the pages
state the machine. ``--quick`` shrinks epochs and seeds: its numbers are not the pages' figures.

Baselines are those the runs compute themselves (PCA and raw-pixel kNN, random-init encoders,
label-frequency and real-vs-real floors); the one external baseline, the MNIST-1D paper's batch of
100 in a plain PyTorch loop, runs here beside the deepzoo commands, reusing the plain loop and the
splits of ``benchmarks/supervised_time_to_accuracy.py``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepzoo import api
from deepzoo.tune.seeds import seed_study

sys.path.insert(0, str(Path(__file__).resolve().parent))
import supervised_time_to_accuracy as tta  # noqa: E402  (the sibling benchmark's splits and loops)

QUIET = ["train.progress=false"]  # the documented commands otherwise as written (plots, checkpoints on)


# -- shared helpers ------------------------------------------------------------------------------------
@dataclasses.dataclass
class Ctx:
    """Where a group writes its runs and how much of it to run."""
    runs_dir: Path
    overwrite: bool
    quick: bool
    results: dict[str, Any] = dataclasses.field(default_factory=dict)


def command(model: str, data: str, task: str | None, epochs: int | None, overrides: list[str],
            seed: int = 0) -> str:
    """The ``deepzoo train`` command line a run corresponds to."""
    parts = [f"deepzoo train --model {model} --data {data!r}" if "?" in data or "&" in data
             else f"deepzoo train --model {model} --data {data}"]
    if task:
        parts.append(f"--task {task}")
    if epochs is not None:
        parts.append(f"--epochs {epochs}")
    parts += [f"--set {o}" for o in overrides]
    if seed:
        parts.append(f"--seed {seed}")
    return " ".join(parts)


def train(ctx: Ctx, name: str, model: str, data: str, task: str | None = None, epochs: int | None = None,
          overrides: list[str] | None = None, seed: int = 0) -> tuple[Any, float]:
    """One documented command through ``api.train``; returns the run and its wall time in seconds."""
    overrides = list(overrides or [])
    print(f"  {command(model, data, task, epochs, overrides, seed)}", flush=True)
    started = time.perf_counter()
    run = api.train(model, data, task, epochs=epochs, seed=seed, name=name, runs_dir=str(ctx.runs_dir),
                    overrides=QUIET + overrides, overwrite=ctx.overwrite, echo=lambda *a, **k: None)
    return run, time.perf_counter() - started


def epoch_rows(run) -> list[dict[str, float]]:
    """``metrics.csv`` of a run, one dict of floats per epoch."""
    with open(Path(run.dir) / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def at_epochs(rows: list[dict[str, float]], key: str, epochs: list[int]) -> dict[int, float]:
    """``key`` at the given epochs (those the run reached)."""
    by_epoch = {int(r["epoch"]): r[key] for r in rows if key in r}
    return {e: by_epoch[e] for e in epochs if e in by_epoch}


def machine() -> str:
    """One line naming the machine, torch and the load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs "
            f"({platform.processor() or platform.machine()}), load average {load:.2f}")


# -- docs/supervised.md: MNIST-1D --------------------------------------------------------------------------
MNIST1D_CNN = ["data.valid_fraction=0", "early_stop.enabled=false", "optim.lr=0.01", "train.batch_size=50"]
MNIST1D_VALID = ["optim.lr=0.01", "train.batch_size=50", "early_stop.patience=30"]


def plain_paper_batch(seed: int, steps: int = 6000, check_every: int = 250, batch: int = 100,
                      lr: float = 1e-2) -> dict[str, float]:
    """The MNIST-1D paper's schedule in a plain PyTorch loop: ``mnist1d_cnn`` on the 4000 training
    items, Adam at ``lr``, batch ``batch``, ``steps`` updates, the test accuracy checked every
    ``check_every`` steps; returns the best check and the final one."""
    from torch.utils.data import DataLoader, TensorDataset

    p = tta.PROBLEMS["mnist1d-cnn"]
    bundle = tta.load_splits(p, seed)  # the 4000 items; "valid" is the test split
    torch.manual_seed(seed)
    kwargs = tta.accepted_kwargs(p.model, tta.data_kwargs(bundle.meta))
    model = tta.create_model(p.model, **kwargs)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(bundle.train.x, bundle.train.y), batch_size=batch, shuffle=True)
    step, checks = 0, []
    while step < steps:
        for xb, yb in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
            step += 1
            if step % check_every == 0:
                checks.append(tta._accuracy(model, bundle.valid.x, bundle.valid.y, False))
            if step == steps:
                break
    return {"best": max(checks), "final": checks[-1], "best_step": check_every * (1 + int(np.argmax(checks)))}


def mnist1d_seeds(ctx: Ctx) -> None:
    """docs/supervised.md, "MNIST-1D: the paper's CNN and MLP": the table and the MLP sentence."""
    seeds10, seeds3 = (2, 1) if ctx.quick else (10, 3)
    epochs = 3 if ctx.quick else 75
    out = ctx.results

    print(f"final weights of the documented command, seeds 0–{seeds10 - 1}:")
    final = seed_study("mnist1d_cnn", "mnist1d", None, seeds=seeds10, runs_dir=str(ctx.runs_dir),
                       name="cnn-final", overrides=QUIET + MNIST1D_CNN, overwrite=ctx.overwrite, epochs=epochs)
    accs = [m["test/accuracy"] for m in final["per_seed"]]
    out["final"] = {"command": command("mnist1d_cnn", "mnist1d", None, epochs, MNIST1D_CNN), "per_seed": accs,
                    "mean": statistics.mean(accs), "median": statistics.median(accs)}

    print("first epoch whose test accuracy reaches 0.94 (supervised_time_to_accuracy.py's deepzoo runner):")
    cnn = dataclasses.replace(tta.PROBLEMS["mnist1d-cnn"], max_epochs=epochs)
    reach = [tta.run_deepzoo(cnn, s) for s in range(seeds10)]
    hit = [r for r in reach if r.reached]
    out["reach"] = {"reached": len(hit), "seeds": seeds10, "epochs": [r.epochs if r.reached else None for r in reach],
                    "median_epoch": statistics.median(r.epochs for r in hit) if hit else None,
                    "median_seconds": statistics.median(r.seconds for r in hit) if hit else None}

    print(f"the paper's batch 100, 6000 steps, plain PyTorch loop, seeds 0–{seeds3 - 1}:")
    steps = dict(steps=120, check_every=40) if ctx.quick else {}
    plain = [plain_paper_batch(s, **steps) for s in range(seeds3)]
    out["plain_batch100"] = plain

    valid = {}
    for monitor in ("valid/accuracy", "valid/loss"):
        overrides = MNIST1D_VALID + [f"early_stop.monitor={monitor}"]
        print(f"validation split, early stopping on {monitor}, seeds 0–{seeds3 - 1}:")
        study = seed_study("mnist1d_cnn", "mnist1d", None, seeds=seeds3, runs_dir=str(ctx.runs_dir),
                           name=f"cnn-valid-{monitor.split('/')[1]}", overrides=QUIET + overrides,
                           overwrite=ctx.overwrite, epochs=epochs)
        valid[monitor] = {"command": command("mnist1d_cnn", "mnist1d", None, epochs, overrides),
                          "per_seed": [m["test/accuracy"] for m in study["per_seed"]]}
    out["valid"] = valid

    mlp = {}
    for wd in (1e-4, 0.0):
        print(f"MLP (100, 100), lr 1e-2, batch 100, weight decay {wd:g}, test accuracy after every epoch:")
        p = dataclasses.replace(tta.PROBLEMS["mnist1d-mlp"], weight_decay=wd, max_epochs=5 if ctx.quick else 200)
        runs = [tta.run_deepzoo(p, s) for s in range(seeds3)]
        hit = [r for r in runs if r.reached]
        mlp[wd] = {"reached": len(hit), "seeds": seeds3, "best_test": [r.best_test for r in runs],
                   "epochs": [r.epochs if r.reached else None for r in runs],
                   "median_epoch": statistics.median(r.epochs for r in hit) if hit else None}
    out["mlp"] = {str(k): v for k, v in mlp.items()}

    f3 = lambda xs: ", ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    print("\n| setting | test accuracy |\n|---|---|")
    print(f"| `{out['final']['command']}`: final weights, seeds 0–{seeds10 - 1} | **{f3(accs)}** "
          f"(mean {out['final']['mean']:.3f}, median {out['final']['median']:.3f}) |")
    r = out["reach"]
    reached = (f"reached on {r['reached']} of {seeds10} seeds, median epoch {r['median_epoch']:.0f} "
               f"({r['median_seconds']:.0f} s)" if r["median_epoch"] else f"reached on 0 of {seeds10} seeds")
    print(f"| the same, first epoch whose test accuracy reaches 0.94, seeds 0–{seeds10 - 1} | {reached} "
          f"(epochs {r['epochs']}) |")
    print(f"| the paper's batch 100, 6000 steps, plain loop: best of the checks every 250 steps | "
          f"{f3([x['best'] for x in plain])} (final {f3([x['final'] for x in plain])}) |")
    for monitor, v in valid.items():
        print(f"| validation split, `early_stop.monitor={monitor}`, patience 30, best weights restored | "
              f"{f3(v['per_seed'])} |")
    for wd, v in mlp.items():
        first = f"median epoch {v['median_epoch']:.0f}" if v["median_epoch"] else "—"
        print(f"| MLP (100, 100), weight decay {wd:g}: reaches 0.68 on {v['reached']}/{v['seeds']} seeds "
              f"({first}, epochs {v['epochs']}) | best {f3(v['best_test'])} |")


# -- docs/ssl.md: Results ------------------------------------------------------------------------------------
SSL_TASKS = [("simclr", 30), ("rotation", 30), ("jigsaw", 30), ("relpatch", 30), ("exemplar", 10)]
SSL_EVAL = ["linear_accuracy", "knn_accuracy", "finetune_1pct_accuracy", "finetune_10pct_accuracy",
            "finetune_100pct_accuracy"]
SSL_BASELINES = ["raw_linear_accuracy", "random_linear_accuracy", "random_knn_accuracy", "supervised_accuracy"]


def ssl_tables(ctx: Ctx) -> None:
    """docs/ssl.md, "Results": the five tasks on digits and on MNIST-1D, seed 0, one thread."""
    overrides = ["train.batch_size=128", "early_stop.enabled=false"]
    if ctx.quick:
        overrides += ["task_args.finetune_epochs=1", "task_args.supervised_epochs=1", "task_args.probe_steps=50"]
    for data in ("digits", "mnist1d"):
        rows = []
        for task, documented in SSL_TASKS:
            epochs = 1 if ctx.quick else documented
            run, wall = train(ctx, f"{task}-{data}", "cnn", data, task, epochs, overrides)
            m = run.metrics
            rows.append({"task": task, "epochs": epochs, "wall_s": wall,
                         **{k: m.get(f"test/{k}") for k in ["pretext_accuracy", *SSL_EVAL, *SSL_BASELINES]},
                         "valid/pretext_accuracy": m.get("valid/pretext_accuracy")})
        ctx.results[data] = rows
        pct = lambda v: "—" if v is None else f"{100 * v:.1f}"  # noqa: E731
        print(f"\n**{data}** baselines (test, per run): " + "; ".join(
            f"{r['task']}: pixels {pct(r['raw_linear_accuracy'])}, random {pct(r['random_linear_accuracy'])} linear / "
            f"{pct(r['random_knn_accuracy'])} kNN, supervised {pct(r['supervised_accuracy'])}" for r in rows))
        print("\n| task | epochs | pretext acc. | linear | kNN | fine-tune 1% | 10% | 100% | run time |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| `{r['task']}` | {r['epochs']} | {pct(r['pretext_accuracy'])} | "
                  + " | ".join(pct(r[k]) for k in SSL_EVAL) + f" | {r['wall_s']:.0f} s |")


# -- docs/gans.md: Results (CPU, short runs) ------------------------------------------------------------------
GAN_RUNS = [  # name, model, epochs, overrides, epochs at which the validation FCD is printed
    ("gan-digits", "gan", 100, [], [1, 10, 20, 40, 60, 100]),
    ("dcgan-digits", "dcgan", 100, [], [1, 10, 20, 40, 60, 100]),
    ("dcgan-digits-32", "dcgan", 60, ["model.image_size=32", "model.g_width=32", "model.d_width=32"],
     [1, 10, 20, 30, 40, 50, 60]),
]
RING_DEEP = ["model.hidden=[192,192,192]", "model.latent_dim=8", "task_args.preset=none", "optim.betas=[0.5,0.999]",
             "train.batch_size=128"]
RING_RUNS = [  # label, data, overrides
    ("3 hidden layers of 192, 8-d noise, lr 1e-3", "ring", RING_DEEP),
    ("the notes' `gan` (1 × 128, 100-d noise, lr 2e-4)", "ring", ["train.batch_size=128"]),
    ("3 × 192 on Metz et al.'s ring (`ring?std=0.004`, σ/r = 1/100)", "ring?std=0.004", RING_DEEP),
]


def gan_digits(ctx: Ctx, ring_seeds: int) -> None:
    """docs/gans.md, "Results": the three digits GANs (seed 0) and the ring table."""
    rows = []
    for name, model, epochs, overrides, marks in GAN_RUNS:
        epochs = 2 if ctx.quick else epochs
        run, wall = train(ctx, name, model, "digits", None, epochs, overrides)
        m, log = run.metrics, epoch_rows(run)
        rows.append({"name": name, "epochs": epochs, "steps": int(log[-1]["step"]), "wall_s": wall,
                     **{k: m[f"test/{k}"] for k in ("fcd", "classifier_score", "mode_coverage", "fcd_real_floor",
                                                     "classifier_score_real", "mode_coverage_real")},
                     "valid_fcd": at_epochs(log, "valid/fcd", marks),
                     "d_loss": {int(r["epoch"]): r["train/discriminator/loss"] for r in log}})
    ctx.results["digits"] = rows
    r0 = rows[0]
    print(f"\nTest split: real-vs-real FCD floor {r0['fcd_real_floor']:.2f}, classifier score of real digits "
          f"{r0['classifier_score_real']:.2f}, their mode coverage {r0['mode_coverage_real']:.1f}.\n")
    print("| run | epochs (steps) | test FCD | classifier score | mode coverage | wall time |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['epochs']} ({r['steps']:,}) | {r['fcd']:.2f} | {r['classifier_score']:.2f} | "
              f"{r['mode_coverage']:.1f} | {r['wall_s']:.0f} s |")
    for r in rows:
        fcd = ", ".join(f"{v:.3g} ({e})" for e, v in r["valid_fcd"].items())
        d = r["d_loss"]
        low = [e for e, v in d.items() if v < 0.05]
        print(f"{r['name']}: validation FCD (epoch) {fcd}; D loss at epochs 10/20/40/last: "
              + ", ".join(f"{d[e]:.3f}" for e in (10, 20, 40, max(d)) if e in d)
              + (f"; D loss below 0.05 at epochs {low}" if low else ""))

    ring = []
    for i, (label, data, overrides) in enumerate(RING_RUNS):
        run, wall = train(ctx, f"ring-{i}", "gan", data, None, 2 if ctx.quick else 40, overrides)
        m = run.metrics
        ring.append({"generator": label, "steps": int(epoch_rows(run)[-1]["step"]), "wall_s": wall,
                     **{k: m[f"test/{k}"] for k in ("modes_covered", "high_quality", "fcd", "fcd_real_floor",
                                                     "mode_coverage")}})
    ctx.results["ring"] = ring
    print("\n| generator | steps | modes covered | high-quality samples | FCD (floor) | classifier mode coverage |")
    print("|---|---|---|---|---|---|")
    for r in ring:
        print(f"| {r['generator']} | {r['steps']:,} | {r['modes_covered']:.0f} / 8 | {100 * r['high_quality']:.0f}% | "
              f"{r['fcd']:.2f} ({r['fcd_real_floor']:.2f}) | {r['mode_coverage']:.3f} |")

    for depth in (3, 2):
        if not ring_seeds:
            break
        overrides = [f"model.hidden=[{','.join(['192'] * depth)}]", *RING_DEEP[1:]]
        study = seed_study("gan", "ring", None, seeds=ring_seeds, runs_dir=str(ctx.runs_dir), name=f"ring-depth{depth}",
                           overrides=QUIET + overrides, overwrite=ctx.overwrite, epochs=2 if ctx.quick else 40)
        modes = [int(m["test/modes_covered"]) for m in study["per_seed"]]
        ctx.results[f"ring_depth{depth}_modes"] = modes
        print(f"{depth} hidden layers of 192, seeds 0–{ring_seeds - 1}: modes covered at the last epoch {modes}")


# -- docs/zoo/*.md: "Train it" -------------------------------------------------------------------------------
ZOO = [("alexnet", 5), ("googlenet", 5), ("mobilenet_v1", 5), ("resnet20", 5), ("resnet18", 5), ("vgg11_bn", 5),
       ("vit_tiny_patch2_8", 30)]


def zoo_5_epochs(ctx: Ctx, models: list[str]) -> None:
    """docs/zoo/*.md: one run of each page's first command on digits (seed 0, defaults, one thread)."""
    print("| model | command | epochs run | test accuracy "
          "| valid accuracy per epoch (first 0.82, epoch 23, last) | wall time |")
    print("|---|---|---|---|---|---|")
    for model, epochs in ZOO:
        if model not in models:
            continue
        epochs = 1 if ctx.quick else epochs
        run, wall = train(ctx, model, model, "digits", None, epochs)
        log = epoch_rows(run)
        valid = {int(r["epoch"]): r["valid/accuracy"] for r in log if "valid/accuracy" in r}
        first = next((e for e, v in valid.items() if v >= 0.82), None)
        row = {"model": model, "epochs_run": len(log), "best_epoch": run.summary.get("best_epoch"),
               "test_accuracy": run.metrics["test/accuracy"], "wall_s": wall, "fit_s": run.summary.get("seconds"),
               "valid_accuracy": valid}
        ctx.results[model] = row
        at23 = f"{valid[23]:.3f}" if 23 in valid else "—"
        print(f"| {model} | `{command(model, 'digits', None, epochs, [])}` | {len(log)} (best {row['best_epoch']}) | "
              f"{100 * row['test_accuracy']:.1f}% | first ≥ 0.82: {first}; epoch 23: {at23}; last "
              f"{valid[max(valid)]:.3f} | {wall:.0f} s |", flush=True)


# -- docs/autoencoder_uses.md -----------------------------------------------------------------------------------
def write_transactions(path: Path) -> None:
    """The page's synthetic ``tx.csv`` (1200 records, 36 planted frauds), by the page's own code."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(3, 8))
    normal = rng.normal(size=(1164, 3)) @ mixing + 0.05 * rng.normal(size=(1164, 8))
    fraud = rng.normal(size=(36, 8)) * normal.std(0)
    x, y = np.concatenate([normal, fraud]), np.r_[np.zeros(1164, int), np.ones(36, int)]
    order = rng.permutation(1200)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["amount", *(f"v{j}" for j in range(1, 8)), "fraud"])
        w.writerows([*(f"{v:.5f}" for v in x[i]), y[i]] for i in order)


def autoencoder_uses(ctx: Ctx, long_denoise: bool) -> None:
    """docs/autoencoder_uses.md: every command of the page, seed 0."""
    q = ctx.quick
    res = ctx.results
    run, wall = train(ctx, "vae-digits", "vae", "digits", "reconstruct", 2 if q else 50)
    res["vae"] = {k: v for k, v in run.metrics.items() if k.startswith("test/")} | {"wall_s": wall}
    print("vae test metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in res["vae"].items()))

    print("\n| code size | `test/knn_code_accuracy` | `test/knn_pca_accuracy` | `test/knn_raw_accuracy` | test MSE |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    res["embed"] = {}
    for size in (2, 8, 32):
        run, wall = train(ctx, f"embed-{size}", "ae", "digits", "embed", 2 if q else 50, [f"model.code_size={size}"])
        m = run.metrics
        res["embed"][size] = {k: m[f"test/{k}"] for k in ("knn_code_accuracy", "knn_pca_accuracy",
                                                            "knn_raw_accuracy", "mse")} | {"wall_s": wall}
        e = res["embed"][size]
        print(f"| {size} | {e['knn_code_accuracy']:.3f} | {e['knn_pca_accuracy']:.3f} | {e['knn_raw_accuracy']:.3f} "
              f"| {e['mse']:.4f} |", flush=True)

    keys = ("roc_auc", "average_precision", "precision", "recall", "f1")
    res["anomaly"] = {}
    for digit in range(2 if q else 10):
        run, wall = train(ctx, f"anomaly-{digit}", "ae", "digits", "anomaly", 2 if q else 30,
                          [f"task_args.anomaly_class={digit}"])
        res["anomaly"][digit] = {k: run.metrics[f"test/{k}"] for k in keys} | {"wall_s": wall}
    run, wall = train(ctx, "anomaly-0-f1", "ae", "digits", "anomaly", 2 if q else 30, ["task_args.threshold=f1"])
    res["anomaly_f1"] = {k: run.metrics[f"test/{k}"] for k in keys}
    from deepzoo.data import load_dataset

    digits = load_dataset("digits", seed=0)
    zeros = {s: int((getattr(digits, s).y == 0).sum()) for s in ("valid", "test")}
    res["zeros"] = zeros
    a = res["anomaly"]
    print("\n| held-out digit | " + " | ".join(str(d) for d in a) + " |\n| --- |" + " --: |" * len(a))
    print("| ROC-AUC | " + " | ".join(f"{v['roc_auc']:.3f}" for v in a.values()) + " |")
    print("| average precision | " + " | ".join(f"{v['average_precision']:.3f}" for v in a.values()) + " |")
    print(f"mean ROC-AUC {statistics.mean(v['roc_auc'] for v in a.values()):.3f}; digit 0 at the percentile "
          f"threshold: precision {a[0]['precision']:.3f}, recall {a[0]['recall']:.3f} "
          f"({round(a[0]['recall'] * zeros['test'])} of {zeros['test']} zeros); threshold=f1: precision "
          f"{res['anomaly_f1']['precision']:.3f}, recall {res['anomaly_f1']['recall']:.3f}; zeros in the "
          f"validation split of the full data: {zeros['valid']}")

    tx = ctx.runs_dir / "tx.csv"
    write_transactions(tx)
    res["fraud"] = {}
    for threshold in ("percentile", "f1"):
        run, wall = train(ctx, f"fraud-{threshold}", "ae", f"csv:{tx}?target=fraud", "anomaly", 2 if q else 30,
                          ["data.normalize=standard", "model.code_size=3", "model.hidden=[16]",
                           f"task_args.threshold={threshold}"])
        res["fraud"][threshold] = {k: run.metrics[f"test/{k}"] for k in keys}
    fr = res["fraud"]
    print(f"fraud table: ROC-AUC {fr['percentile']['roc_auc']:.3f}, average precision "
          f"{fr['percentile']['average_precision']:.3f}; percentile: precision {fr['percentile']['precision']:.3f}, "
          f"recall {fr['percentile']['recall']:.3f}; f1: precision {fr['f1']['precision']:.3f}, recall "
          f"{fr['f1']['recall']:.3f}")

    print("\n| q | `test/psnr_noisy` | `test/psnr_denoised` | gain |\n| ---: | ---: | ---: | ---: |")
    res["denoise"] = {}
    for level in ("0", "0.25", "0.5"):
        run, wall = train(ctx, f"dae-q{level}", "denoising_ae", "digits", "denoise", 2 if q else 60,
                          [f"model.noise_level={level}"])
        noisy, den = run.metrics["test/psnr_noisy"], run.metrics["test/psnr_denoised"]
        res["denoise"][level] = {"psnr_noisy": noisy, "psnr_denoised": den, "wall_s": wall}
        gain = "—" if level == "0" else f"{den - noisy:+.2f} dB"
        print(f"| {level} | {noisy:.2f} | {den:.2f} | {gain} |", flush=True)
    if long_denoise:
        for level in ("0", "0.5"):
            run, wall = train(ctx, f"dae-q{level}-300", "denoising_ae", "digits", "denoise", 3 if q else 300,
                              [f"model.noise_level={level}", "early_stop.patience=30"])
            m = run.metrics
            res["denoise"][f"{level}-300"] = {"psnr_noisy": m["test/psnr_noisy"],
                                               "psnr_denoised": m["test/psnr_denoised"],
                                               "epochs_run": len(epoch_rows(run)), "wall_s": wall}
            print(f"q = {level}, --epochs 300 --set early_stop.patience=30: {m['test/psnr_noisy']:.2f} → "
                  f"{m['test/psnr_denoised']:.2f} dB ({len(epoch_rows(run))} epochs run)")

    run, wall = train(ctx, "colorize", "conv_ae", "sample-images?crop=32&count=1024", "colorize", 2 if q else 30)
    c, g = run.metrics["test/psnr_colorized"], run.metrics["test/psnr_grayscale"]
    res["colorize"] = {"psnr_colorized": c, "psnr_grayscale": g, "wall_s": wall}
    print(f"colorize: test/psnr_colorized {c:.2f} dB, test/psnr_grayscale {g:.2f} dB, gain {c - g:.2f} dB")


# -- the command line ---------------------------------------------------------------------------------------
# -- docs/transfer_learning.md ----------------------------------------------------------------------------
TRANSFER_SOURCE = ("circle", "square", "triangle")  # the shapes the "pretrained" network learns
TRANSFER_TARGET = ("pentagon", "hexagon", "star")  # the new task, with few photos
TRANSFER_SOURCE_RUN = ["early_stop.monitor=valid/accuracy", "early_stop.patience=8"]
# half of the target photos are the test split, half of the rest validation: 25 photos a class to train on
TRANSFER_TARGET_RUN = ["early_stop.monitor=valid/accuracy", "early_stop.patience=15", "data.test_fraction=0.5",
                       "data.valid_fraction=0.5"]
TRANSFER_STARTS = {
    "from scratch": [],
    "frozen backbone": ["model.weights={weights}", "model.freeze=backbone"],
    "fine-tuned": ["model.weights={weights}"],
    "fine-tuned, backbone lr × 0.1": ["model.weights={weights}", "model.backbone_lr_mult=0.1"],
}


def transfer_learning(ctx: Ctx, seeds: int, figure: Path | None) -> None:
    """docs/transfer_learning.md: a ResNet-20 trained on generated photos of three shapes is the
    pretrained network; on 75 photos of three other shapes it starts from scratch, frozen, fine-tuned
    and fine-tuned with a 10× lower backbone rate, each for ``seeds`` seeds (split and initialisation)."""
    from deepzoo.data.shapes import write_shapes_folder
    from deepzoo.plots.tune import plot_run_curves

    source = write_shapes_folder(ctx.runs_dir / "photos-source", TRANSFER_SOURCE, 20 if ctx.quick else 500, seed=1)
    target = write_shapes_folder(ctx.runs_dir / "photos", TRANSFER_TARGET, 10 if ctx.quick else 100, seed=2)
    pretrained, wall = train(ctx, "source", "resnet20", f"imagefolder:{source}?size=32", None,
                             1 if ctx.quick else 30, TRANSFER_SOURCE_RUN)
    weights = Path(pretrained.dir) / "model.safetensors"
    ctx.results["source"] = {"test_accuracy": pretrained.metrics["test/accuracy"], "wall_s": wall,
                             "best_epoch": pretrained.summary.get("best_epoch")}
    print(f"source: test accuracy {pretrained.metrics['test/accuracy']:.3f} (best epoch "
          f"{pretrained.summary.get('best_epoch')}, {wall:.0f} s)\n")
    print("| start | test accuracy, seeds 0 / 1 / 2 | mean | best epochs | trainable parameters | time per run |")
    print("|---|---|---|---|---|---|")
    curves = {}
    for start, overrides in TRANSFER_STARTS.items():
        runs, walls = [], []
        for seed in range(seeds):
            run, wall = train(ctx, f"{start.split(',')[0].replace(' ', '-')}{'-lr01' if ',' in start else ''}-{seed}",
                              "resnet20", f"imagefolder:{target}?size=32", None, 1 if ctx.quick else 40,
                              [o.format(weights=weights) for o in TRANSFER_TARGET_RUN + overrides], seed)
            runs.append(run)
            walls.append(wall)
        accuracy = [r.metrics["test/accuracy"] for r in runs]
        trainable = sum(p.numel() for p in runs[0].recipe.model.parameters() if p.requires_grad)
        ctx.results[start] = {"test_accuracy": accuracy, "best_epoch": [r.summary.get("best_epoch") for r in runs],
                              "trainable": trainable, "wall_s": walls}
        curves[start] = epoch_rows(runs[0])
        print(f"| {start} | {' / '.join(f'{a:.3f}' for a in accuracy)} | {statistics.mean(accuracy):.3f} | "
              f"{' / '.join(str(r.summary.get('best_epoch')) for r in runs)} | {trainable:,} | "
              f"{statistics.mean(walls):.0f} s |", flush=True)
    if figure is not None:
        print(f"\ncurves of seed 0: {plot_run_curves(curves, figure)}")


# -- docs/segmentation.md ----------------------------------------------------------------------------------
SEGMENTATION_RUN = ["model.base_width=8", "train.batch_size=16", "optim.lr=3e-3", "data.augment=flip,scale,crop"]
#: the U-Net beside the same network cut to one level: two 3×3 convolutions and the 1×1 head, a classifier
#: of each pixel's 5×5 neighbourhood (its colour and the edges around it), without the contracting path
SEGMENTATION_MODELS = {"U-Net, depth 4": ["model.depth=4"], "one level (5×5 pixel classifier)": ["model.depth=1"]}


def segmentation(ctx: Ctx, figure: Path | None) -> None:
    """docs/segmentation.md: a U-Net of depth 4 and the same network cut to one level on the embedded
    ``shapes`` (512 scenes of 64×64, 4 classes), each run scoring the majority class on its test pixels;
    the overlays of test images, the truth and both predictions."""
    epochs = 1 if ctx.quick else 30
    runs = {}
    print("| model | test mIoU | test pixel accuracy | IoU background / circle / square / triangle | parameters "
          "| time |")
    print("|---|---|---|---|---|---|")
    for label, overrides in SEGMENTATION_MODELS.items():
        run, wall = train(ctx, f"depth-{overrides[0][-1]}", "unet", "shapes", None, epochs,
                          overrides + SEGMENTATION_RUN)
        m = run.metrics
        ious = [m.get(f"test/iou_{name}", float("nan")) for name in ("background", "circle", "square", "triangle")]
        params = sum(p.numel() for p in run.recipe.model.parameters())
        ctx.results[label] = {"test_miou": m["test/miou"], "test_pixel_accuracy": m["test/pixel_accuracy"],
                              "test_iou": ious, "params": params, "wall_s": wall,
                              "best_epoch": run.summary.get("best_epoch")}
        runs[label] = run
        print(f"| {label} | {m['test/miou']:.3f} | {m['test/pixel_accuracy']:.3f} | "
              f"{' / '.join(f'{v:.3f}' for v in ious)} | {params:,} | {wall:.0f} s |", flush=True)
    m = run.metrics
    ctx.results["majority class"] = {"test_miou": m["test/baseline_miou"],
                                     "test_pixel_accuracy": m["test/baseline_pixel_accuracy"]}
    print(f"| majority class (background) | {m['test/baseline_miou']:.3f} | {m['test/baseline_pixel_accuracy']:.3f} "
          "| | 0 | |")
    if figure is not None:
        print(f"\noverlays: {overlays_of_test_images(runs, figure)}")


def overlays_of_test_images(runs: dict[str, Any], figure: Path) -> Path:
    """The first six test images of the first run with the truth and each run's prediction laid over them (the
    runs share their split), labelled by the run's label up to its parenthesis."""
    from deepzoo.data.segmentation import mask_palette
    from deepzoo.plots.segmentation import overlay_figure

    recipe = next(iter(runs.values())).recipe
    x, y = recipe.data.test.x[:6], recipe.data.test.y[:6]
    columns = [("truth", y)] + [(label.split(" (")[0], run.recipe.predict(x)["mask"].cpu())
                                for label, run in runs.items()]
    return overlay_figure(x, columns, recipe.data.meta, mask_palette(recipe.data.meta), figure)


# -- docs/segmentation.md: the segmentation GAN ----------------------------------------------------------------
#: CPU-sized: 32×32 scenes, a U-Net of depth 3 and width 8, a PatchGAN of width 16 (70×70 patches: each judges the
#: whole map); both tasks train on the same settings, so the adversarial term is the only difference
SEGMENTATION_GAN_RUN = ["model.depth=3", "model.base_width=8", "train.batch_size=16", "optim.lr=3e-3",
                        "data.augment=flip,scale,crop"]
SEGMENTATION_GAN_TASKS = {"U-Net (cross-entropy)": (None, []),
                          "segmentation GAN (+ 0.01·adversarial)": ("segmentation-gan", ["task_args.d_width=16"])}
SEGMENTATION_GAN_EPOCHS, SEGMENTATION_GAN_SEEDS = 20, 3


def segmentation_gan(ctx: Ctx, figure: Path | None) -> None:
    """docs/segmentation.md, "The segmentation GAN": the U-Net with and without Luc et al.'s adversarial term on
    ``shapes?size=32``, each seed giving both the same split, initial U-Net and batches; the gain per seed (GAN −
    plain) against the spread of the seeds; the overlays of seed 0's test images, the truth and both predictions."""
    seeds = 1 if ctx.quick else SEGMENTATION_GAN_SEEDS
    runs: dict[str, list] = {}
    print("| training | test mIoU, seeds 0 / 1 / 2 | mean ± sd | test pixel accuracy (mean) | time per run |")
    print("|---|---|---|---|---|")
    for label, (task, overrides) in SEGMENTATION_GAN_TASKS.items():
        done = [train(ctx, f"{task or 'segmentation'}-{seed}", "unet", "shapes?size=32", task,
                      1 if ctx.quick else SEGMENTATION_GAN_EPOCHS, SEGMENTATION_GAN_RUN + overrides, seed)
                for seed in range(seeds)]
        runs[label] = [run for run, _ in done]
        miou = [run.metrics["test/miou"] for run, _ in done]
        accuracy = [run.metrics["test/pixel_accuracy"] for run, _ in done]
        walls = [wall for _, wall in done]
        spread = statistics.stdev(miou) if len(miou) > 1 else float("nan")
        ctx.results[label] = {"test_miou": miou, "test_pixel_accuracy": accuracy, "wall_s": walls,
                              "best_epoch": [run.summary.get("best_epoch") for run, _ in done]}
        print(f"| {label} | {' / '.join(f'{v:.3f}' for v in miou)} | {statistics.mean(miou):.3f} ± {spread:.3f} | "
              f"{statistics.mean(accuracy):.3f} | {statistics.mean(walls):.0f} s |", flush=True)
    plain, gan = runs.values()
    gains = [g.metrics["test/miou"] - p.metrics["test/miou"] for p, g in zip(plain, gan)]
    ctx.results["gain"] = gains
    ctx.results["majority class"] = [run.metrics["test/baseline_miou"] for run in plain]
    print(f"\ngain in test mIoU per seed (GAN − plain, same split and start): {' / '.join(f'{g:+.3f}' for g in gains)}"
          f"; majority class {' / '.join(f'{v:.3f}' for v in ctx.results['majority class'])}")
    if figure is not None:
        first = {label: group[0] for label, group in runs.items()}
        print(f"\noverlays of seed 0: {overlays_of_test_images(first, figure)}")


# -- docs/image_to_image.md: Conditional GANs ------------------------------------------------------------------
CONDITIONAL_MODELS = ["dcgan", "cgan", "acgan"]  # the unconditional baseline first, the same settings for all
CONDITIONAL_EPOCHS = 100
CONDITIONAL_OVERRIDES: list[str] = []


def judge_filtered_class_fcd(run, oversample: int = 10) -> tuple[dict[int, float], float]:
    """The unconditional baseline's per-class FCD: of ``oversample`` × as many samples as test items, the
    first n_k the run's judge assigns to class k, against the n_k test items of class k (the judge both
    filters and scores these samples); and the share of the test split's quotas the samples filled."""
    from deepzoo.metrics.gan import per_class_frechet

    recipe, judge = run.recipe, run.recipe.judge
    real, labels = recipe.data.test.x, recipe.data.test.y
    fake = recipe.to_raw(recipe.sample(oversample * len(real), torch.Generator().manual_seed(0)))
    f_fake, p_fake = judge.outputs(fake)
    f_real, _ = judge.outputs(recipe.to_raw(real))
    predicted = p_fake.argmax(1)
    keep = torch.cat([(predicted == k).nonzero().flatten()[: int((labels == k).sum())] for k in labels.unique()])
    return per_class_frechet(f_fake[keep], predicted[keep], f_real, labels, judge.num_classes), len(keep) / len(real)


def conditional_gans(ctx: Ctx, figures: Path | None) -> None:
    """docs/image_to_image.md, "Conditional GANs": dcgan, cgan and acgan on digits (seed 0, the same
    settings, each with its judge trained on the fly — the same data, options and seed, so the same
    classifier), the per-class FCDs beside DCGAN's samples filtered by the judge, and the sample grids."""
    from deepzoo.plots.gan import class_rows_figure

    epochs = 2 if ctx.quick else CONDITIONAL_EPOCHS
    rows, per_class = [], {}
    for model in CONDITIONAL_MODELS:
        run, wall = train(ctx, f"{model}-digits", model, "digits", None, epochs, CONDITIONAL_OVERRIDES)
        m, recipe = run.metrics, run.recipe
        row = {"model": model, "epochs": epochs, "steps": int(epoch_rows(run)[-1]["step"]), "wall_s": wall,
               "judge_sha256": recipe.judge.sha256,
               **{k: m[f"test/{k}"] for k in ("fcd", "fcd_real_floor", "classifier_score", "mode_coverage")}}
        classes = range(recipe.data.meta.num_classes)
        if model == "dcgan":
            fcd, filled = judge_filtered_class_fcd(run)
            per_class[model] = [fcd.get(c, float("nan")) for c in classes]
            row["filter_filled_share"] = filled
        else:
            per_class[model] = [m[f"test/fcd_class_{c}"] for c in classes]
            per_class["floor"] = [m[f"test/fcd_class_{c}_real_floor"] for c in classes]
            row.update({k: m[f"test/{k}"] for k in ("conditional_accuracy", "conditional_accuracy_real")})
            if figures is not None:
                samples = recipe.sample(8, torch.Generator().manual_seed(0))
                path = class_rows_figure(samples, recipe.sample_labels(8), recipe.class_names, recipe.data.meta,
                                         figures / f"{model}_digits.png", f"{model} on digits: 8 samples per class")
                print(f"samples: {path}")
        row["fcd_class_mean"] = float(np.nanmean(per_class[model]))
        rows.append(row)
    ctx.results.update(runs=rows, per_class_fcd=per_class)
    floor = per_class["floor"]
    print(f"\nTest split: 360 digits; real-vs-real FCD floor {rows[0]['fcd_real_floor']:.2f}; per-class floor "
          f"(a class's test digits against as many training digits of it) mean {np.mean(floor):.2f}; the judge's "
          f"accuracy on the real test digits {rows[1]['conditional_accuracy_real']:.3f}; one judge for all runs: "
          f"{len({r['judge_sha256'] for r in rows}) == 1}; the DCGAN's samples filled "
          f"{rows[0]['filter_filled_share']:.0%} of the per-class quotas.\n")
    print("| run | epochs (steps) | test FCD | per-class FCD, mean | conditional accuracy | classifier score | "
          "mode coverage | wall time |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        accuracy = f"{r['conditional_accuracy']:.3f}" if "conditional_accuracy" in r else "—"
        print(f"| `{r['model']}` | {r['epochs']} ({r['steps']:,}) | {r['fcd']:.2f} | {r['fcd_class_mean']:.2f} | "
              f"{accuracy} | {r['classifier_score']:.2f} | {r['mode_coverage']:.1f} | {r['wall_s']:.0f} s |")
    print("\n| class | " + " | ".join(f"`{m}`" for m in CONDITIONAL_MODELS) + " | real floor |")
    print("|---" * (len(CONDITIONAL_MODELS) + 2) + "|")
    for c, value in enumerate(floor):
        print(f"| {c} | " + " | ".join(f"{per_class[m][c]:.2f}" for m in CONDITIONAL_MODELS) + f" | {value:.2f} |")


# -- docs/image_to_image.md: pix2pix and next-frame prediction -------------------------------------------------
#: CPU-sized: U-Net and PatchGAN at width 32 (the paper's 64), batches of 16 (the paper's 1); everything else is the
#: paper preset (Adam 2e-4, β1 0.5, λ 100, the rate constant for half the epochs then decaying linearly)
PIX2PIX_RUN = ["model.width=32", "model.d_width=32", "train.batch_size=16"]
PIX2PIX_SETS = {"digits-edges": ("digits-edges", None, 8), "shapes-pairs": ("shapes-pairs", None, 20),
                "moving-digits": ("moving-digits?clips=200", "next-frame", 8)}  # data, task, epochs
PIX2PIX_LOSSES = {"cGAN + L1 (pix2pix)": [], "L1 only": ["task_args.adversarial=false"]}
PIX2PIX_QUICK = {"digits-edges": "digits-edges?count=200", "shapes-pairs": "shapes-pairs?count=60",
                 "moving-digits": "moving-digits?clips=20&frames=6"}


def pix2pix(ctx: Ctx, figures: Path | None) -> None:
    """docs/image_to_image.md, pix2pix and Next-frame prediction: on each embedded set, pix2pix (cGAN +
    100·L1) and the L1-only U-Net from the same seed; each run scores, on its own test split, the
    nearest-training-target baseline and the copy (the edge map itself, the last frame); the test pictures
    put both models beside the baselines."""
    from deepzoo.plots.gan import sr_comparison_figure

    print("| data | model | test L1 | test PSNR (dB) | test SSIM | epochs | time |")
    print("|---|---|---|---|---|---|---|")
    for name, (data, task, epochs) in PIX2PIX_SETS.items():
        runs = {}
        for label, overrides in PIX2PIX_LOSSES.items():
            run, wall = train(ctx, f"{name}-{'gan' if not overrides else 'l1'}", "pix2pix",
                              PIX2PIX_QUICK[name] if ctx.quick else data, task, 1 if ctx.quick else epochs,
                              PIX2PIX_RUN + overrides)
            m = run.metrics
            ctx.results[f"{name}: {label}"] = {k: m[f"test/{k}"] for k in ("l1", "psnr", "ssim")} | {"wall_s": wall}
            runs[label] = run
            print(f"| {name} | {label} | {m['test/l1']:.4f} | {m['test/psnr']:.2f} | {m['test/ssim']:.3f} | "
                  f"{run.config.train.epochs} | {wall:.0f} s |", flush=True)
        m = run.metrics
        copy = (m.keys() & {"test/identity_l1", "test/last_frame_l1"})
        for baseline in ["nearest"] + [key.split("/")[1].removesuffix("_l1") for key in copy]:
            scores = {k: m[f"test/{baseline}_{k}"] for k in ("l1", "psnr", "ssim")}
            ctx.results[f"{name}: {baseline}"] = scores
            print(f"| {name} | baseline: {baseline.replace('_', ' ')} | {scores['l1']:.4f} | {scores['psnr']:.2f} | "
                  f"{scores['ssim']:.3f} | | |")
        if figures is not None:
            gan, l1 = runs.values()
            test = gan.recipe.data.test
            x, y = test.x[:6], test.y[:6]
            columns = gan.recipe.picture_columns(x, y, with_baselines=True)
            at = [label for label, _ in columns].index("pix2pix") + 1
            columns.insert(at, ("L1 only", l1.recipe.translate(x).cpu()))
            path = figures / f"{'next_frame' if task else 'pix2pix'}_{name.replace('-', '_')}.png"
            print(f"pictures: {sr_comparison_figure(columns, path, f'{name}: test items')}")


# -- docs/image_to_image.md: CycleGAN -----------------------------------------------------------------------------
#: CPU-sized: generators and PatchGANs at width 16 (the paper's 64), batches of 4 (the paper's 1); everything else
#: is the paper preset (Adam 2e-4, β1 0.5, λ 10, identity 0.5λ, a pool of 50, constant then linearly decaying rate)
CYCLEGAN_RUN = ["model.width=16", "model.d_width=16", "train.batch_size=4"]
CYCLEGAN_EPOCHS = 5


def cyclegan(ctx: Ctx, figures: Path | None) -> None:
    """docs/image_to_image.md, CycleGAN: digits ↔ their inverted, thickened versions (``digits-inverted``, two
    halves of different digits), seed 0; the run scores its test translations against the identity baseline
    (output = input) and the true mapping, with its judge trained on the fly; the pictures of test images of
    both domains, translated and cycled back."""
    from deepzoo.plots.gan import sr_comparison_figure

    run, wall = train(ctx, "digits-inverted", "cyclegan", "digits-inverted", None,
                      1 if ctx.quick else CYCLEGAN_EPOCHS, CYCLEGAN_RUN)
    m = {k.removeprefix("test/"): v for k, v in run.metrics.items() if k.startswith("test/")}
    ctx.results["digits-inverted"] = m | {"wall_s": wall, "steps": int(epoch_rows(run)[-1]["step"])}
    print(f"\nthe run: {wall:.0f} s, {ctx.results['digits-inverted']['steps']:,} steps; its test split:\n")
    print("| A → B on the test split | L1 to the true B | FCD to the B images |")
    print("|---|---|---|")
    print(f"| CycleGAN G(A) | {m['translation_l1']:.4f} | {m['fcd_b']:.2f} |")
    print(f"| identity baseline: A itself | {m['translation_l1_identity']:.4f} | {m['fcd_identity']:.2f} |")
    print(f"| the true mapping T(A) (floor) | 0 | {m['fcd_b_true']:.2f} |")
    print(f"\ncycle L1: A → B → A {m['cycle_l1_a']:.4f}, B → A → B {m['cycle_l1_b']:.4f}; "
          f"FCD(F(B), A) {m['fcd_a']:.2f} against FCD(B, A) {m['fcd_identity']:.2f}")
    if figures is not None:
        recipe = run.recipe
        for domain, images in zip("ab", recipe.domains(recipe.data.test)):
            path = figures / f"cyclegan_digits_{domain}.png"
            title = "digits-inverted, test images: A → B → A" if domain == "a" else "B → A → B"
            print(f"pictures: {sr_comparison_figure(recipe.picture_columns(images[:6], domain), path, title)}")


# -- docs/inspect.md: the HTML report ---------------------------------------------------------------------------
def report(ctx: Ctx, figure: Path | None) -> None:
    """docs/inspect.md, "The HTML report": a CNN on digits, its report.html written again and timed, loaded in
    headless Chromium (pictures decoded, console messages, error events) and, unless --quick, the screenshot of
    the top of the page."""
    from deepzoo.report import write_run_report
    from deepzoo.report.browser import check_page, find_browser, screenshot

    run, wall = train(ctx, "cnn-digits", "cnn", "digits", epochs=2 if ctx.quick else 10)
    started = time.perf_counter()
    page = write_run_report(run.dir)
    seconds = time.perf_counter() - started
    pictures = len(list(run.dir.glob("**/*.png"))) - len(list(run.dir.glob("tb/**/*.png")))
    ctx.results["report"] = {"train_s": wall, "write_s": seconds, "kib": page.stat().st_size / 1024,
                             "pictures": pictures}
    print(f"report.html: {page.stat().st_size / 1024:.0f} KiB, {pictures} pictures, written in {seconds * 1000:.0f} "
          f"ms (the run trained in {wall:.0f} s)")
    browser = find_browser()
    if browser is None:
        print("no Chromium on this machine (apt-get install chromium): no browser check, no screenshot")
        return
    check = check_page(page, browser)
    ctx.results["browser"] = {"images": check.images, "errors": check.errors, "console": check.console}
    print(f"Chromium: {len(check.images)} pictures, {sum(w > 0 and h > 0 for w, h in check.images)} decoded, "
          f"{check.errors} error events, {len(check.console)} console messages")
    if figure is not None:
        print(f"screenshot: {screenshot(page, figure, browser, width=1100, height=1500)}")


# -- docs/inspect.md: error analysis ----------------------------------------------------------------------------
def write_sklearn_table(path: Path, which: str) -> Path:
    """scikit-learn's bundled wine (178 wines, 13 measurements, 3 cultivars) or diabetes (442 patients, 10
    measurements, disease progression after a year) table as a CSV with its own column names (no download)."""
    from sklearn import datasets

    bunch = datasets.load_wine() if which == "wine" else datasets.load_diabetes(scaled=False)
    target = "cultivar" if which == "wine" else "progression"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*bunch.feature_names, target])
        for row, y in zip(bunch.data, bunch.target):
            writer.writerow([f"{v:.4g}" for v in row] + [f"cultivar_{y + 1}" if which == "wine" else f"{y:g}"])
    return path


#: the pictures of docs/inspect.md's "Error analysis", by run
ERROR_PICTURES = {"cnn-digits": ("top_losses.png", "confusion_matrix.png"), "mlp-diabetes": ("residuals.png",)}


def error_analysis(ctx: Ctx, figures: Path | None) -> None:
    """docs/inspect.md, "Error analysis": a CNN on digits, an MLP on scikit-learn's wine table and one on its
    diabetes table (regression); each run's error analysis and diagnostics, as training writes them, and the
    pictures copied to docs/images/."""
    import shutil

    wine = write_sklearn_table(ctx.runs_dir / "wine.csv", "wine")
    diabetes = write_sklearn_table(ctx.runs_dir / "diabetes.csv", "diabetes")
    runs = {"cnn-digits": ("cnn", "digits", 3 if ctx.quick else 10),
            "mlp-wine": ("mlp", f"csv:{wine}?target=cultivar", 5 if ctx.quick else 30),
            "mlp-diabetes": ("mlp", f"csv:{diabetes}?target=progression", 5 if ctx.quick else 60)}
    for name, (model, data, epochs) in runs.items():
        run, wall = train(ctx, name, model, data, epochs=epochs)
        folder = run.dir / "errors" / "test"
        diagnostics = json.loads((run.dir / "diagnostics.json").read_text())
        ctx.results[name] = {"train_s": wall, "metrics": run.metrics, "diagnostics": diagnostics["messages"],
                             "files": sorted(p.name for p in folder.iterdir())}
        print(f"{name}: trained in {wall:.1f} s; {', '.join(ctx.results[name]['files'])}")
        for line in diagnostics["messages"]:
            print(f"  {line}")
        for table in ("per_class.csv", "confused_pairs.csv", "top_losses.csv"):
            if (folder / table).is_file():
                lines = (folder / table).read_text().splitlines()
                print(f"  {table} ({len(lines) - 1} rows):\n    " + "\n    ".join(lines[:6]))
        for picture in ERROR_PICTURES.get(name, ()) if figures is not None else ():
            target = figures / f"errors_{name}_{picture}"
            shutil.copyfile(folder / picture, target)
            print(f"  picture: {target}")


# -- docs/inspect.md: attribution maps --------------------------------------------------------------------------
#: the methods whose pictures and sanity numbers docs/inspect.md shows, on the patches CNN
ATTRIBUTION_METHODS = ("gradcam", "saliency", "integrated-gradients")


def write_patch_pngs(folder: Path, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` new ``patches`` images (another seed than the dataset's) as PNG files; their labels and boxes."""
    from PIL import Image

    from deepzoo.data.embedded import patch_images

    x, y, boxes = patch_images(count, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(x):
        Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(folder / f"patch{i:02d}.png")
    return y, boxes


def sanity_numbers(run, method: str, count: int, seed: int) -> dict[str, float]:
    """Pointing share (true class, ``count`` new images) and the randomisation test's mean Spearman correlation
    (its first 64) of one method on a trained run."""
    from deepzoo.attribution.sanity import pointing_check, randomisation_check
    from deepzoo.data.build import normalize_like
    from deepzoo.data.embedded import patch_images

    x, y, boxes = patch_images(count, seed=seed)
    meta, model = run.recipe.data.meta, run.recipe.model
    inputs = torch.from_numpy(normalize_like(x, meta)).to(run.recipe.device)
    options = {"mean": meta.mean, "std": meta.std}
    pointing = pointing_check(model, inputs, torch.from_numpy(y), boxes, method, **options)
    spearman = randomisation_check(model, inputs[:64], method, **options)
    return {"pointing": pointing, "spearman_mean": float(spearman.mean()), "spearman_sd": float(spearman.std())}


def attribution(ctx: Ctx, figures: Path | None) -> None:
    """docs/inspect.md, "Attribution maps": the zoo's ``cnn`` and a small ViT trained on ``patches``; Grad-CAM,
    saliency and Integrated Gradients grids of eight new images, the filters, a layer's activations and the
    ViT's rollout, through ``deepzoo attribute``'s own function; the pointing and randomisation numbers."""
    import shutil

    from deepzoo.attribution import Settings, attribute_images

    images = ctx.runs_dir / "images"
    write_patch_pngs(images, 8, seed=7)
    epochs = 2 if ctx.quick else 5
    cnn, wall = train(ctx, "cnn-patches", "cnn", "patches", epochs=epochs)
    vit_args = ["model.depth=4", "model.width=64", "model.heads=4", "model.mlp_dim=128"]
    vit, vit_wall = train(ctx, "vit-patches", "vit_tiny_patch4_32", "patches", epochs=2 if ctx.quick else 5,
                          overrides=vit_args)
    ctx.results["runs"] = {"cnn-patches": {"train_s": wall, "metrics": cnn.metrics},
                           "vit-patches": {"train_s": vit_wall, "metrics": vit.metrics}}
    print(f"cnn-patches: test accuracy {cnn.metrics.get('test/accuracy', float('nan')):.3f} in {wall:.0f} s; "
          f"vit-patches: {vit.metrics.get('test/accuracy', float('nan')):.3f} in {vit_wall:.0f} s")
    pictures = {}
    for run, settings in [(cnn, Settings(m)) for m in ATTRIBUTION_METHODS] + [
            (cnn, Settings("filters")), (cnn, Settings("activations", layer="features.0")), (vit, Settings("rollout"))]:
        loaded = api.load_run(run.dir, with_data=False)
        started = time.perf_counter()
        rows = attribute_images(loaded, images, settings, run.dir / "attributions")
        seconds = time.perf_counter() - started
        print(f"  deepzoo attribute {run.dir.name} --input images/ --method {settings.method}"
              f"{' --layer ' + settings.layer if settings.layer else ''}: {len(rows)} rows in {seconds:.1f} s")
        if settings.method == "integrated-gradients":
            deltas, differences = [abs(r["delta"]) for r in rows], [abs(r["difference"]) for r in rows]
            ctx.results["ig_completeness"] = {"largest_delta": max(deltas), "differences": differences}
            print(f"    completeness: |delta| at most {max(deltas):.4f}; |f(x) - f(baseline)| from "
                  f"{min(differences):.4f} to {max(differences):.2f}")
        name = {"filters": "filters.png", "activations": "patch00_activations.png"}.get(
            settings.method, f"grid_{settings.method}.png")
        pictures[f"{run.dir.name}_{settings.method}"] = run.dir / "attributions" / name
    chance, count = (8 / 32) ** 2, 64 if ctx.quick else 256
    ctx.results["sanity"] = {"chance": chance, "images": count}
    print(f"sanity checks on {count} new images (chance of pointing: {chance:.2%})")
    for run, method in [(cnn, m) for m in ATTRIBUTION_METHODS] + [(vit, "rollout")]:
        numbers = sanity_numbers(api.load_run(run.dir, with_data=False), method, count, seed=8)
        ctx.results["sanity"][f"{run.dir.name}/{method}"] = numbers
        print(f"  {run.dir.name} {method}: pointing {numbers['pointing']:.1%}, Spearman trained vs randomised "
              f"{numbers['spearman_mean']:.2f} ± {numbers['spearman_sd']:.2f}")
    for key, source in pictures.items() if figures is not None else ():
        target = figures / f"attribution_{key}.png"
        shutil.copyfile(source, target)
        print(f"  picture: {target}")


#: docs/inspect.md, "Export": (run name, model, data, task, epochs, overrides, parts); a part None is the default
EXPORT_RUNS = [
    ("resnet20-digits", "resnet20", "digits", None, 3, [], [None]),
    ("vit-digits", "vit_tiny_patch2_8", "digits", None, 3, ["model.depth=2"], [None]),
    ("mlp-wine", "mlp", "csv:{wine}?target=cultivar", None, 30, [], [None]),
    ("mlp-diabetes", "mlp", "csv:{diabetes}?target=progression", None, 30, [], [None]),
    ("dcgan-digits", "dcgan", "digits", None, 3, [], [None]),
    ("cgan-digits", "cgan", "digits", None, 3, [], [None]),
    ("vae-digits", "vae", "digits", "reconstruct", 5, [], ["encoder", "decoder"]),
    ("pix2pix-digits-edges", "pix2pix", "digits-edges", None, 1, ["task_args.preset=none", "train.batch_size=16"],
     [None]),
    ("cyclegan-digits-inverted", "cyclegan", "digits-inverted", None, 1, ["task_args.preset=none",
                                                                          "train.batch_size=16"], [None]),
    ("srgan-sample-images", "srgan", "sample-images?crop=32&count=256", None, 1, ["model.scale=2"], [None]),
]


def export(ctx: Ctx) -> None:
    """docs/inspect.md, "Export": each family's run on embedded data, exported to ONNX and ``.pt2`` by
    :func:`deepzoo.export.export_run` (``deepzoo export``'s code path); the verification's largest difference,
    the file size and the export's wall time; and the one-line refusal of a GNN run."""
    from deepzoo.errors import ConfigError
    from deepzoo.export import export_run

    tables = {key: write_sklearn_table(ctx.runs_dir / f"{key}.csv", key) for key in ("wine", "diabetes")}
    rows = []
    print("| run | part | format | max abs difference | tolerance | size (MB) | export (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, model, data, task, epochs, overrides, parts in EXPORT_RUNS:
        run, _ = train(ctx, name, model, data.format(**tables), task, 1 if ctx.quick else epochs, overrides)
        for part in parts:
            for fmt in ("onnx", "pt2"):
                started = time.perf_counter()
                result = export_run(run.dir, fmt, part=part)
                seconds = time.perf_counter() - started
                check = result.verification
                row = {"run": name, "part": result.part, "format": fmt, "max_abs_diff": check.max_abs_diff,
                       "tolerance": check.tolerance, "mb": result.path.stat().st_size / 1e6, "seconds": seconds}
                rows.append(row)
                print(f"| {name} | {result.part} | {fmt} | {check.max_abs_diff:.1e} | {check.tolerance:.0e} | "
                      f"{row['mb']:.2f} | {seconds:.1f} |", flush=True)
    graph, _ = train(ctx, "gcn-karate", "gcn", "karate", None, 1 if ctx.quick else 50)
    try:
        export_run(graph.dir, "onnx")
    except ConfigError as err:
        print(f"gcn-karate: {err}")
        ctx.results["refusal"] = str(err)
    ctx.results["exports"] = rows


# -- docs/language_models.md: gpt_nano on python-docs -------------------------------------------------------
LM_TOKENIZERS = {"char": "python-docs", "bpe": "python-docs?tokenizer=bpe&vocab_size=1024"}
LM_PROMPT = "The for statement"
LM_TEMPERATURES = (0.8, 1.2)


def sampled_text(run, temperature: float) -> str:
    """``deepzoo sample RUN --prompt ... --temperature T --seed 0`` as the page shows it: its printed text."""
    import contextlib
    import io

    from deepzoo.cli import main as cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli(["sample", str(run.dir), "--prompt", LM_PROMPT, "--max-new-tokens", "200", "--temperature",
             str(temperature), "--top-k", "50", "--seed", "0"])
    return out.getvalue().strip()


def language_models(ctx: Ctx, figure: Path | None) -> None:
    """docs/language_models.md, "Training and perplexity": ``gpt_nano`` on ``python-docs`` with the character
    and the BPE tokenizer (the task's defaults, seed 0, one thread): test perplexity and bits per byte beside
    the Kneser-Ney trigram on the same tokens, the wall time, samples at two temperatures, and the validation
    bits per byte by epoch against the trigram's."""
    rows = {}
    for kind, data in LM_TOKENIZERS.items():
        run, wall = train(ctx, f"gpt-nano-{kind}", "gpt_nano", data, None, 1 if ctx.quick else None)
        m = run.metrics
        rows[kind] = {"wall_s": wall, "epochs": len(epoch_rows(run)), "vocab": run.recipe.data.meta.num_classes,
                      "tokens": run.recipe.data.meta.extra["tokens"], "curve": epoch_rows(run),
                      **{k: m[k] for k in m if k.startswith(("test/", "valid/"))},
                      "samples": {t: sampled_text(run, t) for t in LM_TEMPERATURES}}
    ctx.results.update(rows)
    print("\n| tokenizer | vocabulary | test tokens | gpt_nano perplexity | gpt_nano bits/byte | trigram perplexity "
          "| trigram bits/byte | wall time |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        print(f"| {kind} | {r['vocab']:,} | {r['tokens']['test']:,} | {r['test/perplexity']:.2f} | {r['test/bpb']:.3f} "
              f"| {r['test/ngram_perplexity']:.2f} | {r['test/ngram_bpb']:.3f} | {r['wall_s'] / 60:.1f} min, "
              f"{r['epochs']} epochs |")
    for kind, r in rows.items():
        for t, text in r["samples"].items():
            print(f"\n{kind}, temperature {t}:\n{text}")
    if figure is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for (kind, r), colour in zip(rows.items(), ("tab:blue", "tab:orange")):
            epochs = [row["epoch"] for row in r["curve"]]
            ax.plot(epochs, [row["valid/bpb"] for row in r["curve"]], "o-", color=colour, label=f"gpt_nano, {kind}")
            ax.axhline(r["valid/ngram_bpb"], color=colour, linestyle="--", label=f"Kneser-Ney trigram, {kind}")
        ax.set(xlabel="epoch", ylabel="validation bits per byte", title="gpt_nano on python-docs (2-core CPU)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(figure, dpi=110)
        plt.close(fig)
        print(f"figure: {figure}")


# -- docs/language_models.md, "Retrieval-augmented language modelling" ---------------------------------------
def retrieval(ctx: Ctx) -> None:
    """docs/language_models.md, "Retrieval-augmented language modelling": ``gpt_nano`` on ``python-docs`` (the
    character tokenizer, the task's defaults, seed 0, one thread), then ``deepzoo evaluate RUN --retrieval train``
    with Ram et al.'s settings (BM25 every 4 tokens on the last 32, k = 1): test perplexity and bits per byte with
    and without the passage, and the wall times."""
    from deepzoo.text.retrieval_lm import RetrievalSettings, evaluate_run

    run, wall = train(ctx, "gpt-nano-char", "gpt_nano", "python-docs", None, 1 if ctx.quick else None,
                      ["task_args.ngram=0"])
    print(f"  deepzoo evaluate {run.dir} --retrieval train", flush=True)
    started = time.perf_counter()
    r = evaluate_run(api.load_run(run.dir).recipe, "train", RetrievalSettings())
    evaluation = time.perf_counter() - started
    ctx.results.update({"train_wall_s": wall, "evaluate_wall_s": evaluation, **r,
                        "test/perplexity": run.metrics["test/perplexity"]})
    print(f"\ntrained in {wall / 60:.1f} min; the task's block-by-block test perplexity "
          f"{run.metrics['test/perplexity']:.3f}; evaluated in {evaluation / 60:.1f} min")
    print("\n| context | test perplexity | test bits/byte |")
    print("|---|---|---|")
    print(f"| sliding window, no retrieval | {r['perplexity_no_retrieval']:.3f} | {r['bpb_no_retrieval']:.3f} |")
    print(f"| BM25 passage from the training documents | {r['perplexity_retrieval']:.3f} | {r['bpb_retrieval']:.3f} |")
    print(f"test tokens {int(r['tokens']):,}; datastore {int(r['chunks']):,} chunks of "
          f"{int(r['passage_tokens'])} tokens")


GROUPS = ["mnist1d-seeds", "ssl-tables", "gan-digits", "zoo-5-epochs", "autoencoder-uses", "transfer-learning",
          "segmentation", "segmentation-gan", "conditional-gans", "pix2pix", "cyclegan", "report", "error-analysis",
          "attribution", "export", "language-models", "retrieval"]
THREADS = {"ssl-tables": 1, "zoo-5-epochs": 1, "pix2pix": 1, "cyclegan": 1,  # the pages' "one thread per run"
           "segmentation-gan": 1, "export": 1, "language-models": 1, "retrieval": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=GROUPS)
    parser.add_argument("--runs-dir", default="runs/docs-figures")
    parser.add_argument("--overwrite", action="store_true", help="replace the runs of an earlier call")
    parser.add_argument("--threads", type=int, help="torch threads (default: the page's setting)")
    parser.add_argument("--quick", action="store_true", help="a reduced run that checks the script, not the figures")
    parser.add_argument("--models", nargs="+", default=[m for m, _ in ZOO], help="zoo-5-epochs: which models")
    parser.add_argument("--ring-seeds", type=int, default=6, help="gan-digits: seeds of the ring depth study (0: skip)")
    parser.add_argument("--long-denoise", action="store_true", help="autoencoder-uses: also the 300-epoch runs")
    args = parser.parse_args()
    threads = args.threads or THREADS.get(args.group)
    if threads:
        torch.set_num_threads(threads)
    ctx = Ctx(Path(args.runs_dir) / args.group, args.overwrite, args.quick)
    ctx.runs_dir.mkdir(parents=True, exist_ok=True)
    quick = " (--quick: not the docs' figures)" if args.quick else ""
    print(f"{args.group}: {machine()}; runs in {ctx.runs_dir}{quick}")
    started = time.perf_counter()
    if args.group == "mnist1d-seeds":
        mnist1d_seeds(ctx)
    elif args.group == "ssl-tables":
        ssl_tables(ctx)
    elif args.group == "gan-digits":
        gan_digits(ctx, 1 if args.quick and args.ring_seeds else args.ring_seeds)
    elif args.group == "zoo-5-epochs":
        zoo_5_epochs(ctx, args.models)
    elif args.group == "autoencoder-uses":
        autoencoder_uses(ctx, args.long_denoise)
    elif args.group == "segmentation":
        segmentation(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images/segmentation.png")
    elif args.group == "segmentation-gan":
        figure = None if args.quick else Path(__file__).resolve().parents[1] / "docs/images/segmentation_gan.png"
        segmentation_gan(ctx, figure)
    elif args.group == "conditional-gans":
        conditional_gans(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images")
    elif args.group == "pix2pix":
        pix2pix(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images")
    elif args.group == "cyclegan":
        cyclegan(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images")
    elif args.group == "report":
        report(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images/report.png")
    elif args.group == "error-analysis":
        error_analysis(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images")
    elif args.group == "attribution":
        attribution(ctx, None if args.quick else Path(__file__).resolve().parents[1] / "docs/images")
    elif args.group == "export":
        export(ctx)
    elif args.group == "language-models":
        figure = None if args.quick else Path(__file__).resolve().parents[1] / "docs/images/lm_python_docs.png"
        language_models(ctx, figure)
    elif args.group == "retrieval":
        retrieval(ctx)
    else:
        figure = None if args.quick else Path(__file__).resolve().parents[1] / "docs/images/transfer_learning.png"
        transfer_learning(ctx, 1 if args.quick else 3, figure)
    elapsed = time.perf_counter() - started
    ctx.results["meta"] = {"machine": machine(), "seconds": round(elapsed, 1), "quick": args.quick,
                           "date": time.strftime("%Y-%m-%d")}
    Path(f"{ctx.runs_dir}.json").write_text(json.dumps(ctx.results, indent=2, default=str))
    print(f"\n{args.group}: {elapsed / 60:.1f} min; {machine()}; numbers in {ctx.runs_dir}.json")


if __name__ == "__main__":
    main()
