"""Every guide the code and the docs send a reader to exists, with the section they name.

A docstring or a comment that says "see docs/x.md, "Section"" is a promise to whoever reads the
code next: docs/quiz-syntax.md and docs/programs.md were named and never written, and
"What check reports" named a heading that reads "What the checks report".
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mooc", "docs", "deploy", "scripts", "bench", "migrations", "tests")
SUFFIXES = {".py", ".md", ".html", ".txt", ".sh", ".cfg", ".toml", ".yaml", ".yml", ".service", ".timer"}
# docs/x.md, optionally followed by the section it names: docs/x.md, "Section" / docs/x.md ("Section"
REFERENCE_RE = re.compile(r'docs/([A-Za-z0-9_-]+\.md)(?:,? ?\(?"([^"\n]{2,80})")?')
# a Markdown link from one guide to another file: [text](other.md) or [text](other.md#part)
LINK_RE = re.compile(r"\]\(((?!https?:|mailto:|#)[^)\s#]+\.md)(?:#[^)\s]*)?\)")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN_RE = re.compile(r"(`+).+?\1")


def _files() -> list[Path]:
    """The project's own files: not a virtualenv's, nor the packages `npm ci` installs for the
    OpenID Connect test server (tests/directory/oidc_provider/node_modules), whose READMEs
    name their own docs."""
    found = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in FOLDERS:
        found += [p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()
                  and not {".venv", "node_modules"} & set(p.parts) and p != Path(__file__).resolve()]
    return found


def _sections(doc: Path) -> list[str]:
    """What a reference may name: a heading, or the lead words of a list item or bold paragraph
    ('- Names in any case: ...')."""
    sections = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            sections.append(line.lstrip("#").strip().lower())
        elif lead := re.match(r"^\s*(?:[-*]\s+|\*\*)([^:*]{2,80})", line):
            sections.append(lead.group(1).strip().lower())
    return sections


def test_every_guide_named_exists_with_the_section_named():
    wrong = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in REFERENCE_RE.finditer(text):
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
            doc = ROOT / "docs" / match.group(1)
            if not doc.is_file():
                wrong.append(f"{where}: {match.group(0)} (no such guide)")
            elif match.group(2) and not any(match.group(2).lower() in s for s in _sections(doc)):
                wrong.append(f"{where}: {match.group(0)} (no such section)")
    assert not wrong, "\n".join(wrong)


def test_every_link_between_guides_leads_to_a_file():
    wrong = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        in_fence = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            if FENCE_RE.match(line):
                in_fence = not in_fence
            elif not in_fence:
                written = CODE_SPAN_RE.sub("", line)  # an example in `code` is not a link
                wrong += [f"{doc.relative_to(ROOT)}:{number}: {target}" for target in LINK_RE.findall(written)
                          if not (doc.parent / target).resolve().is_file()]
    assert not wrong, "\n".join(wrong)
