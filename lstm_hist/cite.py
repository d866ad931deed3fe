"""``lstm-hist cite``: a citation for a paper, or for one reproduced result.

For a result (a record file, or a row id whose latest completed record is found under ``--runs``) it prints the
package's BibTeX (from ``CITATION.cff``), the paper's BibTeX, and one sentence a reviewer can check: the numbers
beside the paper's, the row, the record file, the commit and the environment (versions, backend, device, the
constraints file's hash).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import lstm_hist
from lstm_hist import records
from lstm_hist.reported import paper_metrics
from lstm_hist.errors import UserError

CFF_FILE = "CITATION.cff"


def package_info() -> dict[str, Any]:
    """Title, authors and version from ``CITATION.cff`` beside the package (defaults when it is absent)."""
    info = {"title": "lstm-hist", "authors": [{"name": "The lstm-hist contributors"}],
            "version": lstm_hist.__version__}
    path = records.repo_root() / CFF_FILE
    if path.is_file():
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        info.update({k: data[k] for k in ("title", "authors", "version") if data.get(k)})
    return info


def package_bibtex(commit: str | None = None, year: str | None = None) -> str:
    info = package_info()
    names = " and ".join(_author(a) for a in info["authors"])
    fields = [f"  author = {{{names}}}", f"  title = {{{info['title']}}}", f"  version = {{{info['version']}}}"]
    if year:
        fields.append(f"  year = {{{year}}}")
    if commit:
        fields.append(f"  note = {{commit {commit}}}")
    return "@software{lstm_hist,\n" + ",\n".join(fields) + "\n}"


def _author(author: dict) -> str:
    if author.get("name"):
        return "{" + str(author["name"]) + "}"  # braces: a team name is not "Last, First"
    return f"{author.get('family-names', '')}, {author.get('given-names', '')}".strip(", ")


def find_record(target: str, runs_dir: str | Path) -> Path | None:
    """A record file: ``target`` itself if it is a JSON file, else the latest completed non-smoke record of the
    row ``target`` (full or suffix id) under ``runs_dir``; None when the row has none."""
    path = Path(target)
    if path.suffix == ".json":
        if not path.is_file():
            raise UserError(f"no record file {path}")
        return path
    from lstm_hist.registry import resolve_id

    full = resolve_id(target)
    found = [(p, r) for p, r in records.load_records(runs_dir)
             if r.get("id") == full and r.get("status") == "completed" and not r.get("smoke")
             and "explorations" not in p.parts]
    if not found:
        return None
    # The paper's own config before a --set variant, then the latest.
    return max(found, key=lambda pr: (not pr[1].get("overrides"), (pr[1].get("provenance") or {}).get("end") or ""))[0]


def load_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read record {path}: {exc}") from None
    if not isinstance(record, dict) or "id" not in record:
        raise UserError(f"{path} is not a run record (no 'id')")
    return record


def headline(record: dict) -> list[tuple[str, Any, Any]]:
    """``(metric, ours, paper)`` for the numbers a citation names: those the row's tolerance judges, else every
    paper number the run measured."""
    from lstm_hist.registry import row_reported
    from lstm_hist.tolerance import row_rules

    now = row_reported(record["id"])
    reported = paper_metrics(record.get("reported") if now is None else now)
    metrics = record.get("metrics") or {}
    paper = record.get("paper") or record["id"].split("/", 1)[0]
    try:
        judged = row_rules(paper, (record.get("config") or {}).get("experiment"),
                           (record.get("config") or {}).get("tolerance"))["tolerance"]
    except UserError:
        judged = {}
    keys = [k for k in reported if k in judged] or [k for k in reported if k in metrics]
    return [(k, metrics.get(k), reported[k]) for k in keys]


def result_sentence(record: dict, path: Path) -> str:
    """One sentence naming the numbers, the row, the record, the commit and the environment."""
    from lstm_hist.formatting import fmt

    prov = record.get("provenance") or {}
    versions = prov.get("versions") or {}
    where = ", ".join(str(x) for x in (record.get("table"), f"row {record.get('row')}" if record.get("row") else None,
                                       record.get("section")) if x)
    numbers = "; ".join(f"{k} {fmt(ours)} (paper: {fmt(paper)})" for k, ours, paper in headline(record))
    trials = record.get("metrics", {}).get("trials")
    if record.get("metrics", {}).get("solved_trials") is not None and trials:
        numbers += f"; {record['metrics']['solved_trials']} of {trials} trials met the criterion"
    commit = prov.get("commit") or "unknown commit"
    commit_text = commit[:12] + (" with uncommitted changes" if prov.get("dirty") else "")
    libs = ", ".join(f"{k} {v}" for k, v in versions.items() if v and k != "lstm_hist")
    env = f"{prov.get('backend')} backend on {prov.get('device')}, Python {prov.get('python')}, {libs}"
    lock = prov.get("constraints")
    if isinstance(lock, dict) and lock.get("sha256"):
        env += f", constraints {lock.get('file')} sha256 {lock['sha256'][:12]}"
    seed = record.get("seed", (record.get("seeds") or {}).get("base"))
    command = ["lstm-hist", "run", record["id"]] + (["--smoke"] if record.get("smoke") else []) + \
        (["--seed", str(seed)] if seed else []) + [a for item in record.get("overrides") or [] for a in ("--set", item)]
    extra = ", a smoke run, not comparable to the paper" if record.get("smoke") else ""
    return (f"Reproduced with lstm-hist {versions.get('lstm_hist') or lstm_hist.__version__} "
            f"(`{shlex.join(command)}`, seed {seed}{extra}): {record.get('title') or record['id']}, "
            f"{where}: {numbers or 'no paper number measured'}. Record {path.as_posix()} "
            f"(status {record.get('status')}, finished {prov.get('end')}), commit {commit_text}; {env}.")


def cite_result(path: Path) -> str:
    """The full text ``lstm-hist cite RECORD`` prints."""
    from lstm_hist.registry import citation

    record = load_record(path)
    paper = record.get("paper") or record["id"].split("/", 1)[0]
    _, paper_bibtex = citation(paper)
    prov = record.get("provenance") or {}
    year = (prov.get("end") or "")[:4] or None
    return "\n\n".join([paper_bibtex, package_bibtex(prov.get("commit"), year), result_sentence(record, path)])


