"""The HTML report rendered by headless Chromium (issue 13): the headline and both charts are in
the rendered page, and the screenshot shows the charts' line colours.

Chromium comes from scripts/setup-chromium.sh (Debian's ``chromium``); the test skips where it
is absent.  Network off: the page must render from the file alone.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="charts need the budget[report] extra")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup-chromium.sh)")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--proxy-server=127.0.0.1:9",  # any fetch the page tried would fail
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from budget.report.export import write_html
    from budget.service.reporting import ReportRequest, make_report

    report = make_report(ReportRequest(task="swe-bench-lite", dollars=Decimal(50)))
    path = write_html(report, tmp_path_factory.mktemp("html") / "report.html")
    return path, report.headline


def test_rendered_dom_has_headline_and_charts(page: tuple[Path, str], tmp_path: Path) -> None:
    path, headline = page
    out = _chromium(tmp_path, "--dump-dom", path.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert 'id="headline"' in dom and headline.split(" (")[0].replace("&", "&amp;") in dom
    for chart in ("chart-frontier", "chart-coverage"):
        start = dom.index(f'id="{chart}"')
        assert "<svg" in dom[start : start + 2000]
    assert "your budget" in dom and "samples per problem" in dom


@pytest.mark.parametrize("size", ["1000,2600", "390,2400"], ids=["desktop", "phone"])
def test_screenshot_shows_the_charts(page: tuple[Path, str], tmp_path: Path, size: str) -> None:
    from matplotlib import image

    path, _ = page
    shot = tmp_path / "shot.png"
    out = _chromium(tmp_path, f"--window-size={size}", f"--screenshot={shot}", path.as_uri())
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    pixels = image.imread(shot)[:, :, :3]
    width = int(size.split(",")[0])
    assert pixels.shape[1] == width
    # The first series' blue (#1f77b4) and the second's red (#d62728) are drawn somewhere.
    for rgb in ((0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)):
        target = [c / 255 for c in rgb]
        close = (abs(pixels - target) < 0.08).all(axis=2)
        assert close.sum() > 50, f"no pixels of colour {rgb}"
