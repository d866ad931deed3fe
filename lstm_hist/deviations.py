"""Find a row's entry in ``docs/deviations.md``, so a finished run can point the user at why its numbers differ.

The document is organised by paper (a ``##`` heading naming the paper key, or its author and year) and inside a
paper by section or experiment, with the paper's section numbers in the headings ("Exp 4, the adding problem
(§5.4, Table 7)", "### Data (§4)"). A row's config carries its section (``section: "§5.4"``), so the entry is the
heading of the row's paper whose § numbers match the row's: the same number first, else an enclosing one (§4 for
a row in §4.1). A row with no such heading gets the paper's first heading and the paper's section, said as such.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEADING = re.compile(r"^(#{2,6})\s+(.*?)\s*#*\s*$")
_SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)")


def deviations_path() -> Path:
    from lstm_hist.records import repo_root

    return repo_root() / "docs" / "deviations.md"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings(text: str) -> list[tuple[int, str, str]]:
    """``(level, text, anchor)`` per heading outside code fences; repeated anchors get GitHub's ``-1``, ``-2``."""
    seen: dict[str, int] = {}
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            anchor = slug(match.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            out.append((len(match.group(1)), match.group(2), anchor if count == 0 else f"{anchor}-{count}"))
    return out


def _names_paper(heading: str, paper: str) -> bool:
    text = heading.lower()
    name, year = re.sub(r"\d+$", "", paper), paper[len(re.sub(r"\d+$", "", paper)):]
    return paper.lower() in text or (bool(year) and name.lower() in text and year in text)


def _numbers(text: str) -> list[str]:
    return _SECTION.findall(text or "")


def find_entry(paper: str, section: str | None, text: str) -> tuple[str, str, bool] | None:
    """``(heading, anchor, matched)`` of the row's entry; ``matched`` False when only the paper's first heading was
    found; None when the paper has no heading at all."""
    wanted = _numbers(section or "")
    best, first, in_paper = None, None, False
    for level, heading, anchor in _headings(text):
        if level == 2:
            in_paper = _names_paper(heading, paper)
            if in_paper and first is None:
                first = (heading, anchor)
        if not in_paper:
            continue
        for number in _numbers(heading):
            score = 2 if number in wanted else 1 if any(w.startswith(number + ".") for w in wanted) else 0
            if score and (best is None or score > best[0]):
                best = (score, heading, anchor)
    if best is not None:
        return best[1], best[2], True
    return (*first, False) if first else None


def pointer(paper: str, section: str | None, path: Path | None = None) -> str:
    """One line for the end of a run: where the row's deviations are written up."""
    path = path or deviations_path()
    where = f"the paper's {section}" if section else "the paper"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return f"deviations: {path} not found; see {where}"
    shown = _shown(path)
    entry = find_entry(paper, section, text)
    if entry is None:
        return f"deviations: no entry for {paper} in {shown}; see {where}"
    heading, anchor, matched = entry
    if matched:
        return f"deviations: {shown}#{anchor} ({heading})"
    return f"deviations: no entry for this row; see {where}, and {shown}#{anchor} for {paper} as a whole"


def _shown(path: Path) -> str:
    from lstm_hist.records import repo_root

    try:
        return path.resolve().relative_to(repo_root()).as_posix()
    except ValueError:
        return str(path)
