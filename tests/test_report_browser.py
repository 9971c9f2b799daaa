"""A run's report.html in a real browser (headless Chromium from the system packages; .ci/run installs
it): the page loads with no console message and no error event, every picture decodes to a non-zero
size, and a screenshot is written. Without a browser on the machine this test skips and says why."""

from __future__ import annotations

import pytest
from PIL import Image

from deepzoo import api
from deepzoo.report.browser import check_page, find_browser, screenshot
from deepzoo.report.folder import file_groups

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


def test_a_run_report_loads_cleanly_in_headless_chromium(runs, tmp_path):
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it)")
    run = api.train("mlp", "digits", name="seen", echo=lambda *a: None,
                    overrides=["train.progress=false", "train.tensorboard=false", "train.epochs=1"])
    page = run.dir / "report.html"
    check = check_page(page, browser)
    assert check.console == [] and check.errors == 0
    pictures = sum(len(group.pictures) for group in file_groups(run.dir))
    assert len(check.images) == pictures > 0
    assert all(width > 0 and height > 0 for width, height in check.images), check.images
    shot = screenshot(page, tmp_path / "report.png", browser, width=900, height=700)
    with Image.open(shot) as image:
        assert image.size == (900, 700)
        assert sum(1 for count in image.convert("L").histogram() if count) > 10  # drawn, not a blank page


def test_the_check_sees_a_broken_picture_and_a_console_message(tmp_path):
    """The checker itself can fail: an undecodable picture and a console message are both reported."""
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it)")
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                    '<img src="data:image/png;base64,AAAA"><script>console.error("seen")</script></body></html>')
    check = check_page(page, browser)
    assert check.images == [(0, 0)] and check.errors == 1
    assert len(check.console) == 1 and '"seen"' in check.console[0]
