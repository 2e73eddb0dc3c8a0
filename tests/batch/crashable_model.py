"""A slow summariser for the batch kill test: each chunk waits a little, so a kill lands mid-job."""

from __future__ import annotations

import time
from typing import Any

from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig


class SlowUpper:
    """Upper-cases text; sleeps per call so the job is still running when it is killed."""

    def predict(self, texts: Any) -> list[str]:
        time.sleep(0.3)
        return [str(t).upper() for t in texts]


def slow_upper() -> SlowUpper:
    return SlowUpper()


def tfidf_summarizer() -> ClusterSummarizer:
    return ClusterSummarizer(SummarizerConfig(embedding="tfidf"))
