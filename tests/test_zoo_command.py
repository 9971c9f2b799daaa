"""``deepzoo models`` and ``deepzoo models show`` through the CLI entry point, and the layer table."""

from __future__ import annotations

import json

import pytest

import deepzoo.models as zoo
from deepzoo.cli import main
from deepzoo.models import _catalogue, _counting
from deepzoo.models._counting import build_on_meta, count_parameters
from deepzoo.models._summary import format_table, layer_table


def test_listing_shows_every_model_with_its_parameters(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert set(zoo.list_models()) <= set(lines)  # other families' models too
    assert "11,689,512" in lines["resnet18"] and "1.81 G" in lines["resnet18"]
    assert "4,231,976" in lines["mobilenet_v1"] and "568.74 M" in lines["mobilenet_v1"]
    assert "He et al. 2016" in lines["resnet20"]


def test_listing_as_json_gives_exact_counts(capsys, monkeypatch):
    monkeypatch.setattr(zoo, "list_models", lambda: ["resnet20", "vit_tiny_patch2_8"])
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["resnet20"]["params"] == 269_722 and rows["resnet20"]["macs"] == 40_551_040
    assert rows["resnet20"]["input_size"] == [3, 32, 32] and rows["resnet20"]["family"] == "resnet"
    assert rows["vit_tiny_patch2_8"]["input_size"] == [3, 8, 8]


def test_listing_shows_a_dash_for_models_without_input_size(capsys, monkeypatch):
    @zoo.register_model("zoo_test_no_input", family="test", paper="-")
    def no_input(num_classes: int = 3):
        import torch

        return torch.nn.Linear(4, num_classes)

    # without a recorded catalogue the listing reads the registry and counts live
    monkeypatch.setattr(_catalogue, "recorded_catalogue", lambda: {})
    monkeypatch.setattr(_counting, "list_models", lambda: ["zoo_test_no_input"])
    try:
        assert main(["models", "--json"]) == 0
    finally:
        del zoo.MODELS._entries["zoo_test_no_input"]
    [row] = json.loads(capsys.readouterr().out)
    assert row["params"] == 15 and row["macs"] is None and row["input_size"] is None


def test_show_prints_the_layer_table_and_totals_next_to_the_paper(capsys):
    assert main(["models", "show", "resnet50", "--set", "variant=paper"]) == 0
    out = capsys.readouterr().out
    assert "layer1.0.conv1" in out and "[1, 64, 112, 112]" in out
    assert "parameters:       25,557,032   reference 25,557,032" in out
    assert "3,857,973,248   = 3.86 G at 3×224×224" in out and "reference 3.80 G" in out


def test_show_takes_yaml_values_and_an_input_size(capsys):
    assert main(["models", "show", "mobilenet_v1", "--set", "width_mult=0.25", "--input-size", "128"]) == 0
    out = capsys.readouterr().out
    assert "parameters:          470,072" in out and "at 3×128×128" in out


@pytest.mark.parametrize("argv, message", [
    (["models", "show", "resnt18"], "unknown model 'resnt18'; did you mean resnet18"),
    (["models", "show", "resnet18", "--set", "variant"], "expected KEY=VALUE"),
    (["models", "show", "resnet18", "--set", "depth=3"], "does not take depth"),
])
def test_show_user_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_layer_table_parameters_add_up_and_unrun_layers_are_listed():
    model = build_on_meta("googlenet", aux_logits=True)
    rows = layer_table(model, (3, 224, 224))
    assert sum(r.params for r in rows) == count_parameters(model) == 13_004_888
    aux = [r for r in rows if r.name.startswith("aux")]
    assert aux and all(r.output_shape == "-" for r in aux)  # eval mode skips the auxiliary heads
    head = next(r for r in rows if r.name == "head")
    assert (head.type, head.output_shape, head.params) == ("Linear", "[1, 1000]", 1024 * 1000 + 1000)


def test_layer_table_lists_parameters_owned_by_containers():
    rows = layer_table(build_on_meta("vit_tiny_patch2_8", depth=1), (3, 8, 8))
    by_name = {r.name: r for r in rows}
    assert by_name["VisionTransformer"].params == 192  # the class token
    assert by_name["encoder"].params == 17 * 192  # position embeddings: 16 patches + class token
    header, first = format_table(rows).splitlines()[:2]
    assert header.split() == ["layer", "type", "output", "shape", "params"]
    assert first.split() == ["conv_proj", "Conv2d", "[1,", "192,", "4,", "4]", "2,496"]  # 3·2·2·192 + 192
