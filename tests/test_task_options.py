"""Task options (``task_args``): every recipe declares its options (``recipes.base.Option``) and one
resolver parses them — booleans, numbers and choices from YAML or CLI text — and answers an unknown key
with the closest declared names, in one line (issue 18 §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import deepzoo
from deepzoo import api
from deepzoo.cli import main
from deepzoo.errors import ConfigError
from deepzoo.recipes import list_tasks, recipe_for_task
from deepzoo.recipes.base import Option, resolve_options
from deepzoo.recipes.gan import GanRecipe
from tests.conftest import QUIET

RECIPES = Path(deepzoo.__file__).parent / "recipes"
TINY_GAN = QUIET + ["model.hidden=[32]", "model.latent_dim=16", "task_args.classifier_run=none"]
SETS = [arg for item in TINY_GAN + ["train.checkpoint=false"] for arg in ("--set", item)]


def gan_recipe(**task_args):
    """The MLP gan's recipe on digits with ``task_args`` given as they are (strings stay strings)."""
    cfg = api.build_config(model="gan", data="digits", task="gan", overrides=TINY_GAN)
    cfg.task_args.update(task_args)
    return api.build_recipe(cfg)[0]


# -- every task declares its options ------------------------------------------------------------------
@pytest.mark.parametrize("task", list_tasks())
def test_every_registered_task_resolves_its_declared_defaults(task):
    declared = recipe_for_task(task).options_for(task)
    values = resolve_options(task, declared, {})
    assert values == {key: option.default for key, option in declared.items()}
    assert resolve_options(task, declared, values) == values  # each default fits its own declaration
    assert all(option.help for option in declared.values()), "every option has a one-line help"


def test_recipes_read_task_args_only_through_the_resolver():
    """No recipe reads ``config.task_args`` itself (a typo would then be ignored again); writing a
    resolved value back (exemplar's ``seeds``) is allowed."""
    reads = []
    for path in sorted(RECIPES.glob("*.py")):
        tree = ast.parse(path.read_text())
        stored = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)}
        reads += [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and node.attr == "task_args" and id(node) not in stored
                  and path.name != "base.py"]
    assert not reads, f"task_args read outside the resolver: {', '.join(reads)}"


# -- unknown keys ---------------------------------------------------------------------------------------
def test_a_typo_in_a_gan_option_fails_in_one_line_with_the_close_match(runs, capsys):
    argv = ["train", "--model", "gan", "--data", "digits", "--epochs", "1", "--runs-dir", str(runs), *SETS,
            "--set", "task_args.label_smothing=0.1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "task gan: unknown task option(s) label_smothing" in err, err
    assert "did you mean label_smoothing?" in err and "(known: k, saturating, label_smoothing," in err
    assert not runs.exists() or not any(runs.iterdir()), "no run folder for a config error"


def test_unknown_keys_are_all_named_and_a_task_without_options_says_so():
    with pytest.raises(ConfigError, match=r"option\(s\) nois, sturating; did you mean noise, saturating\?"):
        resolve_options("gan", GanRecipe.options, {"sturating": True, "nois": "uniform"})
    with pytest.raises(ConfigError, match=r"^task reconstruct: unknown task option\(s\) k \(it takes none\)$"):
        resolve_options("reconstruct", recipe_for_task("reconstruct").options_for("reconstruct"), {"k": 3})


# -- values from text -----------------------------------------------------------------------------------
def test_booleans_and_numbers_given_as_text_take_effect(runs):
    default = gan_recipe()
    assert (default.saturating, default.reuse_fakes, default.k) == (False, False, 1)  # the MLP gan: fresh noise
    recipe = gan_recipe(saturating="true", fresh_noise="false", label_smoothing="0.1")
    assert recipe.saturating is True and recipe.reuse_fakes is True
    assert recipe.real_label == pytest.approx(0.9)
    assert gan_recipe(saturating="false", k="2").saturating is False
    assert gan_recipe(k="2").phases == ("discriminator", "discriminator", "generator")


@pytest.mark.parametrize("override, message", [
    ("task_args.k=two", "task gan: task_args.k='two' must be a whole number — discriminator steps"),
    ("task_args.k=1.5", "task_args.k=1.5 must be a whole number"),
    ("task_args.saturating=maybe", "task_args.saturating='maybe' must be true or false"),
    ("task_args.label_smoothing=much", "task_args.label_smoothing='much' must be a number"),
    ("task_args.noise=gauss", "task_args.noise='gauss' is not one of normal, uniform"),
])
def test_a_value_of_the_wrong_kind_fails_in_one_line(runs, capsys, override, message):
    argv = ["train", "--model", "gan", "--data", "digits", "--epochs", "1", "--runs-dir", str(runs), *SETS,
            "--set", override]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


@given(st.integers(-10**6, 10**6))
def test_whole_numbers_read_from_text_and_from_integral_floats(n):
    option = Option(1)
    assert option.parse(str(n)) == n and option.parse(float(n)) == n and option.parse(f"{n}.0") == n
    assert type(option.parse(str(n))) is int


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_read_back_from_their_text(x):
    assert Option(0.5).parse(repr(x)) == x and Option(0.5).parse(x) == x


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("1", True), ("0", False),
                                         ("yes", True), ("no", False), (True, True), (0, False)])
def test_booleans_read_from_text(text, value):
    assert Option(False).parse(text) is value


@pytest.mark.parametrize("option, value", [
    (Option(False), 2), (Option(False), "maybe"), (Option(1), True), (Option(1), 2.5), (Option(0.1), "inf"),
    (Option(0.1), [1]), (Option("a", choices=("a", "b")), "c"), (Option("x"), True), (Option(False), None),
    (Option(None, kind="floats"), ["a"]),
])
def test_values_that_do_not_fit_their_option_are_refused(option, value):
    with pytest.raises(ValueError):
        option.parse(value)


def test_an_unset_default_accepts_none_and_lists_of_numbers_read_as_floats():
    weights = Option(None, kind="floats")
    assert weights.parse(None) is None and weights.parse([1, "2"]) == [1.0, 2.0] and weights.parse(3) == [3.0]
    assert Option(None, kind="str").parse(7) == "7"  # a class named 7 in YAML is the number 7
    with pytest.raises(ValueError, match="give the kind"):
        Option(None)
    with pytest.raises(ValueError, match="choices"):
        Option("a", kind="str", choices=("a",))
