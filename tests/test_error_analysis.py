"""Error analysis, run diagnostics and legible pictures (issue 21 §2): the tables against hand-made
predictions, the diagnostics against hand-made metric histories, the confusion matrix's labels against
their rendered boxes, the graph's node ids, the style-loss floor, and compare's cost columns."""

from __future__ import annotations

import csv
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.text import Text

from deepzoo import api, cli
from deepzoo.data import DataBundle, DatasetMeta
from deepzoo.data.bundle import TensorSplit
from deepzoo.metrics.errors import confused_pairs, item_losses, per_class_scores, top_loss_order
from deepzoo.run.diagnostics import diagnose, overfitting_onset, still_improving
from deepzoo.run.error_analysis import write_error_analysis
from deepzoo.tasks.heads import TaskHead
from tests.conftest import QUIET

NAMES = ["cat", "dog", "bird"]
# 11 hand-made predictions: 5 right, 6 wrong (2→1 three times; 0→1, 1→2, 2→0 once each)
TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2])
PRED = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1, 1, 1])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_per_class_scores_match_counts_by_hand():
    scores = {s.name: s for s in per_class_scores(PRED, TRUE, NAMES)}
    # cat: 2 of 3 predicted cats are cats, 2 of 3 cats found; dog: 1 of 5, 1 of 2; bird: 2 of 3, 2 of 6
    expected = {"cat": (2 / 3, 2 / 3, 3), "dog": (1 / 5, 1 / 2, 2), "bird": (2 / 3, 2 / 6, 6)}
    for name, (precision, recall, support) in expected.items():
        s = scores[name]
        assert (s.precision, s.recall, s.support) == (pytest.approx(precision), pytest.approx(recall), support)
        assert s.f1 == pytest.approx(2 * precision * recall / (precision + recall))


def test_confused_pairs_counted_and_shared_by_hand():
    pairs = confused_pairs(PRED, TRUE, NAMES, top=3)
    expected = [("bird", "dog", 3), ("cat", "dog", 1), ("dog", "bird", 1)]  # ties in class order
    assert [(p.true, p.predicted, p.count) for p in pairs] == expected
    assert pairs[0].share_of_class == pytest.approx(3 / 6) and pairs[0].share_of_errors == pytest.approx(3 / 6)
    assert pairs[1].share_of_class == pytest.approx(1 / 3) and pairs[1].share_of_errors == pytest.approx(1 / 6)


def test_item_losses_are_each_items_own_loss_and_top_losses_come_first():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    losses = item_losses(logits, torch.tensor([0, 0, 2]), "multiclass")
    e = math.e
    assert losses.tolist() == pytest.approx([-math.log(e**2 / (e**2 + 2)), -math.log(1 / (e**3 + 2)), math.log(3)])
    binary = item_losses(torch.tensor([[0.0], [2.0]]), torch.tensor([1, 0]), "binary")
    assert binary.tolist() == pytest.approx([math.log(2), math.log(1 + e**2)])
    assert top_loss_order(torch.tensor([0.5, 2.0, 0.5, 1.0]), 3).tolist() == [1, 3, 0]  # ties in item order


def hand_made_recipe(task, outputs, targets, meta, spec="digits", rows=None, x=None):
    """A stand-in for a trained recipe whose predictions on the test split are ``outputs``."""
    x = torch.zeros(len(targets), *meta.input_shape) if x is None else x
    split = TensorSplit(x, targets, rows)
    empty = TensorSplit(x[:0], targets[:0])
    return SimpleNamespace(task=task, head=TaskHead(task, meta), data=DataBundle(empty, empty, split, meta),
                           config=SimpleNamespace(data=SimpleNamespace(spec=spec)),
                           loader=lambda split, batch_size: [split], outputs=lambda loader: (outputs, targets))


def test_error_analysis_files_of_hand_made_image_predictions(tmp_path):
    meta = DatasetMeta("pets", "multiclass", (1, 4, 4), num_classes=3, class_names=NAMES)
    outputs = torch.nn.functional.one_hot(torch.from_numpy(PRED), 3).float() * 4  # confident: p(pred) = e⁴/(e⁴+2)
    recipe = hand_made_recipe("multiclass", outputs, torch.from_numpy(TRUE), meta)
    lines = write_error_analysis(recipe, tmp_path, "test", 64)
    folder = tmp_path / "errors" / "test"
    per_class = read_csv(folder / "per_class.csv")
    assert [r["class"] for r in per_class] == NAMES
    assert float(per_class[1]["precision"]) == pytest.approx(0.2) and per_class[2]["support"] == "6"
    pairs = read_csv(folder / "confused_pairs.csv")
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs[:2]] == [("bird", "dog", "3"), ("cat", "dog", "1")]
    assert len(pairs) == 4
    assert (folder / "top_losses.png").stat().st_size > 0 and (folder / "confusion_matrix.png").stat().st_size > 0
    assert lines[0] == "error analysis (test, 11 items): per class"
    assert any(line.startswith("  dog ") and line.split()[1:] == ["0.200", "0.500", "0.286", "2"] for line in lines)
    assert lines[-1].startswith("most confused: bird → dog ×3 (50% of bird)")


def test_top_loss_rows_of_a_csv_carry_its_own_lines_and_cells(tmp_path):
    path = tmp_path / "fruit.csv"
    path.write_text("weight,colour,kind\n1.5,red,apple\n\n2.5,green,pear\n3.5,green,pear\n")
    meta = DatasetMeta("fruit", "binary", (2,), num_classes=2, class_names=["apple", "pear"])
    outputs = torch.tensor([[3.0], [-1.0]])  # the items are the file's rows 2 and 0: p(pear) = σ(3), σ(−1)
    recipe = hand_made_recipe("binary", outputs, torch.tensor([1, 0]), meta, spec=f"csv:{path}",
                              rows=torch.tensor([2, 0]))
    write_error_analysis(recipe, tmp_path, "test", 64)
    top = read_csv(tmp_path / "errors" / "test" / "top_losses.csv")
    assert [r["line"] for r in top] == ["2", "5"]  # the apple on line 2 is predicted pear with p = σ(1)
    assert (top[0]["weight"], top[0]["colour"], top[0]["kind"], top[0]["true"], top[0]["predicted"]) == (
        "1.5", "red", "apple", "apple", "apple")
    assert float(top[0]["loss"]) == pytest.approx(math.log(1 + math.e**-1), rel=1e-5)
    assert float(top[1]["probability"]) == pytest.approx(1 / (1 + math.e**-3), rel=1e-5)


def test_regression_residuals_and_largest_errors_in_target_units(tmp_path):
    meta = DatasetMeta("houses", "regression", (1,), num_targets=1, target_mean=[10.0], target_std=[2.0],
                       extra={"target_names": ["price"], "feature_names": ["rooms"]}, mean=[3.0], std=[1.0])
    outputs, targets = torch.tensor([[0.0], [1.0], [0.5]]), torch.tensor([[0.0], [-1.0], [0.5]])
    recipe = hand_made_recipe("regression", outputs, targets, meta, x=torch.tensor([[1.0], [2.0], [0.0]]))
    lines = write_error_analysis(recipe, tmp_path, "test", 64)
    top = read_csv(tmp_path / "errors" / "test" / "top_losses.csv")
    assert (top[0]["row"], top[0]["rooms"], top[0]["true price"], top[0]["predicted price"]) == ("1", "5", "8", "12")
    assert (tmp_path / "errors" / "test" / "residuals.png").stat().st_size > 0
    assert "mean absolute residual 1.333, largest 4" in lines[0]


def test_top_loss_nodes_of_a_graph_are_named_by_the_files_ids(tmp_path):
    from deepzoo.data.bundle import GraphSplit

    meta = DatasetMeta("club", "node", (1,), num_classes=2, class_names=["a", "b"],
                       extra={"node_names": ["ann", "bob", "cy", "dee"]})
    graph = SimpleNamespace(x=torch.tensor([[1.0], [2.0], [3.0], [4.0]]))
    test = GraphSplit(graph, torch.tensor([False, True, False, True]))  # bob and dee
    outputs = torch.tensor([[0.0, 2.0], [0.0, -1.0]])  # bob: b with p = σ(2), dee: b with p = σ(−1)
    recipe = SimpleNamespace(head=TaskHead("multiclass", meta), data=DataBundle(test, test, test, meta),
                             loader=lambda split, batch_size: [split],
                             outputs=lambda loader: (outputs, torch.tensor([0, 1])))
    write_error_analysis(recipe, tmp_path, "test", 64)
    top = read_csv(tmp_path / "errors" / "test" / "top_losses.csv")
    assert [(r["node"], r["x0"], r["true"], r["predicted"]) for r in top] == [("bob", "2", "a", "b"),
                                                                            ("dee", "4", "b", "a")]


# -- diagnostics ---------------------------------------------------------------------------------------
def history(valid, train=None):
    train = train or [1.0] * len(valid)
    return [{"epoch": e + 1, "train/loss": t, "valid/loss": v} for e, (t, v) in enumerate(zip(train, valid))]


def test_still_improving_when_the_best_epoch_is_the_last():
    rows = history([1.0, 0.8, 0.7, 0.65, 0.6])
    found = still_improving(rows, "valid/loss", best_epoch=5)
    assert (found["from_epoch"], found["epochs"], found["change"]) == (2, 3, pytest.approx(0.6 - 0.8))
    assert still_improving(rows, "valid/loss", best_epoch=4) is None
    assert still_improving(rows[:1], "valid/loss", best_epoch=1) is None  # one epoch says nothing


def test_overfitting_named_from_the_first_of_three_widening_epochs():
    valid = [1.0, 0.7, 0.6, 0.65, 0.62, 0.66, 0.7, 0.75, 0.8]  # epoch 4 rises once (noise), 6–9 rise in a row
    train = [1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25]
    found = overfitting_onset(history(valid, train))
    assert found["from_epoch"] == 6 and found["epochs"] == [5, 9]
    assert found["valid_loss"] == [0.62, 0.8] and found["train_loss"] == [0.45, 0.25]
    assert overfitting_onset(history(valid[:7], train[:7])) is None  # only two widening epochs so far
    same_train = history(valid, [0.5] * len(valid))  # valid rises but train does not fall: not a widening gap
    assert overfitting_onset(same_train) is None
    result = diagnose(history(valid, train), "valid/loss", best_epoch=3)
    assert result["still_improving"] is None and result["messages"][0].startswith("overfitting from epoch 6")


def test_a_run_without_validation_loss_is_not_judged():
    rows = [{"epoch": e, "train/loss": 1.0 / e} for e in range(1, 6)]
    assert overfitting_onset(rows) is None


# -- pictures people can read ---------------------------------------------------------------------------
def tick_boxes(ax, axis):
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in getattr(ax, f"get_{axis}ticklabels")() if t.get_visible() and t.get_text()]
    return [t.get_window_extent(renderer) for t in labels], [t.get_text() for t in labels]


def overlapping(boxes):
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


@pytest.mark.parametrize("names", [
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    [f"class number {i}" for i in range(100)],
])
def test_confusion_matrix_labels_never_overlap(names):
    from deepzoo.plots.common import plt
    from deepzoo.plots.supervised import confusion_matrix_figure

    k = len(names)
    counts = np.diag(np.full(k, 5)) + 1
    fig = confusion_matrix_figure(counts, names)
    fig.canvas.draw()
    ax = fig.axes[0]
    for axis in ("x", "y"):
        boxes, texts = tick_boxes(ax, axis)
        assert not overlapping(boxes), axis
        assert len(texts) >= min(k, 20)
    assert texts[:3] == ([n for n in names[:3]] if k == 10 else texts[:3])
    image = ax.images[0]
    assert image.get_clim() == (0.0, 1.0)  # one colour scale: the share of the true class
    plt.close(fig)


def drawn_figure(monkeypatch, module):
    """Keep the figure ``module`` saves (drawn, before it is closed) in the returned dict."""
    kept = {}
    original = module.save_figure

    def keep(fig, path):
        fig.canvas.draw()
        kept["figure"] = fig
        kept["texts"] = {t.get_text() for ax in fig.axes for t in ax.findobj(Text)}
        kept["ticks"] = [tick_boxes(ax, "y") for ax in fig.axes]
        return original(fig, path)

    monkeypatch.setattr(module, "save_figure", keep)
    return kept


def test_graph_plot_labels_nodes_with_the_files_ids(tmp_path, monkeypatch):
    pytest.importorskip("networkx")
    from deepzoo.plots import graph as graph_plots

    ids = ["ann", "bob", "cy", "dee"]
    drawn = drawn_figure(monkeypatch, graph_plots)
    graph_plots.draw_node_predictions(torch.tensor([[0, 1, 2], [1, 2, 3]]), 4, np.array([0, 1, 0, 1]),
                                      np.array([0, 1, 1, 1]), np.array([True, False, False, True]),
                                      ["x", "y"], tmp_path / "g.png", "t", node_names=ids)
    assert set(ids) <= drawn["texts"] and not {"0", "1", "2", "3"} & drawn["texts"]


def test_a_hundred_classes_are_named_on_a_colour_bar_whose_labels_do_not_overlap(tmp_path, monkeypatch):
    from deepzoo.plots import graph as graph_plots
    from deepzoo.plots.classes import class_colours

    names = [f"species {i}" for i in range(100)]
    assert len(set(class_colours(100))) == 100  # no colour shared by two classes
    drawn = drawn_figure(monkeypatch, graph_plots)
    points = np.random.default_rng(0).normal(size=(300, 5))
    graph_plots.embedding_plot(points, np.arange(300) % 100, names, tmp_path / "e.png", "t")
    plot, bar = drawn["figure"].axes
    assert plot.get_legend() is None  # 100 legend entries would not be read
    boxes, texts = drawn["ticks"][1]
    assert len(texts) >= 20 and not overlapping(boxes) and set(texts) <= set(names)


def test_per_label_curves_share_one_panel():
    from deepzoo.plots.common import curve_panels

    keys = ["epoch", "step", "train/loss", "valid/loss", "valid/f1", "valid/f1_cat", "valid/f1_dog", "valid/map", "lr"]
    assert curve_panels(keys) == {"loss": ["train/loss", "valid/loss"], "f1": ["valid/f1"],
                                  "f1 per label": ["valid/f1_cat", "valid/f1_dog"], "map": ["valid/map"]}


def test_node_ids_of_a_node_table_are_kept_in_the_meta(tmp_path):
    pytest.importorskip("torch_geometric")
    (tmp_path / "edges.csv").write_text("source,target\nann,bob\nbob,cy\ncy,dee\ndee,ann\n")
    (tmp_path / "nodes.csv").write_text("id,f,label\nann,1,a\nbob,2,b\ncy,3,a\ndee,4,b\n")
    bundle = api.load_dataset(f"edgelist:{tmp_path / 'edges.csv'}?nodes=nodes.csv&valid_fraction=0&test_fraction=0")
    names = bundle.meta.extra["node_names"]
    assert sorted(names) == ["ann", "bob", "cy", "dee"]


def test_style_losses_that_reach_zero_leave_no_gap():
    from deepzoo.style.plots import loss_curves, loss_floor

    rows = [{"iteration": i, "width": 64, "total": 2.0 / (i + 1), "content": 0.0 if i < 2 else 0.5 / i,
             "style": 1.0 / (i + 1), "tv": 0.0, "range": 0.0} for i in range(5)]
    curves = loss_curves(rows)
    assert {key for key, *_ in curves} == {"total", "content", "style"}  # never positive: not drawn
    floor = loss_floor(rows)
    assert floor == pytest.approx(min(2.0 / 5, 0.5 / 4, 1.0 / 5) / 10)
    for _, _, _, values in curves:
        assert all(math.isfinite(v) and v > 0 for v in values)
    content = next(values for key, _, _, values in curves if key == "content")
    assert content[:2] == [floor, floor]


# -- a real run: written at the end of training, regenerated by evaluate --split, costed by compare --------
@pytest.mark.slow
def test_a_run_writes_its_analysis_and_evaluate_regenerates_a_split(runs, capsys):
    drawn = [q for q in QUIET if q != "train.plots=false"] + ["train.epochs=2"]
    api.train("mlp", "moons", name="a", echo=lambda *a: None, overrides=drawn)
    api.train("mlp", "moons", name="b", echo=lambda *a: None, overrides=QUIET + ["train.epochs=1"])  # compare's other
    folder = runs / "a"
    assert (folder / "errors" / "test" / "per_class.csv").is_file()
    diagnostics = json.loads((folder / "diagnostics.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    assert diagnostics["best_epoch"] == summary["best_epoch"]
    size = json.loads((folder / "model_size.json").read_text())
    model = api.load_run("a").model
    assert size["parameters"] == sum(p.numel() for p in model.parameters())
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert size["macs"] == sum(m.in_features * m.out_features for m in linear)  # an MLP's multiply-adds

    assert cli.main(["evaluate", "a", "--split", "valid"]) == 0
    printed = capsys.readouterr().out
    rows = read_csv(folder / "errors" / "valid" / "per_class.csv")
    assert sum(int(r["support"]) for r in rows) == len(api.load_run("a").recipe.data.valid)
    assert "error analysis (valid" in printed and "valid/loss" not in printed.split("evaluation of")[0]

    assert cli.main(["compare", "a", "b", "--out", str(runs / "c.png"), "--html", str(runs / "c.html")]) == 0
    cost = capsys.readouterr().out.split("\ncost\n")[1].splitlines()
    assert cost[2].split()[-2:] == [f"{summary['seconds']:.4g}",
                                    f"{json.loads((runs / 'b' / 'summary.json').read_text())['seconds']:.4g}"]
    assert cost[3].split()[-1] == str(size["parameters"])
    from deepzoo.commands.compare import run_cost

    (runs / "b" / "model_size.json").unlink()  # a run trained before model_size.json: counted from its weights
    assert run_cost(runs / "b", {})[1:] == (size["parameters"], None)


def test_evaluate_split_with_data_is_one_line(runs, capsys):
    assert cli.main(["evaluate", "nothing", "--split", "valid", "--data", "moons"]) == 2
    assert "--split scores one of the run's own splits" in capsys.readouterr().err
