"""``report.html`` in a real browser: headless Chromium (Debian's package, installed by
``make setup``) renders the page; the screenshot must show the plots' bars and the DOM the
tables. Deselect with ``-m "not browser"`` on a machine without Chromium."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from agentshield.eval import PolicyAgent, Report, load_suite, run_suite
from agentshield.sandbox import generate_tasks
from agentshield.sandbox.brittle import BrittleAgent

pytestmark = pytest.mark.browser

#: The plots' colours (html.py): clean bars, this run's bars, tool-error bars.
GREY, ORANGE, BLUE = (0x9A, 0xA5, 0xB1), (0xD9, 0x48, 0x0F), (0x19, 0x71, 0xC2)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "Chromium is not installed: `make setup` installs Debian's package "
            "(apt-get install chromium); or deselect this test with -m 'not browser'"
        )
    return found


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pixels(png: bytes) -> Counter[tuple[int, int, int]]:
    """RGB pixel counts of an 8-bit RGB/RGBA PNG (stdlib only: chunks, zlib, unfiltering)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    prev, counts, i = bytearray(stride), Counter[tuple[int, int, int]](), 0
    for _ in range(height):
        filt, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if filt == 1:
                line[x] = (line[x] + a) & 255
            elif filt == 2:
                line[x] = (line[x] + b) & 255
            elif filt == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        counts.update((line[x], line[x + 1], line[x + 2]) for x in range(0, stride, channels * 2))
        prev = line
    return counts


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tasks = generate_tasks("poi", "test", n=6)
    results = run_suite(PolicyAgent(BrittleAgent(), name="brittle"), tasks, load_suite("smoke"))
    out = tmp_path_factory.mktemp("report")
    Report("brittle", results, config={"suite": "smoke"}).write(out)
    return out


def test_chromium_renders_the_tables(report_dir: Path, tmp_path: Path) -> None:
    dom = _browser("--dump-dom", (report_dir / "report.html").as_uri(), profile=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "AgentShield evaluation: brittle" in html
    assert html.count("<table>") == 3 and html.count("<svg") == 2
    for tier in ("1 perception", "2 interaction", "3 reasoning", "4 internalization"):
        assert f"<td>{tier}</td>" in html


def test_the_screenshot_shows_the_plots(report_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = _browser(
        "--window-size=1200,1000",
        f"--screenshot={shot}",
        (report_dir / "report.html").as_uri(),
        profile=tmp_path / "profile",
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = _pixels(shot.read_bytes())
    total = sum(pixels.values())
    # Bars of all three series are on screen, and the page is mostly white background.
    for colour in (GREY, ORANGE, BLUE):
        assert pixels[colour] > 200, (colour, pixels.most_common(5))
    assert pixels[(255, 255, 255)] > total / 2
