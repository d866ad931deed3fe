"""Campaigns: many rows × seeds as Ray tasks, each one ``lstm-hist run``; the same command continues one.

selection (rows, seeds) · state (skip / resume / start) · keep (checkpoints kept with the results) ·
resources (what a task asks for, its thread limits) · task (one run in a subprocess) · engine (Ray or a local
pool) · monitor (live status, summary) · driver (the command) · cli (its arguments).
"""
