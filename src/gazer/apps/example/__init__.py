"""The `example` app: a small scikit-learn pipeline on a bundled dataset."""
