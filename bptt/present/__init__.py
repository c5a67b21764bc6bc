"""Presentation: figure conventions (``plotting``), the chapters' study figures (``figures``), kernel-free
widgets (``widgets``), the live gradient-flow widget (``live``) and the exercise checks. The core never
imports this package, nor do the studies (tests/test_layers.py).

``from bptt.present import check`` gives the one call the chapters' exercise cells make,
``check("loss-1", answer)`` (it imports only numpy and the core; the checker module of that exercise's
chapter loads on first use). Import the other modules by name: ``from bptt.present import plotting, widgets``.
"""
from .checks import Verdict, check

__all__ = ["check", "Verdict"]
