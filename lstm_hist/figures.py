"""The one way the package writes a figure: matplotlib on its file-only backend, saved where the caller says.

Every figure (the report's per-paper plots, the papers' ``report_plots`` hooks, the vanishing-gradient figure)
goes through here, so the backend choice and the save step are made in one place. matplotlib is an install
dependency; where an environment lacks it anyway, the report stays text only."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed, the same on a laptop and a cluster node), or
    None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path, dpi: int) -> Path:
    """Lay out, write and close ``fig`` at ``path`` (its folder made if missing); return the path. Closing matters:
    pyplot keeps every open figure alive, and the report draws one per paper."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
