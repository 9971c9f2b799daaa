"""The HTML report without a browser: every section present, pictures embedded as data: URIs that
decode to the run's own files, no external URL and no script, user strings escaped, written after
training (a resumed run too) and by ``deepzoo report``, a study's page, and ``compare --html``."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from deepzoo import api, cli
from deepzoo.report.folder import thinned

pytestmark = pytest.mark.usefixtures("one_thread")

EVIL = "<script>alert(1)</script>"
CLASSES = [EVIL, "a&b", "plain"]
ROWS = 90
#: plots on (the pictures are what the report embeds), no TensorBoard, no progress bars
SETTINGS = ["train.progress=false", "train.tensorboard=false", "train.epochs=1"]


class Page(HTMLParser):
    """What a test reads from a report: section titles, pictures (src), every URL-valued attribute,
    every element name, and the text of each <h2> section."""

    def __init__(self, source: str):
        super().__init__()
        self.titles, self.images, self.urls, self.tags, self.section_text = [], [], [], set(), {}
        self._in_h2, self._section = False, None
        self.feed(source)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href", "action", "data", "poster") and v]
        if tag == "img":
            self.images.append((attrs["src"], self._section))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self._section = data
            self.titles.append(data)
            self.section_text[data] = ""
        elif self._section is not None:
            self.section_text[self._section] += data


def decoded(src: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):])))
    image.load()
    return image


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two one-epoch runs on a CSV whose class names hold markup: ``a``, and ``b`` with another learning
    rate and no plots (matplotlib is most of a tiny run's time)."""
    root = tmp_path_factory.mktemp("report")
    data = root / "points.csv"
    with data.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "label"])
        for i in range(ROWS):
            k = i % 3
            writer.writerow([k + 0.1 * (i % 7), -k + 0.05 * (i % 5), CLASSES[k]])
    spec = f"csv:{data}?target=label"
    runs_dir = str(root / "runs")
    api.train("mlp", spec, name="a", runs_dir=runs_dir, echo=lambda *a: None, overrides=SETTINGS)
    api.train("mlp", spec, name="b", runs_dir=runs_dir, echo=lambda *a: None,
              overrides=SETTINGS + ["optim.lr=0.01", "train.plots=false"])
    return root / "runs"


def test_the_report_written_after_training_has_every_section(trained):
    run = trained / "a"
    page = Page((run / "report.html").read_text())
    for title in ("Run", "Metrics", "Plots", "Data", "Model", "Config", "Versions"):
        assert title in page.titles, page.titles
    if (run / "diagnostics.json").is_file():
        assert "Diagnostics" in page.titles
    summary = json.loads((run / "summary.json").read_text())
    metrics = page.section_text["Metrics"]
    assert f"{summary['metrics']['valid/loss']:.4g}" in metrics and f"best by {summary['monitor']}" in metrics
    sizes = json.loads((run / "data_sizes.json").read_text())
    assert sum(sizes.values()) == ROWS  # every row of the CSV, in one split or another
    assert f"train items{sizes['train']}" in page.section_text["Data"]
    assert "python" in page.section_text["Versions"] and summary["versions"]["torch"] in page.section_text["Versions"]


def test_every_picture_is_embedded_and_decodes_to_the_run_file(trained):
    run = trained / "a"
    page = Page((run / "report.html").read_text())
    files = sorted(p for p in run.rglob("*.png") if p.relative_to(run).parts[0] not in ("tb", "checkpoints"))
    assert len(page.images) == len(files) > 0
    for src, _ in page.images:
        image = decoded(src)
        assert image.width > 0 and image.height > 0
    curves = base64.b64encode((run / "plots" / "curves.png").read_bytes()).decode()
    assert any(src.endswith(curves) for src, _ in page.images)  # the run's own file, byte for byte
    assert [section for _, section in page.images].count("Plots") == len(list((run / "plots").glob("*.png")))


def test_no_external_url_no_script_and_user_strings_escaped(trained):
    source = (trained / "a" / "report.html").read_text()
    page = Page(source)
    assert page.urls and all(url.startswith(("data:", "#")) for url in page.urls), page.urls
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert "<script" not in source.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source and "a&amp;b" in source
    assert EVIL in page.section_text["Data"]  # shown literally, as text


def test_report_command_writes_it_again_and_to_another_file(trained, tmp_path, capsys):
    run = trained / "b"
    (run / "report.html").unlink()
    assert cli.main(["report", "b", "--runs-dir", str(trained)]) == 0
    assert (run / "report.html").is_file()
    out = tmp_path / "elsewhere" / "b.html"
    assert cli.main(["report", str(run), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"report: {out}"
    assert "Metrics" in Page(out.read_text()).titles
    assert cli.main(["report", "nothing-here", "--runs-dir", str(trained)]) == 2
    assert cli.main(["report", str(run), "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 2  # one line each


def test_a_damaged_or_unfinished_run_still_gets_a_report(trained, tmp_path):
    run = tmp_path / "c"
    shutil.copytree(trained / "a", run)
    (run / "summary.json").write_text("{ torn")
    (run / "meta.json").unlink()
    assert cli.main(["report", str(run)]) == 0
    page = Page((run / "report.html").read_text())
    assert "summary.json: cannot be read (JSONDecodeError)" in page.section_text["Run"]
    assert page.section_text["Data"] == "meta.json: not written"
    assert "metrics.csv at epoch 1 (the last)" in page.section_text["Metrics"]


def test_a_resumed_run_writes_its_report_again(trained, tmp_path):
    shutil.copytree(trained / "a", tmp_path / "runs" / "a")
    api.train(name="a", resume=True, epochs=2, runs_dir=str(tmp_path / "runs"), echo=lambda *a: None)
    summary = json.loads((tmp_path / "runs" / "a" / "summary.json").read_text())
    assert summary["epochs_run"] == 2
    run_text = Page((tmp_path / "runs" / "a" / "report.html").read_text()).section_text["Run"]
    assert f"finished: best epoch {summary['best_epoch']} of 2" in run_text


def test_compare_html_puts_the_runs_side_by_side(trained, tmp_path, capsys):
    out = tmp_path / "side.html"
    assert cli.main(["compare", "a", "b", "--runs-dir", str(trained), "--out", str(tmp_path / "c.png"),
                     "--html", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"report: {out}"
    page = Page(out.read_text())
    assert {"Runs", "Final metrics", "Curves", "Pictures side by side"} <= set(page.titles)
    with (trained / "a" / "metrics.csv").open() as f:
        curves = [c for c in next(csv.reader(f)) if "/" in c and not c.startswith("lr")]
    assert [section for _, section in page.images].count("Curves") == len(curves)  # one figure per metric
    shared = [p.name for p in (trained / "a" / "plots").glob("*.png") if p.name != "curves.png"]
    assert shared and [section for _, section in page.images].count("Pictures side by side") == len(shared)
    assert f"b: no {shared[0]}" in page.section_text["Pictures side by side"]  # b drew no plots
    assert "optim.lr" in page.section_text["Config (keys that differ)"]
    for src, _ in page.images:
        decoded(src)


def test_a_study_folder_gets_a_page_without_its_trials_pictures(tmp_path):
    study = tmp_path / "tune-x"
    (study / "plots").mkdir(parents=True)
    (study / "study.yaml").write_text("name: tune-x\nmonitor: valid/loss\ndirection: minimize\nsampler: tpe\n"
                                      "pruner: median\nspace:\n  optim.lr: {low: 0.001, high: 0.1, log: true}\n")
    (study / "best.yaml").write_text("optim:\n  lr: 0.01\n")
    (study / "trials.csv").write_text("number,status,valid/loss\n0,complete,0.5\n1,pruned,0.9\n")
    Image.new("RGB", (40, 30), "red").save(study / "plots" / "history.png")
    (study / "trial-0" / "plots").mkdir(parents=True)  # a trial: a run with its own report
    (study / "trial-0" / "config.yaml").write_text("name: trial-0\n")
    Image.new("RGB", (8, 8)).save(study / "trial-0" / "plots" / "curves.png")
    assert cli.main(["report", str(study)]) == 0
    page = Page((study / "report.html").read_text())
    assert page.titles == ["Study", "Best config", "Trials", "Plots", "Versions"]
    assert [decoded(src).size for src, _ in page.images] == [(40, 30)]
    assert "optim.lr" in page.section_text["Study"] and "pruned" in page.section_text["Trials"]


def test_a_long_progression_is_thinned_evenly_keeping_first_and_last():
    items = [Path(f"epoch_{i:03d}.png") for i in range(10)]
    assert thinned(items, limit=4) == [items[0], items[3], items[6], items[9]]
    assert thinned(items[:3], limit=4) == items[:3]
