"""Write the HTML template that lets `dvc plots show` render without internet.

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so on a machine
without internet every chart is blank. This template carries the three libraries
inline (the same versions DVC asks the CDN for) and is wired in by `.dvc/config`
(`plots.html_template`). Regenerate with `make offline-template`, which fetches the
packages from the npm registry with `npm pack`.

    python tools/offline_plots_template.py PACKAGES_DIR OUT_HTML
"""

from __future__ import annotations

import sys
from pathlib import Path

# (package folder from `npm pack` + `tar x`, script inside it); DVC 3's CDN versions.
LIBRARIES = [
    ("vega-5.20.2", "build/vega.min.js"),
    ("vega-lite-5.2.0", "build/vega-lite.min.js"),
    ("vega-embed-6.18.2", "build/vega-embed.min.js"),
]
PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>anchorvae: DVC plots</title>
{scripts}
    <style>
        body {{ font-family: sans-serif; }}
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def script_tag(package_dir: Path, script: str) -> str:
    code = (package_dir / "package" / script).read_text(encoding="utf8")
    licence = (package_dir / "package" / "LICENSE").read_text(encoding="utf8")
    # "</script" inside the code would end the tag early; it must not occur.
    if "</script" in code.lower():
        raise SystemExit(f"{script} contains '</script': cannot be inlined")
    return f"<!-- {package_dir.name}, BSD-3-Clause:\n{licence}-->\n<script>{code}</script>"


def main() -> None:
    packages, out = Path(sys.argv[1]), Path(sys.argv[2])
    scripts = "\n".join(script_tag(packages / name, script) for name, script in LIBRARIES)
    out.write_text(PAGE.format(scripts=scripts), encoding="utf8")


if __name__ == "__main__":
    main()
