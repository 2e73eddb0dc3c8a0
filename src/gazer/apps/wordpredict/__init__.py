"""The `wordpredict` app: the Catalan masked-word Transformer (3 words + 3 words → the word)."""
