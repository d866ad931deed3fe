"""Chung et al. (2014) §4 optimiser as the authors ran it: RMSProp with momentum, an RMS floor, and the norm of
the whole parameter step clipped; the learning rate decayed linearly over the epochs.

§4 says only "RMSProp" and "the norm of the gradient rescaled to 1". The authors' released configuration
(jych/librnn ``exp/music/jsb/gru.yaml``) settles the rest: ``RMSPropMomentum`` of
``pylearn2/training_algorithms/learning_rule.py`` with ``init_momentum: 0.9``, ``momentum_clipping: 1`` and that
class's defaults ``averaging_coeff=0.95``, ``stabilizer=1e-2``, ``bound_inc=False``, ``use_first_order=False``; the
cost's own gradient clipping (``pylearn2/costs/rnn.py``, ``gradient_clipping=False``) is not switched on; and
``LinearDecayOverEpoch(start=1, saturate=500, decay_factor=0.01)``. The update, per parameter θ with gradient g
(ρ the averaging coefficient, μ the momentum, s the stabiliser, c the clip, η the learning rate)::

    a ← ρ·a + (1 − ρ)·g²                 # running mean of the squared gradient
    r  = max(√a, s)                      # the RMS, floored at s (a floor, not an added epsilon)
    v ← μ·v − η·g / r                    # velocity (stored unclipped: bound_inc=False)
    θ ← θ + v · c / max(c, ‖v‖)          # ‖v‖: the norm of the new velocities of ALL parameters together

Written from those files' documented behaviour (docs/deviations.md, Chung section); no code was taken from them.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lstm_hist")
class RMSPropMomentum(keras.optimizers.Optimizer):
    """RMSProp with momentum, RMS floor and step-norm clipping (jych/librnn ``RMSPropMomentum``; Chung et al. 2014 §4).

    Args:
        learning_rate: η, a float or a ``keras.optimizers.schedules.LearningRateSchedule``
            (e.g. :class:`LinearDecayOverEpochs`).
        momentum: μ (librnn: ``init_momentum: 0.9``).
        averaging_coeff: ρ, decay of the squared-gradient average (librnn default 0.95).
        stabilizer: s, the floor on the RMS (librnn default 1e-2). 0 = no floor (then a zero gradient divides by 0).
        momentum_clipping: c, the largest norm of the step over all parameters (librnn config: 1); None = no clip.
        **kwargs: the usual ``keras.optimizers.Optimizer`` arguments (name, clipnorm, global_clipnorm, ...).

    Example::

        opt = RMSPropMomentum(learning_rate=LinearDecayOverEpochs(1e-3, steps_per_epoch=229))
        model.compile(optimizer=opt, loss=...)
    """

    def __init__(self, learning_rate=1e-3, momentum: float = 0.9, averaging_coeff: float = 0.95,
                 stabilizer: float = 1e-2, momentum_clipping: float | None = 1.0, name: str = "rmsprop_momentum",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), received momentum={momentum!r}")
        if not 0.0 <= averaging_coeff < 1.0:
            raise ValueError(f"averaging_coeff must be in [0, 1), received averaging_coeff={averaging_coeff!r}")
        if not stabilizer >= 0.0:
            raise ValueError(f"stabilizer must be >= 0, received stabilizer={stabilizer!r}")
        if momentum_clipping is not None and not momentum_clipping > 0.0:
            raise ValueError(f"momentum_clipping must be positive or None, received {momentum_clipping!r}")
        self.momentum = float(momentum)
        self.averaging_coeff = float(averaging_coeff)
        self.stabilizer = float(stabilizer)
        self.momentum_clipping = None if momentum_clipping is None else float(momentum_clipping)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._mean_squares = [self.add_variable_from_reference(v, "mean_square") for v in var_list]
        self._velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # The clip needs every parameter's new velocity before any parameter moves, so the per-variable
        # update_step of Keras's loop does not fit; this replaces the loop on every backend.
        steps = []
        for gradient, variable in zip(grads, trainable_variables):
            index = self._get_variable_index(variable)
            mean_square, velocity = self._mean_squares[index], self._velocities[index]
            gradient = ops.cast(gradient, variable.dtype)
            rate = ops.cast(learning_rate, variable.dtype)
            new_mean_square = self.averaging_coeff * mean_square + (1.0 - self.averaging_coeff) * ops.square(gradient)
            rms = ops.maximum(ops.sqrt(new_mean_square), self.stabilizer)
            new_velocity = self.momentum * velocity - rate * gradient / rms
            self.assign(mean_square, new_mean_square)
            self.assign(velocity, new_velocity)
            steps.append(new_velocity)
        if self.momentum_clipping is None:
            scale = None
        else:
            norm = ops.sqrt(sum(ops.sum(ops.square(step)) for step in steps))
            scale = self.momentum_clipping / ops.maximum(norm, self.momentum_clipping)
        for variable, step in zip(trainable_variables, steps):
            self.assign_add(variable, step if scale is None else step * ops.cast(scale, step.dtype))

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("RMSPropMomentum updates all variables together (_backend_update_step)")

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "averaging_coeff": self.averaging_coeff,
                "stabilizer": self.stabilizer, "momentum_clipping": self.momentum_clipping}


@keras.saving.register_keras_serializable(package="lstm_hist")
class LinearDecayOverEpochs(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate decayed linearly per epoch to ``decay_factor`` × the initial one (Pylearn2
    ``LinearDecayOverEpoch(start=1, saturate, decay_factor)``, as in jych/librnn's music configs).

    Epoch e (1-based) trains with ``η₀ · (1 − (1 − decay_factor) · min(e, saturate) / saturate)``: epoch 1 already
    uses the first decayed value (Pylearn2 applies the schedule once before the first epoch), epoch ``saturate``
    and later use ``η₀ · decay_factor``. The epoch is read from the optimizer's iteration counter, so a resumed
    run continues the schedule exactly.

    Args:
        initial_learning_rate: η₀.
        steps_per_epoch: updates per epoch (batches of the training split).
        saturate: the epoch from which the rate stays at its final value (librnn: 500, the run's max_epochs).
        decay_factor: final rate / initial rate (librnn: 0.01).
    """

    def __init__(self, initial_learning_rate: float, steps_per_epoch: int, saturate: int = 500,
                 decay_factor: float = 0.01):
        if not initial_learning_rate > 0:
            raise ValueError(f"initial_learning_rate must be positive, received {initial_learning_rate!r}")
        if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be a positive int, received {steps_per_epoch!r}")
        if not isinstance(saturate, int) or saturate < 1:
            raise ValueError(f"saturate must be a positive int, received {saturate!r}")
        if not 0.0 < decay_factor <= 1.0:
            raise ValueError(f"decay_factor must be in (0, 1], received {decay_factor!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.steps_per_epoch = steps_per_epoch
        self.saturate = saturate
        self.decay_factor = float(decay_factor)

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / float(self.steps_per_epoch)) + 1.0
        progress = ops.minimum(epoch, float(self.saturate)) / float(self.saturate)
        return self.initial_learning_rate * (1.0 - (1.0 - self.decay_factor) * progress)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "steps_per_epoch": self.steps_per_epoch,
                "saturate": self.saturate, "decay_factor": self.decay_factor}
