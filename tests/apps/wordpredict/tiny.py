"""A tiny WikiText-style Catalan corpus of software-manual sentences, made by the tests.

Templates with a few slots, so a small model learns them in seconds; the behaviour cases
below fit it (the real ``ca-help`` cases live in ``gazer.apps.wordpredict.behaviour``).
"""

from __future__ import annotations

import random
from pathlib import Path

from gazer.apps.wordpredict.behaviour import Directional, Invariance, case

OBJECTS = ["objecte", "gràfic", "quadre", "marc", "camp", "botó"]
VERBS = ["copiar", "moure", "suprimir", "formatar"]
TEMPLATES = [
    "Primer obriu el menú contextual d' un {obj} i trieu Propietats .",
    "Feu clic a D' acord per a tancar el diàleg .",
    "Seleccioneu les cel · les que vulgueu {verb} .",
    "Primer , per a {verb} el text seleccionat , feu clic a la icona .",
    "Feu clic a la pestanya Opcions del diàleg .",
    "Feu clic al botó Aplica de la barra d' eines .",
    "Obriu un document de text i escriviu el títol .",
    "Podeu {verb} el {obj} amb el ratolí .",
]


def lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(TEMPLATES).format(obj=rng.choice(OBJECTS), verb=rng.choice(VERBS))
            for _ in range(n)]


def write_tiny_corpus(folder: Path, train: int = 600, other: int = 60) -> Path:
    """``ca.wiki.{train,valid,test}.tokens`` with a heading and paragraphs per page."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", train, 0), ("valid", other, 1), ("test", other, 2)):
        body = lines(n, seed)
        pages = [body[i:i + 10] for i in range(0, n, 10)]
        text = "".join(f"\n = Pàgina {i} = \n\n" + "".join(f" {p} \n" for p in page)
                       for i, page in enumerate(pages))
        (folder / f"ca.wiki.{split}.tokens").write_text(text, encoding="utf-8")
    return folder


TINY_INVARIANCE = (
    Invariance(case("context menu", "Primer obriu el _ contextual d' un", "menú"),
               case("context menu, other object", "Primer obriu el _ contextual d' una",
                    "menú")),
    Invariance(case("OK button", "Feu clic a _ acord per a", "D'"),
               case("OK button, unseen first word", "Premeu clic a _ acord per a", "D'")),
)
TINY_DIRECTIONAL = (
    Directional(case("tab after la", "clic a la _ Opcions del diàleg", "pestanya"),
                case("button after al", "Feu clic al _ Aplica de la", "botó")),
    Directional(case("noun after el", "Primer obriu el _ contextual d' un", "menú"),
                case("verb after per a", "Primer per a _ el text seleccionat", "copiar moure "
                     "suprimir formatar")),
)
