"""Behaviour tests for masked-word models, with accepted-answer sets as the reference wrote them.

- Invariance: a small change of context (a synonym, another determiner far from the gap) keeps
  the answer within the accepted set.
- Directional: a big change of context (another verb, another preposition) moves the answer
  out of the first case's accepted set, into the second's.

The cases fit the ``ca-help`` domain: sentences of a software manual. The pipeline runs them
on every trained model and the gate wants a share of them passing; pytest runs them against a
model trained in the test and against the registered champion when there is one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Case:
    """``before`` and ``after`` (3 words each) and the answers accepted for the gap."""

    name: str
    before: tuple[str, str, str]
    after: tuple[str, str, str]
    accepted: frozenset[str]

    @property
    def words(self) -> list[str]:
        return [*self.before, *self.after]


@dataclasses.dataclass(frozen=True)
class Invariance:
    """Both contexts' answers must be in ``base.accepted`` (the perturbed case's set is not
    used): a small change keeps the answer."""

    base: Case
    perturbed: Case


@dataclasses.dataclass(frozen=True)
class Directional:
    """``first``'s answer is in its set; ``second``'s answer is in its own set and not in
    ``first.accepted``: a big change moves the answer."""

    first: Case
    second: Case


def case(name: str, text: str, accepted: str) -> Case:
    """``"w1 w2 w3 _ w4 w5 w6"`` with ``_`` at the gap; accepted answers space-separated."""
    words = text.split()
    gap = words.index("_")
    before, after = words[:gap], words[gap + 1:]
    if len(before) != 3 or len(after) != 3:
        raise ValueError(f"case {name!r} needs 3 words each side of _; got {text!r}")
    return Case(name, (before[0], before[1], before[2]), (after[0], after[1], after[2]),
                frozenset(accepted.split()))


# Cases for the ca-help corpus (LibreOffice help in Catalan).
DOMAIN_INVARIANCE = (
    Invariance(case("context menu", "i obriu el _ contextual d' un", "menú"),
               case("context menu, other object", "i obriu el _ contextual d' una", "menú")),
    Invariance(case("OK button", "Feu clic a _ acord per a", "D' d'"),
               case("OK button, other purpose", "Feu clic a _ acord i tanqueu", "D' d'")),
    Invariance(case("text document", "Primer obriu un _ de text i", "document fitxer"),
               case("text document, new", "Primer creeu un _ de text i", "document fitxer")),
    Invariance(case("dialog box", "s' obre un _ amb els botons", "diàleg quadre menú"),
               case("dialog box, future tense", "s' obrirà un _ amb els botons",
                    "diàleg quadre menú")),
    Invariance(case("select cells", "i seleccioneu les _ que vulgueu copiar",
                    "cel·les opcions files columnes dades"),
               case("select cells, other verb", "i seleccioneu les _ que voleu copiar",
                    "cel·les opcions files columnes dades")),
    Invariance(case("close the dialog", "a tancar el _ feu clic a", "diàleg document quadre "
                    "fitxer menú"),
               case("close the dialog, press", "a tancar el _ premeu la tecla", "diàleg "
                    "document quadre fitxer menú")),
)

DOMAIN_DIRECTIONAL = (
    Directional(case("gap is a noun", "i obriu el _ contextual d' un", "menú"),
                case("gap is a verb", "I per a _ el text seleccionat", "copiar suprimir "
                     "seleccionar inserir moure canviar formatar editar afegir aplicar "
                     "definir eliminar crear obrir visualitzar mostrar ocultar amagar")),
    Directional(case("masculine noun", "Feu clic al _ de la barra", "botó menú quadre"),
                case("feminine noun", "clic a la _ de la barra", "icona pestanya "
                     "fletxa barra opció")),
    Directional(case("of a document", "Primer obriu un _ de text i", "document fitxer"),
                case("of a spreadsheet", "Primer obriu un _ de càlcul i", "full")),
)


@dataclasses.dataclass
class Outcome:
    kind: str
    name: str
    passed: bool
    detail: str


@dataclasses.dataclass
class BehaviourReport:
    outcomes: list[Outcome]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def as_markdown(self) -> str:
        rows = "\n".join(f"| {o.kind} | {o.name} | {'pass' if o.passed else 'FAIL'} | "
                         f"{o.detail} |" for o in self.outcomes)
        return (f"# Behaviour tests: {self.passed}/{self.total} passed\n\n"
                f"| kind | case | result | detail |\n|---|---|---|---|\n{rows}\n")


def _show(c: Case, answer: str) -> str:
    return f"{' '.join(c.before)} [{answer}] {' '.join(c.after)}"


def run_behaviour(model: Any, invariance: Sequence[Invariance] = DOMAIN_INVARIANCE,
                  directional: Sequence[Directional] = DOMAIN_DIRECTIONAL) -> BehaviourReport:
    """Run the cases through ``model.predict`` (rows of 6 words → words), in one batch."""
    pairs = [(i.base, i.perturbed) for i in invariance] + [(d.first, d.second)
                                                            for d in directional]
    rows = [c.words for pair in pairs for c in pair]
    answers = [str(a) for a in model.predict(rows)] if rows else []
    outcomes = []
    for n, (first, second) in enumerate(pairs):
        a, b = answers[2 * n], answers[2 * n + 1]
        if n < len(invariance):
            ok = a in first.accepted and b in first.accepted
            outcomes.append(Outcome("invariance", first.name, ok,
                                    f"{_show(first, a)} / {_show(second, b)}; accepted "
                                    f"{sorted(first.accepted)}"))
        else:
            ok = a in first.accepted and b in second.accepted and b not in first.accepted
            outcomes.append(Outcome("directional", f"{first.name} → {second.name}", ok,
                                    f"{_show(first, a)} / {_show(second, b)}"))
    return BehaviourReport(outcomes)
