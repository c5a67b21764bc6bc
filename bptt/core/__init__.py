"""The numpy-only core: parameters, activations, forward and loss, the backward step rule and its loops,
truncation, clipping, diagnostics and the LSTM. Nothing here imports the studies or the presentation layer."""
