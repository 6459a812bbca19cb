#!/usr/bin/env python3
"""Fill the ${NAME} placeholders of a deploy/ file from an environment file (and NAME=VALUE
arguments, which win), and print it. Only capitals are placeholders: nginx's own variables
($host, $request_uri) are lower case and pass untouched. A placeholder without a value is an
error, never an empty string.

    python3 deploy/render.py deploy/nginx/mooc.conf /etc/mooc/mooc.env > /etc/nginx/sites-available/mooc.conf
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines as systemd's EnvironmentFile reads them (comments, blank lines, quotes)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, raw = line.split("=", 1)
        parts = shlex.split(raw, comments=False) if raw.strip() else [""]
        values[name.strip()] = " ".join(parts)
    return values


def render(text: str, values: dict[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(text) if not values.get(name)})
    if missing:
        raise SystemExit(f"render.py: no value for {', '.join(missing)} (add it to the environment file)")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    template, *rest = argv[1:]
    values: dict[str, str] = {}
    for argument in rest:
        if "=" in argument and not Path(argument).exists():
            name, value = argument.split("=", 1)
            values[name] = value
        else:
            values = read_env_file(Path(argument)) | values
    sys.stdout.write(render(Path(template).read_text(encoding="utf-8"), values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
