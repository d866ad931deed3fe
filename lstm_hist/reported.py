"""Readers of a config's ``reported:`` block (the paper's numbers for a row), for every layer and every paper.

Besides the paper's metric values the block may hold ``comparisons`` (other methods the paper's table prints,
quoted, never run) and ``reference_only`` (a note that the paper's numbers are on other data). These readers are a
leaf module so that paper modules (report hooks) and the shared layer read the block the same way.
"""

from __future__ import annotations

# The other methods a paper table prints beside its own (RTRL, BPTT, ...): quoted, never run, so they are
# strings in the paper's notation ("≈170", ">200,000") and kept out of the paper-vs-ours metric columns.
COMPARISONS = "comparisons"


# A note that the paper's numbers of a row come from another data set (Chung's non-public Ubisoft speech beside
# our FSDD runs); the report marks those numbers with a dagger and prints the note.
REFERENCE_ONLY = "reference_only"


def paper_metrics(reported: dict | None) -> dict:
    """The paper's numbers for this row under the evaluator's metric keys (no comparisons, no reference note)."""
    return {k: v for k, v in (reported or {}).items() if k not in (COMPARISONS, REFERENCE_ONLY)}


def reference_note(reported: dict | None) -> str | None:
    note = (reported or {}).get(REFERENCE_ONLY)
    return str(note) if note else None


def comparisons(reported: dict | None) -> list[dict]:
    """The comparison-method rows the paper prints for this row's table (empty when none)."""
    return list((reported or {}).get(COMPARISONS) or [])
