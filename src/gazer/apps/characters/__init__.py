"""The `characters` app: continuous training for handwritten character recognition."""
