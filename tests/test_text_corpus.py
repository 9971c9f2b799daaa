"""Corpora for ``deepzoo explain``: packaged model cards, docs pages, user CSV files and folders."""

from __future__ import annotations

import re

import pytest

from deepzoo.cli import build_parser
from deepzoo.errors import DataError
from deepzoo.models import list_models
from deepzoo.text.corpus import (
    builtin_corpus,
    load_corpus,
    model_cards,
    parse_markdown,
    plain_text,
    without_code_blocks,
)

# The model names deepzoo issue 11 asks a card for, and the other registered ones (linear, the small and
# hybrid ViTs, the MNIST-1D CNN).
CARDED_NAMES = (
    "linear mlp lenet cnn alexnet vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn googlenet "
    "resnet18 resnet34 resnet50 resnet101 resnet152 resnet20 resnet32 resnet44 resnet56 resnet110 "
    "mobilenet_v1 vit_b_16 vit_l_16 vit_h_14 vit_hybrid_r50 vit_tiny_patch4_32 vit_tiny_patch2_8 mnist1d_cnn "
    "gan dcgan cgan acgan srgan pix2pix cyclegan ae sparse_ae denoising_ae contractive_ae "
    "conv_ae vae aae gnn gcn simclr rotation jigsaw relpatch exemplar style_transfer unet "
    "gpt_nano gpt_micro gpt_mini gpt2"
).split()


def card_names() -> set[str]:
    return {name for card in model_cards() for name in card.models}


def test_every_requested_model_has_exactly_one_card():
    names = [name for card in model_cards() for name in card.models]
    assert sorted(names) == sorted(CARDED_NAMES)


def test_every_registered_model_has_a_card():
    assert set(list_models()) <= card_names()


@pytest.mark.parametrize("card", model_cards(), ids=lambda c: c.source)
def test_card_header_is_complete_and_its_command_trains_one_of_its_models(card):
    assert card.title and card.paper and card.models
    words = card.command.split()
    assert words[0] == "deepzoo"
    args = build_parser().parse_args(words[1:])  # the command is one the CLI accepts
    if args.command == "train":
        assert args.data and {args.model, args.task} & set(card.models)
    else:
        assert (args.command, list(card.models)) == ("stylize", ["style_transfer"])  # its own verb
    assert re.search(r"\b(19|20)\d\d\b", card.paper), "the paper line names the year"
    assert "## Knobs" in card.text and "## Reference numbers" in card.text


def test_docs_pages_of_the_source_checkout_are_indexed():
    sources = {doc.source for doc in builtin_corpus()}
    assert "docs/explain.md" in sources and "cards/resnet_cifar.md" in sources


def test_markdown_header_parsing_and_plain_text():
    doc = parse_markdown(
        "# Title here\nmodels: a, b\npaper: X 2020\ncommand: deepzoo train --model a\n\nBody.", "x.md"
    )
    assert (doc.title, doc.models, doc.paper, doc.command, doc.text) == (
        "Title here",
        ("a", "b"),
        "X 2020",
        "deepzoo train --model a",
        "Body.",
    )
    plain = parse_markdown("No heading, just text with `code`.", "notes/page.md")
    assert (plain.title, plain.models, plain.command) == ("page", (), "")
    assert plain_text("## Head\nSome **bold** `vit_b_16` [link](http://x).\n```\ncode\n```") == (
        "\nSome bold vit_b_16 link.\n\n"
    )
    assert without_code_blocks("a\n```sh\nresnt\n```\nb") == "a\n\n\n\nb"


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_corpus_any_column_order_quoted_newlines_and_extra_columns(tmp_path):
    csv_file = write(
        tmp_path / "c.csv",
        'title,extra,full_text,source\nFirst,x,"Line one.\nLine two, with a comma.",s1\n,y,Second text.,s2\n',
    )
    docs = load_corpus(csv_file)
    assert [(d.title, d.source, d.text) for d in docs] == [
        ("First", "s1", "Line one.\nLine two, with a comma."),
        ("s2", "s2", "Second text."),  # an empty title falls back to the source
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source,title\na,A\n", "missing column(s) full_text"),
        (
            'source,full_text,title\na,"fine",A\nb,"never closed,B\nc,x,C\n',
            "row 2 (line 3): unterminated quote",
        ),
        ("source,full_text,title\na,text,A\nb,   ,B\n", "row 2 (line 3): empty full_text"),
        ("source,full_text,title\na,text,A,extra\n", "row 1 (line 2): 4 fields, the header has 3"),
        ("", "empty file"),
        ("source,full_text,title\n", "no rows after the header"),
    ],
)
def test_malformed_csv_raises_one_line_naming_the_file_and_row(tmp_path, content, message):
    csv_file = write(tmp_path / "bad.csv", content)
    with pytest.raises(DataError) as err:
        load_corpus(csv_file)
    assert message in str(err.value) and str(csv_file) in str(err.value)
    assert "\n" not in str(err.value)


def test_folder_corpus_reads_markdown_and_text_recursively(tmp_path):
    write(
        tmp_path / "a.md",
        "# Alpha page\nmodels: m1\npaper: P 2001\ncommand: deepzoo train --model m1\n\nAbout alpha.",
    )
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "b.txt", "Plain beta text.")
    write(tmp_path / "ignored.csv", "not,read\n")
    docs = load_corpus(tmp_path)
    assert [(d.source, d.title, d.command) for d in docs] == [
        ("a.md", "Alpha page", "deepzoo train --model m1"),
        ("sub/b.txt", "b", ""),
    ]


def test_folder_and_path_errors(tmp_path):
    with pytest.raises(DataError, match="no .md, .markdown, .txt files"):
        load_corpus(tmp_path)
    write(tmp_path / "empty.md", "  \n")
    with pytest.raises(DataError, match="empty.md: empty document"):
        load_corpus(tmp_path)
    with pytest.raises(DataError, match="corpus not found"):
        load_corpus(tmp_path / "missing.csv")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.md").unlink()
    with pytest.raises(DataError, match="latin1.txt: not UTF-8"):
        load_corpus(tmp_path)
