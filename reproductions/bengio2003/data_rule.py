"""Which Brown preparation a run record used, so that only records of the same preparation are compared.

A record's preparation is read from its config's ``task``: ``vocab_counts`` (where the rare-word rule counts) and
``separators`` (the ``<p>``/``<text>`` marks). Records written before ``separators`` existed (2026-11-27 … 11-30)
ran on NLTK's bare words, and those before ``vocab_counts`` existed counted over the training part, so a missing key
reads as that earlier behaviour — which is why every Table 1 config states both keys explicitly (a test checks it).
"""

from __future__ import annotations

DataRule = tuple[str, bool]

# The default of every Table 1 config (docs/deviations.md, Bengio D1 and D4).
CURRENT_RULE: DataRule = ("stream", True)
RULE_KEYS = ("task.vocab_counts", "task.separators")


def data_rule(record: dict) -> DataRule:
    """``(vocab_counts, separators)`` of the run behind ``record``."""
    task = (record.get("config") or {}).get("task") or {}
    return str(task.get("vocab_counts", "train")), bool(task.get("separators", False))


def rule_text(rule: DataRule) -> str:
    counts, marks = rule
    where = "the whole stream" if counts == "stream" else "the training part"
    return f"rare words counted over {where}, {'with' if marks else 'no'} separator marks"


def is_labelled_variant(record: dict) -> bool:
    """A run that changed the preparation with ``--set``: its label already says so."""
    return any(item.split("=", 1)[0] in RULE_KEYS for item in record.get("overrides") or ())


def is_earlier_data(record: dict) -> bool:
    """A record of a committed config run on a preparation that is no longer the configs' default."""
    return data_rule(record) != CURRENT_RULE and not is_labelled_variant(record)


def record_label(record: dict, config: dict | None = None) -> str | None:
    """For ``lstm-hist report``: a row label suffix marking a record made on an earlier preparation (the row's
    config entry, handed by the report, is not needed: the record's own config says which preparation it used)."""
    if record.get("table") != "Table 1" or not is_earlier_data(record):
        return None
    return f"*(earlier data: {rule_text(data_rule(record))})*"
