"""One-hot inputs fed as symbol indices (Exps 2a, 2b, 2c; issue 13), beside the dense one-hot path.

Exp 2's inputs are local codes of one symbol per step (§5.2): a one-hot vector of p + 1 (2a/2b) or p + 4 (2c)
units. Fed densely, the net's input projection and its input-weight gradient are matmuls over those vectors (2c
q = p = 1000, 20 trials: 1,104 steps × 1,004 inputs, 89 MB per update), almost all multiplications by zero. Fed
as indices (B, L) int32, the projection is a gather of kernel rows and the gradient a scatter-add of the step
errors onto the rows of the symbols seen (``fast_jax``, ``rtrl``): the same sums, fewer terms. Index ``width``
(one past the last input unit) stands for the zero vector of a padded step.

Where it applies: experiments registered with :func:`with_symbol_inputs` (``long_lag``, ``long_lag_2c``), on the
JAX fast path (``model.fast_path: true``, the default, and ``truncate_gradient: true``). ``--set
model.symbol_inputs=false`` keeps the fast path on dense one-hot inputs; ``--set model.fast_path=false`` (and
every backend but JAX) runs the generic loop on dense one-hot inputs. The generators draw the same sequences
either way (``tasks.long_lag``: the index twin consumes the RNG exactly as the one-hot generator does).
"""

from __future__ import annotations

import functools
import inspect

import keras
from keras import ops

from lstm_hist.errors import UserError


def one_hot(codes, width: int, dtype="float32"):
    """codes (…) int → (…, width) one-hot; the padding index ``width`` (and any index beyond) → zeros."""
    return ops.one_hot(ops.minimum(codes, width), width + 1, dtype=dtype)[..., :width]


@keras.saving.register_keras_serializable(package="lstm_hist")
class SymbolOneHot(keras.layers.Layer):
    """Symbol indices (B, L) → their one-hot vectors (B, L, width): what Exp 2a/2b's output units see of the
    inputs (connectivity "B") when the net is fed indices."""

    def __init__(self, width: int, **kwargs):
        super().__init__(**kwargs)
        self.width = int(width)
        self.supports_masking = True

    def call(self, codes):
        return one_hot(codes, self.width)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


def uses_symbols(symbol_inputs: bool, fast_path: bool, truncate_gradient: bool) -> bool:
    """Whether a 1997 net is fed indices: asked for, and on the JAX fast path (the only path that gathers)."""
    return bool(symbol_inputs and fast_path and truncate_gradient and keras.backend.backend() == "jax")


def feeds_symbols(model) -> bool:
    """Whether a built model takes its inputs ``x`` as symbol indices (B, L) rather than vectors (B, L, in)."""
    inputs = getattr(model, "inputs", None) or []
    return bool(inputs) and len(inputs[0].shape) == 2


def task_for(task, model):
    """The generator whose batches ``model`` takes: the task's index twin (``task.symbols``) when the model is fed
    indices, else the task itself."""
    if not feeds_symbols(model):
        return task
    twin = getattr(task, "symbols", None)
    if twin is None:
        raise UserError(f"the model takes symbol indices but task {getattr(task, '__name__', task)!r} has no "
                        "index generator; set model.symbol_inputs: false")
    return twin


def dense_task(task):
    """The one-hot generator behind an index twin (the task itself otherwise)."""
    return getattr(task, "dense", task)


def with_symbol_inputs(builder):
    """``builder`` with ``symbol_inputs`` defaulting to True: the model hook of the one-hot experiments. The
    signature and annotations are kept, so the config check still rejects unknown keys and wrong types."""

    @functools.wraps(builder)
    def build(*args, **kwargs):
        kwargs.setdefault("symbol_inputs", True)
        return builder(*args, **kwargs)

    signature = inspect.signature(builder)
    build.__signature__ = signature.replace(parameters=[
        param.replace(default=True) if name == "symbol_inputs" else param
        for name, param in signature.parameters.items()
    ])
    return build
