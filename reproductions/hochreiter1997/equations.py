"""The 1997 cell's squashing functions and the trial-parallel matmul (Hochreiter & Schmidhuber 1997, §4, eqs. 4–5).

g squashes the cell input, h the cell state (eq. 3: y^c = y^out · h(s_c), s_c += y^in · g(net_c)); Exp 2a/2b use
the variants g1 = σ and h = identity. With ``trials``, batch rows are grouped trial-major and each group is
multiplied by its own weights, so the paper's independent trials train in one graph.
"""

from __future__ import annotations

from keras import ops

CELL_INPUT_ACTIVATIONS = ("g2", "g1")  # g2: 4σ(x)−2 in [−2, 2] (eq. 5); g1: σ(x) in [0, 1] (Exp 2a/2b)
CELL_OUTPUT_ACTIVATIONS = ("h1", "identity")  # h1: 2σ(x)−1 in [−1, 1] (eq. 4); identity (Exp 2a/2b)


def squash_g(x, kind):
    """g of eq. 5 ("g2": 4σ(x) − 2 in [−2, 2]) or Exp 2a/2b's "g1" (σ(x) in [0, 1])."""
    return 4.0 * ops.sigmoid(x) - 2.0 if kind == "g2" else ops.sigmoid(x)


def squash_h(x, kind):
    """h of eq. 4 ("h1": 2σ(x) − 1 in [−1, 1]) or Exp 2a/2b's "identity"."""
    return 2.0 * ops.sigmoid(x) - 1.0 if kind == "h1" else x


def trial_matmul(x, kernel, trials):
    """``x @ kernel`` where, with ``trials``, rows are grouped by trial and each group uses its own kernel.

    x: (B, ..., n) with B = trials·k; kernel: (trials, n, m) or (n, m). One batched matmul over the trial axis
    (measured faster on CPU than a broadcast multiply-and-sum for 10 and 30 trials, docs/performance.md).
    """
    if trials is None:
        return ops.matmul(x, kernel)
    batch = ops.shape(x)[0]
    rest = ops.shape(x)[1:]
    grouped = ops.reshape(x, (trials, -1, rest[-1]))  # (N, k·…, n): trial-major rows
    out = ops.matmul(grouped, kernel)
    return ops.reshape(out, (batch, *rest[:-1], ops.shape(kernel)[-1]))
