"""Experiments: one job run over many seeds and a grid of PyGAD parameters, with statistics.

    fanout.py     check an experiment whole, store one queued run per grid cell and seed (one transaction)
    tracking.py   when a run ends: keep its compact statistics; announce the experiment's end once
    stats.py      cells, ranks, Mann-Whitney U p-values and per-generation bands (numpy, scipy.stats)
    represent.py  the experiment and its history as the API shows them
    control.py    cancel and delete an experiment

No Flask here: the API and the website call these functions.
"""
