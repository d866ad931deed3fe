"""The neural probabilistic language model of Bengio et al. (2003), §2, eq. 1 and Figure 1.

::

    x = (C(w_{t−1}), C(w_{t−2}), …, C(w_{t−n+1}))          (n − 1)·m values, C a |V|×m matrix shared by positions
    y = b + W x + U tanh(d + H x)                          W optional ("W is optionally zero")
    P̂(w_t = i | context) = exp(y_i) / Σ_j exp(y_j)

Free parameters (§2): |V|(1 + nm + h) + h(1 + (n − 1)m) with direct connections; without them |V|(n − 1)m fewer.
With h = 0 (MLP3/MLP4) there is no hidden layer: y = b + W x.

Built with Keras layers only (Embedding = C, Dense = H/d, U/b, W), so the model runs on any backend. Inputs are
the n − 1 context ids *oldest first*, as ``reproductions.bengio2003.vocab.ngram_examples`` and
:func:`reproductions.bengio2003.data.brown_windows` give them; the concatenation order of x does not change the
function class (H and W see every position), only which columns of H belong to which position.
Initialisation is not stated in the paper (§4 "random"): Keras defaults (C uniform ±0.05, Glorot-uniform
weights, zero biases); see docs/deviations.md (Bengio section).
"""

from __future__ import annotations


def nplm_parameter_count(vocab_size: int, order: int, hidden: int, features: int, direct: bool = True) -> int:
    """The paper's count |V|(1 + nm + h) + h(1 + (n − 1)m), minus |V|(n − 1)m without direct connections (§2)."""
    v, n, h, m = vocab_size, order, hidden, features
    count = v * (1 + n * m + h) + h * (1 + (n - 1) * m)
    return count if direct else count - v * (n - 1) * m


def build_nplm(
    vocab_size: int,
    order: int,
    hidden: int,
    features: int,
    direct: bool = True,
    trials: int | None = None,
):
    """Bengio et al. (2003) eq. 1 as an uncompiled ``keras.Model``: context ids (B, n − 1) → logits (B, |V|).

    Args:
        vocab_size: |V| (Brown with NLTK's copy as the configs prepare it: 17,907; the paper: 16,383).
        order: n, so the context has n − 1 words (Table 1: 5 or 3).
        hidden: h, tanh hidden units; 0 = no hidden layer (MLP3/4).
        features: m, word-feature dimension (Table 1: 30 or 60).
        direct: direct connections W from the word features to the outputs.
        trials: must be None (one network; the argument exists for the shared layer's model contract).

    Example:
        >>> model = build_nplm(vocab_size=100, order=3, hidden=5, features=4)
        >>> model.count_params() == nplm_parameter_count(100, 3, 5, 4)
        True
    """
    import keras

    if trials not in (None, 1):
        raise ValueError(f"trials must be None for the NPLM (one network per run), got {trials}")
    for name, value, low in (("vocab_size", vocab_size, 2), ("order", order, 2), ("hidden", hidden, 0),
                             ("features", features, 1)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if hidden == 0 and not direct:
        raise ValueError("hidden=0 needs direct=True: without both the output would ignore the context")

    context = keras.Input((order - 1,), dtype="int32", name="context")
    features_c = keras.layers.Embedding(vocab_size, features, name="C")(context)
    x = keras.layers.Flatten(name="x")(features_c)  # (B, (n − 1)·m), oldest word's features first
    terms = []
    if hidden > 0:
        a = keras.layers.Dense(hidden, activation="tanh", name="H")(x)  # tanh(d + H x); H.bias = d
        terms.append(keras.layers.Dense(vocab_size, name="U")(a))  # U a + b; U.bias = b
    if direct:
        terms.append(keras.layers.Dense(vocab_size, use_bias=hidden == 0, name="W")(x))  # W x (+ b if h = 0)
    y = terms[0] if len(terms) == 1 else keras.layers.Add(name="y")(terms)
    return keras.Model(context, y, name=f"nplm_n{order}_h{hidden}_m{features}{'_direct' if direct else ''}")
