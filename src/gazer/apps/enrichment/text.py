"""Noise cleaning: unicode and whitespace, URLs, handles, hashtags and emojis into their own
columns, contractions and chat abbreviations expanded (English), exact duplicates flagged."""

from __future__ import annotations

import re
import unicodedata

URL = re.compile(r"https?://\S+|www\.\S+")
HANDLE = re.compile(r"(?<!\w)@\w{1,30}")
HASHTAG = re.compile(r"(?<!\w)#(\w{1,60})")
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")
CONTRACTIONS = {
    "can't": "cannot", "won't": "will not", "n't": " not", "'re": " are", "'ve": " have",
    "'ll": " will", "'d": " would", "'m": " am", "it's": "it is", "that's": "that is",
    "there's": "there is", "what's": "what is", "let's": "let us",
}
CHAT = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "thx": "thanks",
    "ty": "thank you", "idk": "I do not know", "imo": "in my opinion", "imho": "in my opinion",
    "btw": "by the way", "omg": "oh my god", "lol": "laughing", "tbh": "to be honest",
    "gr8": "great", "b4": "before", "2day": "today", "msg": "message", "bc": "because",
    "w/": "with", "w/o": "without", "asap": "as soon as possible", "fyi": "for your information",
}
_CONTRACTION = re.compile("|".join(sorted(map(re.escape, CONTRACTIONS), key=len, reverse=True)),
                          re.IGNORECASE)
_CHAT = re.compile(r"(?<![\w/])(" + "|".join(map(re.escape, sorted(CHAT, key=len, reverse=True)))
                   + r")(?![\w/])", re.IGNORECASE)


def expand(text: str) -> str:
    text = _CONTRACTION.sub(lambda m: CONTRACTIONS[m.group(0).lower()], text)
    return _CHAT.sub(lambda m: CHAT[m.group(0).lower()], text)


def clean(text: str, english: bool) -> dict[str, object]:
    """The cleaned text and what was taken out of it."""
    text = unicodedata.normalize("NFKC", text or "")
    urls = URL.findall(text)
    handles = HANDLE.findall(text)
    hashtags = HASHTAG.findall(text)
    emojis = EMOJI.findall(text)
    stripped = EMOJI.sub(" ", HANDLE.sub(" ", URL.sub(" ", text)))
    stripped = HASHTAG.sub(lambda m: m.group(1), stripped)
    if english:
        stripped = expand(stripped)
    return {"text_clean": " ".join(stripped.split()), "urls": urls, "handles": handles,
            "hashtags": hashtags, "emojis": emojis}
