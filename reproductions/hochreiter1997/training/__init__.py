"""How the 1997 nets learn (§5 intro, App. A.1, Table 11): the online protocol (one sequence, one update, every
trial in one graph; :mod:`.online`), its per-step learner by truncated RTRL (:mod:`.rtrl`), the stopping criteria
(:mod:`.criteria`), and the modern minibatch baselines trained to the same criteria (:mod:`.to_criterion`).

The shared layer knows none of this: the paper's ``EXPERIMENTS`` name :class:`.protocol.OnlineProtocol` and
:class:`.to_criterion.CriterionMinibatchProtocol`, and the runner calls their ``run``/``bench``.
"""
