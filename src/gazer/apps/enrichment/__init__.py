"""The `enrichment` app: NLP workflows composed from a catalogue of reusable steps."""
