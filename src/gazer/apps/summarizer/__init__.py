"""The `summarizer` app: extractive summaries by clustering sentence embeddings."""
