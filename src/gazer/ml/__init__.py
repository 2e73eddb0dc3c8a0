"""Machine-learning code apps share (PyTorch helpers); imports nothing else of gazer."""
