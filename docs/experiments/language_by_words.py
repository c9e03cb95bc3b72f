"""Experiment (not product code): does `guess_language` keep English knowledge bases English?

An article without `lang:` in Latin letters is taken as another language when lingua is
sure of it (retrieval/languages.py). A wrong guess would give an English knowledge base the
multilingual encoder. This prints what it guesses for this project's English starter
articles and the CLINC150 and MASSIVE English benchmark articles (each whole: title,
questions, body), then for 2,000 random texts each of one, two and three of their questions
together, counting those taken for another language among the texts of at least 20, 60 and
80 letters, with the product's minimum (60 letters, below which it answers "en") lifted.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python docs/experiments/language_by_words.py
"""

from __future__ import annotations

import random
from pathlib import Path

from retrieval import benchmark, languages
from retrieval.articles import Article
from retrieval.languages import guess_language
from retrieval.sources import load_articles

DATA = Path("../shared/data")


def whole(article: Article) -> str:
    return "\n".join([article.title, *article.questions, article.body])


def main() -> None:
    sets = {
        "starter (en)": [a for a in load_articles(Path("kb_content")) if a.lang == "en"],
        "clinc150": benchmark.clinc_articles(
            benchmark.load_clinc(DATA / "clinc150" / "data_full.json")
        ),
        "massive en": benchmark.massive_kb(benchmark.load_massive(DATA / "massive"))[0],
    }
    for name, articles in sets.items():
        other = [(a.id, guess_language(whole(a))) for a in articles]
        print(name, len(articles), "articles; not en:", [x for x in other if x[1] != "en"])
    questions = [q for name in ("clinc150", "massive en") for a in sets[name] for q in a.questions]
    random.seed(1)
    languages._MIN_LETTERS = 0  # type: ignore[attr-defined]  # what lingua says of them all
    for n in (1, 2, 3):
        texts = ["\n".join(random.sample(questions, n)) for _ in range(2000)]
        for least in (20, 60, 80):
            chosen = [t for t in texts if sum(c.isalpha() for c in t) >= least]
            wrong = [t for t in chosen if guess_language(t) != "en"]
            print(f"{n} question(s), >= {least} letters: {len(chosen)} texts, {len(wrong)} not en")


if __name__ == "__main__":
    main()
