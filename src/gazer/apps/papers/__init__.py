"""The ``papers`` app: find or upload a paper, read its summary, ask it questions, rate
the answers."""
