"""Benchmark: knowledge bases and questions in several languages (MASSIVE en, zh, fa).

MASSIVE 1.1 (FitzGerald et al., 2023; CC BY 4.0, Copyright Amazon.com Inc. or its
affiliates) has each utterance in English, Chinese and Persian. As in `retrieval.benchmark`:
articles from `train` (10 questions each, fixed seed, picked once, so every language's
knowledge base holds the same questions translated), queries from `dev`, four whole
scenarios held out as out of scope. For each pair (knowledge-base language / question
language) the knowledge base is built as `frontline kb build` builds it, with the encoder
`auto` chooses for articles in the KB's language and customers writing the question's
language, and its operating point chosen from its own questions and the shipped off-topic
questions in both languages: never from the questions reported.

An English article's title and body are its intent's name ("Alarm set"); a Chinese or
Persian one has no translated name, so its first question stands for both.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retrieval import benchmark
from retrieval.articles import Article, chunk_body
from retrieval.encoder import AUTO, Encoder, choose_model

PAIRS = (("en", "en"), ("zh", "zh"), ("fa", "fa"), ("en", "zh"), ("en", "fa"))
# The targets, on every pair: top-1 against the en/en figure, precision, and the
# out-of-scope questions answered.
SAME_LANGUAGE_SHARE = 0.95
CROSS_LANGUAGE_SHARE = 0.85
TARGET_PRECISION = 0.90
TARGET_OOS_ANSWERED = 0.05
FIGURES = ("top1", "answered_precision", "coverage", "unrelated_answered")


def load_rows(path: Path) -> list[dict[str, str]]:
    """Rows with every language's text: {"partition", "intent", "en", "zh", "fa"}."""
    file = path / benchmark.MASSIVE_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"MASSIVE not found at {path}; set --data or FRONTLINE_MASSIVE_PATH "
            f"(the folder with {benchmark.MASSIVE_FILE})"
        )
    return [json.loads(line) for line in file.read_text("utf-8").splitlines() if line.strip()]


def pair_kb(
    rows: list[dict[str, str]], kb_lang: str, question_lang: str
) -> tuple[list[Article], benchmark.Split]:
    """The English benchmark's articles and queries, with texts in the pair's languages."""
    english = [{**r, "text": r["en"]} for r in rows]
    articles, test, _ = benchmark.massive_kb(english)
    to_kb: dict[str, str] = {}
    to_question: dict[str, str] = {}
    for r in rows:
        to_kb.setdefault(r["en"], r[kb_lang])
        to_question.setdefault(r["en"], r[question_lang])
    translated = []
    for a in articles:
        questions = tuple(to_kb[q] for q in a.questions)
        title, body = (a.title, a.body) if kb_lang == "en" else (questions[0], questions[0])
        translated.append(
            Article(
                id=a.id,
                title=title,
                body=body,
                questions=questions,
                lang=kb_lang,
                chunks=chunk_body(a.id, body),
            )
        )
    queries = benchmark.Split([to_question[t] for t in test.texts], list(test.labels))
    return translated, queries


def evaluate_pair(
    rows: list[dict[str, str]],
    kb_lang: str,
    question_lang: str,
    encoder: Encoder,
) -> dict[str, Any]:
    articles, test = pair_kb(rows, kb_lang, question_lang)
    serve = [question_lang] if question_lang != kb_lang else []
    index, figures = benchmark.build_and_ask(articles, test, encoder, serve_languages=serve)
    point = index.operating_point
    assert point is not None
    return {
        **{k: figures[k] for k in FIGURES},
        "encoder": encoder.name,
        "operating_point": point.summary(),
        "queries": {
            "in_scope": sum(label != benchmark.OOS for label in test.labels),
            "out_of_scope": sum(label == benchmark.OOS for label in test.labels),
        },
    }


def query_p50(encoder: Encoder, texts: Sequence[str], warm: int = 5) -> float:
    """The encoder's median time for one query alone, in milliseconds."""
    for text in texts[:warm]:
        encoder.encode([text])
    times = []
    for text in texts:
        started = time.perf_counter()
        encoder.encode([text])
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def run(
    data_path: Path,
    open_encoder: Callable[[str], Encoder],
    *,
    spec: str = AUTO,
    say: Callable[[str], None] = print,
    timing: Callable[[str], Encoder] | None = None,
    pairs: Sequence[tuple[str, str]] = PAIRS,
) -> dict[str, Any]:
    """Every pair's figures, checked against the targets, and the encoders' query speed.

    `open_encoder` gives the (cached) encoder for a model name; `timing`, the same without
    a cache, for the speed figures."""
    rows = load_rows(data_path)
    say(
        "MASSIVE en/zh/fa (Amazon, CC BY 4.0): articles from train, "
        f"{benchmark.QUESTIONS_PER_ARTICLE} questions each (seed {benchmark.SEED}); "
        "queries from dev; four scenarios held out as out of scope"
    )
    results: dict[str, Any] = {}
    models: set[str] = set()
    for kb_lang, question_lang in pairs:
        model = choose_model(spec, [kb_lang, question_lang])
        models.add(model)
        name = f"{kb_lang}/{question_lang}"
        results[name] = evaluate_pair(rows, kb_lang, question_lang, open_encoder(model))
        say(f"{name}: {_line(results[name])}")
    multilingual = choose_model(spec, ["en", "zh"])
    if ("en", "en") in pairs and results["en/en"]["encoder"] != multilingual:
        # en/en also with the encoder every other pair used: the same-encoder reference.
        reference = evaluate_pair(rows, "en", "en", open_encoder(multilingual))
        results["en/en (multilingual encoder)"] = reference
        say(f"en/en with {multilingual}: {_line(reference)}")
    results["targets"] = check_targets(results)
    for line in _target_lines(results["targets"]):
        say(line)
    if timing is not None:
        texts = [r["en"] for r in rows if r["partition"] == "dev"][:100]
        texts += [r["zh"] for r in rows if r["partition"] == "dev"][:50]
        texts += [r["fa"] for r in rows if r["partition"] == "dev"][:50]
        speed = {model: query_p50(timing(model), texts) for model in sorted(models)}
        results["query_p50_ms"] = speed
        say(
            "query p50 (one query alone, this machine, same run): "
            + ", ".join(f"{m} {ms} ms" for m, ms in speed.items())
        )
    return results


def check_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each pair against the issue's targets; top-1 against en/en with the shipped (auto)
    choice and against en/en with the multilingual encoder, when that differs."""
    checks: dict[str, dict[str, Any]] = {}
    base = results.get("en/en", {}).get("top1")
    same_encoder = results.get("en/en (multilingual encoder)", {}).get("top1", base)
    for name, figures in results.items():
        if "/" not in name or "(" in name:
            continue
        kb_lang, question_lang = name.split("/")
        share = SAME_LANGUAGE_SHARE if kb_lang == question_lang else CROSS_LANGUAGE_SHARE
        row: dict[str, Any] = {
            "top1": figures["top1"],
            "precision_ok": figures["answered_precision"] >= TARGET_PRECISION,
            "oos_ok": figures["unrelated_answered"] <= TARGET_OOS_ANSWERED,
        }
        if base is not None and name != "en/en":
            row["top1_target"] = round(share * base, 4)
            row["top1_ok"] = figures["top1"] >= share * base
            row["top1_target_same_encoder"] = round(share * same_encoder, 4)
            row["top1_ok_same_encoder"] = figures["top1"] >= share * same_encoder
        checks[name] = row
    return checks


def _line(figures: dict[str, Any]) -> str:
    return (
        f"top-1 {figures['top1']:.4f}, answered precision {figures['answered_precision']:.4f}, "
        f"in-scope coverage {figures['coverage']:.4f}, out-of-scope answered "
        f"{figures['unrelated_answered']:.4f} ({figures['encoder']})"
    )


def _target_lines(checks: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        f"  {'pair':<7} {'top-1':>7}  {'target (auto en/en)':>20}  "
        f"{'target (same encoder)':>22}  precision>=0.90  oos<=0.05"
    ]
    for name, row in checks.items():
        target = (
            f"{row['top1_target']:.4f} {'ok' if row['top1_ok'] else 'MISSED'}"
            if "top1_target" in row
            else "(reference)"
        )
        same = (
            f"{row['top1_target_same_encoder']:.4f} "
            f"{'ok' if row['top1_ok_same_encoder'] else 'MISSED'}"
            if "top1_target_same_encoder" in row
            else ""
        )
        lines.append(
            f"  {name:<7} {row['top1']:>7.4f}  {target:>20}  {same:>22}  "
            f"{'ok' if row['precision_ok'] else 'MISSED':>15}  "
            f"{'ok' if row['oos_ok'] else 'MISSED':>9}"
        )
    return lines
