"""The summariser: exact input sentences, in document order, deterministic."""

from __future__ import annotations

import pytest

from gazer.apps.summarizer.model import ClusterSummarizer, SummarizerConfig, split_sentences
from gazer.errors import InvalidInput

DOC = (
    "The battery lasts two full days on a single charge. Charging takes about an hour. "
    "The screen is bright and sharp even outdoors. Colours look natural. "
    "The camera struggles in low light. Night photos come out noisy and blurred. "
    "Customer support answered my email within a day. They replaced the faulty charger quickly. "
    "At this price it is a good phone. I would buy it again. Dr. Smith agreed with me."
)


@pytest.fixture(params=["tfidf", "minilm"])
def summarizer(request: pytest.FixtureRequest) -> ClusterSummarizer:
    return ClusterSummarizer(SummarizerConfig(embedding=request.param))


def test_the_splitter_keeps_abbreviations_inside_sentences() -> None:
    sentences = split_sentences(DOC)
    assert len(sentences) == 11
    assert sentences[-1] == "Dr. Smith agreed with me."


def test_summaries_are_input_sentences_in_document_order(summarizer: ClusterSummarizer) -> None:
    result = summarizer.summarize(DOC)
    assert len(result.indexes) == 4  # ceil(sqrt(11))
    assert result.indexes == sorted(result.indexes)
    assert [result.sentences[i] for i in result.indexes] == [
        s for s in split_sentences(DOC) if s in result.text]
    assert result.text == " ".join(split_sentences(DOC)[i] for i in result.indexes)


def test_summaries_are_deterministic_for_a_seed(summarizer: ClusterSummarizer) -> None:
    assert summarizer.summarize(DOC).indexes == summarizer.summarize(DOC).indexes


def test_short_documents_come_back_whole(summarizer: ClusterSummarizer) -> None:
    assert summarizer.summarize("Just one sentence here.").text == "Just one sentence here."
    two = "First sentence. Second one."
    assert summarizer.summarize(two).indexes == [0, 1]


def test_k_and_ratio_set_the_length(summarizer: ClusterSummarizer) -> None:
    assert len(summarizer.summarize(DOC, k=2).indexes) == 2
    assert len(summarizer.summarize(DOC, ratio=0.5).indexes) == 6


def test_bad_input_is_refused_with_what_was_expected() -> None:
    model = ClusterSummarizer(SummarizerConfig(embedding="tfidf", max_chars=100))
    with pytest.raises(InvalidInput, match="non-empty string"):
        model.summarize("   ")
    with pytest.raises(InvalidInput, match="at most 100 characters; got"):
        model.summarize("x" * 101)
    with pytest.raises(InvalidInput, match="ratio must be in"):
        model.summarize(DOC[:90], ratio=2.0)


def test_the_minilm_embedding_loads_offline_from_the_package() -> None:
    model = ClusterSummarizer()
    assert model.embedding == "minilm"
    vectors = model.embed(["a phone with a long battery life", "the battery lasts long",
                           "the cat sat on the mat"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
