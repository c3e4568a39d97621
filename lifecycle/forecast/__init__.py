"""Forecasts built on the plan with numerical libraries: the Monte Carlo schedule risk simulation.

Kept out of :mod:`lifecycle.domain` (which is the standard library only) because it needs NumPy; it
imports the domain and the exception tree, nothing above them.
"""
