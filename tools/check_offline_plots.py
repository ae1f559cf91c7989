"""Check that `dvc plots show` renders every chart with the network unreachable.

Renders the page that `dvc plots show` writes in headless Chromium with every host
name mapped to nowhere and a dead proxy, then counts the charts vega-embed drew.
Exits 1 if any chart is missing or the page loads anything from outside.

    python tools/check_offline_plots.py [--chromium /usr/bin/chromium] [--screenshot F]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves
    "--proxy-server=127.0.0.1:9",  # and nothing goes out directly either
    "--virtual-time-budget=15000",
]


def render(chromium: str, page: Path, extra: list[str]) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    return result.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--screenshot", help="also save a PNG of the page here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dvc_plots_") as out:
        return check(Path(out), args.chromium, args.screenshot)


def check(out: Path, chromium: str, screenshot: str | None) -> int:
    """Render `dvc plots show`'s page written into ``out``; 0 if every chart is drawn."""
    subprocess.run(["dvc", "plots", "show", "-o", str(out)], check=True, capture_output=True)
    page = out / "index.html"
    html = page.read_text()
    remote = re.findall(r"<script[^>]+src=\"(https?:[^\"]+)\"", html)
    expected = len(re.findall(r"vegaEmbed\(", html))
    dom = render(chromium, page, ["--dump-dom"])
    drawn = len(re.findall(r"class=\"marks\"", dom))
    if screenshot:
        render(chromium, page, [f"--screenshot={Path(screenshot).resolve()}",
                                "--window-size=1400,4000"])  # fmt: skip
    print(f"dvc plots show: {expected} vega charts declared, {drawn} drawn offline; "
          f"remote scripts: {remote or 'none'}")  # fmt: skip
    return 0 if expected > 0 and drawn == expected and not remote else 1


if __name__ == "__main__":
    sys.exit(main())
