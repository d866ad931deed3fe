"""NumPy arrays laid out for the backends: JAX on CPU reads a 64-byte aligned array in place, without a copy."""

from __future__ import annotations

import numpy as np

ALIGN = 64  # bytes: the alignment at which JAX's CPU client aliases a NumPy buffer instead of copying it


def aligned_empty(shape, dtype, align: int = ALIGN) -> np.ndarray:
    """An uninitialised array whose data starts on an ``align``-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buffer = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-buffer.ctypes.data) % align
    return buffer[offset : offset + nbytes].view(dtype).reshape(shape)


def aligned_stack(arrays, axis: int = 0) -> np.ndarray:
    """``np.stack(arrays, axis)`` into an aligned buffer: the same values, bit for bit.

    Why: handing a jitted JAX function a 2c update's one-hot inputs (20 × 1,104 × 1,004 floats, 89 MB) cost
    ~190 ms when the array was unaligned (a copy) and 0.01 ms when aligned (measured on the project machine,
    docs/performance.md); a slice ``a[i]`` of the result stays aligned when one slice is a multiple of 64 bytes.
    """
    arrays = [np.asarray(a) for a in arrays]
    shape = list(arrays[0].shape)
    shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, len(arrays))
    out = aligned_empty(tuple(shape), np.result_type(*arrays))
    return np.stack(arrays, axis=axis, out=out)
