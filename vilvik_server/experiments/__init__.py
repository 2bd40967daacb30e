"""Experiments: one job run over many seeds and a grid of PyGAD parameters, with statistics.

    fanout.py     check an experiment whole, store one queued run per grid cell and seed (one transaction)
    tracking.py   when a run ends: keep its compact statistics; announce the experiment's end once
    stats.py      cells, ranks, Mann-Whitney U p-values and per-generation bands (numpy, scipy.stats)
    reading.py    an experiment's counts and statistics, shown through domain/represent_experiments.py
    control.py    cancel and delete an experiment

No Flask here: the API and the website call these functions.
"""
