"""The documentation stands on its own inside the repository (docs/architecture.md, "Map of the
repository").

* Every relative link in ``README.md``, ``CHANGELOG.md``, ``docs/*.md`` and
  ``examples/*/README.md`` points at a file or folder that exists, and a ``#anchor`` into a
  markdown file (or into the same file) names one of its headings, slugged as GitHub does.
* No tracked file refers to things outside the repository: tracker numbers, the old design
  notes, or the shared folder beside the checkout (``git grep`` with ``FORBIDDEN`` below).
"""

import re
import subprocess
from pathlib import Path
from typing import Dict, List
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOC_FILES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "examples").glob("*/README.md"),
    ]
)

# written so that this file does not match itself
FORBIDDEN = r"issue [0-9]|DESIGN\.md|\.\./shared/"

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)


def strip_code(text: str) -> str:
    """Markdown text without fenced blocks and code spans: links inside code are not links."""
    text = _FENCE.sub("", text)
    return _CODE_SPAN.sub("", text)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text, lower case, with everything but
    letters, digits, ``_``, ``-`` and spaces removed and each space made a ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's (or image's) text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set:
    """The anchors of a markdown file's headings; repeated headings get ``-1``, ``-2``, ... ."""
    seen: Dict[str, int] = {}
    out = set()
    for m in _HEADING.finditer(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = github_slug(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links(path: Path) -> List[str]:
    text = strip_code(path.read_text(encoding="utf-8"))
    links = [m.group(1) for m in _LINK.finditer(text)]
    return [
        t for t in links if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t)
    ]  # http:, mailto:, ...


def broken_links(path: Path, root: Path = ROOT) -> List[str]:
    """Each relative link of ``path`` that does not resolve inside ``root``, with the reason."""
    bad = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target}: {dest} does not exist")
            continue
        try:
            dest.relative_to(root)
        except ValueError:
            bad.append(f"{target}: {dest} is outside the repository")
            continue
        if anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
            bad.append(f"{target}: {dest.relative_to(root)} has no heading with anchor #{anchor}")
    return bad


def test_the_documentation_files_are_there():
    names = {p.relative_to(ROOT).as_posix() for p in DOC_FILES if p.is_file()}
    assert {"README.md", "CHANGELOG.md", "docs/architecture.md", "docs/model-format.md"} <= names
    assert any(n.startswith("examples/") for n in names)


@pytest.mark.parametrize(
    "path", [p for p in DOC_FILES if p.is_file()], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_relative_links_resolve(path):
    bad = broken_links(path)
    assert not bad, f"{path.relative_to(ROOT)}: links that do not resolve:\n" + "\n".join(bad)


def test_links_are_found_and_checked(tmp_path):
    """The checker itself: it sees links outside code, ignores those inside, and reports a
    missing file, a missing heading and a link out of the repository."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (tmp_path / "outside.md").write_text("# Outside\n")
    (repo / "other.md").write_text(
        "# Other page\n\n## A section (`with code`)\n\n## Again\n\n## Again\n"
    )
    page = repo / "docs" / "page.md"
    page.write_text(
        "# Page\n\n[ok](../other.md) [ok](../other.md#a-section-with-code) [ok](#page) "
        "![img](../other.md)\n"
        "[ok](../other.md#again-1) [ok](../docs) [web](https://example.org)\n"
        "[missing](nowhere.md) [bad anchor](../other.md#no-such-heading) [out](../../outside.md)\n"
        "`[in code](nowhere-either.md)`\n\n```\n[in a block](nor-here.md)\n```\n"
    )
    assert relative_links(page) == [
        "../other.md",
        "../other.md#a-section-with-code",
        "#page",
        "../other.md",
        "../other.md#again-1",
        "../docs",
        "nowhere.md",
        "../other.md#no-such-heading",
        "../../outside.md",
    ]
    bad = broken_links(page, root=repo)
    assert len(bad) == 3, bad
    assert bad[0].startswith("nowhere.md: ") and "does not exist" in bad[0]
    assert bad[1].startswith("../other.md#no-such-heading: ") and "no heading" in bad[1]
    assert bad[2].startswith("../../outside.md: ") and "outside the repository" in bad[2]


@pytest.mark.parametrize(
    "heading, slug",
    [
        ("The longer recipe (`config-long.yaml`)", "the-longer-recipe-config-longyaml"),
        (
            "Short-range repulsion and geometries far from the training data",
            "short-range-repulsion-and-geometries-far-from-the-training-data",
        ),
        (
            "The exported model file (Python ↔ C++ contract)",
            "the-exported-model-file-python--c-contract",
        ),
        ("Stillinger–Weber silicon reference data", "stillingerweber-silicon-reference-data"),
        (
            "Per-channel radial weights and Proposition 1",
            "per-channel-radial-weights-and-proposition-1",
        ),
    ],
)
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_no_references_outside_the_repository():
    proc = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", FORBIDDEN], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode in (0, 1), f"git grep failed ({proc.returncode}): {proc.stderr}"
    assert not proc.stdout, (
        "replace these by a pointer inside the repository (a docs/ section, "
        "an equation of the paper) or drop them:\n" + proc.stdout
    )
