"""Chapter studies and toy problems built on the core (numpy; ``torch_ref`` and ``charlm`` also torch)."""
