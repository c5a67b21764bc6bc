"""The numpy-only core: parameters, activations, forward and loss, the backward step rule and its loops,
truncation, clipping, Adam, diagnostics, the size of W, the LSTM and deep RNNs. Nothing here imports the
studies or the presentation layer (tests/test_layers.py); ``import bptt`` re-exports each module's
``__all__``."""
