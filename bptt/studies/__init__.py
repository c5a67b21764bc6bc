"""The chapters' studies and toy problems, built on the core (numpy; ``torch_ref`` and ``charlm`` also
import torch, ``deep_study`` inside its torch helpers). Import them by name:
``from bptt.studies import paths, vanishing``. They never import ``bptt.present`` (tests/test_layers.py)."""
