"""Built-in label sets for ``classify_topics`` / ``classify_themes``: name → description.

The descriptions are what the zero-shot classifier compares messages with, so they read like
the messages they should catch. A workflow can pass its own set as JSON instead of a name.
"""

from __future__ import annotations

import json

SETS: dict[str, dict[str, str]] = {
    # The reference system's company categories.
    "company": {
        "products": "products and services: a phone, an app, a device, its price, quality, "
                    "features, a new launch, the battery, the camera",
        "innovation": "innovation, research, new technology, patents, artificial intelligence, "
                      "startups, digital transformation",
        "workplace": "the workplace: employees, jobs, hiring, layoffs, salaries, working "
                     "conditions, strikes, unions, remote work",
        "governance": "corporate governance: the board, shareholders, executives' pay, "
                      "compliance, scandals, fines, lawsuits, regulators, transparency",
        "citizenship": "citizenship: the environment, sustainability, emissions, charity, "
                       "community projects, social responsibility",
        "leadership": "leadership: the CEO, the management team, strategy, vision, decisions "
                      "of the leaders",
        "performance": "financial performance: revenue, profit, losses, results, the share "
                       "price, growth, the market, investors",
    },
    "themes": {
        "environment": "environment, climate, pollution, energy, nature, weather",
        "politics": "politics, government, elections, parliament, ministers, parties",
        "corporate": "companies, business deals, corporate strategy, mergers",
        "news": "general news, events, accidents, announcements",
        "economy": "the economy, inflation, prices, markets, employment, taxes",
        "foreign news": "international affairs, other countries, diplomacy, wars abroad",
        "legal": "law, courts, lawsuits, judges, crime, police, regulation",
        "science and medicine": "science, medicine, health, hospitals, research, vaccines",
        "sports-culture-entertainment": "sports, football, culture, music, films, festivals, "
                                        "entertainment, celebrities",
        "products": "consumer products, gadgets, apps, shopping, reviews of things to buy",
    },
    # Review aspects for the `reviews` workflow (places, services, shops).
    "review_aspects": {
        "price": "price: expensive, cheap, value for money, cost, overpriced, a bargain",
        "accessibility": "accessibility: wheelchair access, stairs, parking, easy to reach, "
                         "location, opening hours",
        "kindness": "kindness of the staff: friendly, rude, polite, helpful, welcoming, smile",
        "timeliness": "timeliness: waiting time, slow, fast, late, on time, queues, delays",
        "competence": "competence: knowledgeable, professional, skilled, mistakes, "
                      "incompetent, solved my problem",
    },
}


def label_set(spec: str) -> dict[str, str]:
    """A built-in set by name, or a JSON object ``{"label": "description", ...}``."""
    if spec in SETS:
        return SETS[spec]
    try:
        parsed = json.loads(spec)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()):
        raise ValueError(f"labels must be one of {', '.join(SETS)} or a JSON object of "
                         f"label: description; got {spec[:80]!r}")
    return parsed
