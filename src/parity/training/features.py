"""Feature sets: what a learner sees of a prompt (and, for the cascade, of the weak answer).

A feature set is a list of blocks stacked side by side. ``FEATURE_SETS`` names the ones the
trainer tries; each block is fitted on training data only, so cross-validation stays honest.

- ``tfidf``            word 1-2 gram TF-IDF of the prompt (sparse, no torch)
- ``tfidf-svd``        the same squeezed to 64 dense dimensions (for gradient boosting)
- ``embed``            sentence embedding of the prompt (MiniLM or an embeddings API)
- ``tfidf-svd+embed``  both, dense (gradient boosting over both)
- ``qa-tfidf+checks``  TF-IDF of prompt and weak answer, plus answer checks (cascade)
- ``checks+qa-svd``    answer checks plus 64 SVD dimensions of that text (cascade, boosting)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from parity.errors import ConfigError
from parity.training.answer_checks import CHECK_NAMES, check_matrix
from parity.training.embeddings import Embedder

__all__ = ["FEATURE_SETS", "Batch", "Featurizer", "Matrix", "needs_answers", "needs_embedder"]

# A dense float array or a scipy CSR matrix (scipy has no type hints, so this is Any).
Matrix: TypeAlias = Any


@dataclass(frozen=True)
class Batch:
    """Prompts, and the weak model's answers when a cascade feature set needs them."""

    prompts: Sequence[str]
    answers: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.prompts)

    def take(self, index: npt.NDArray[np.intp]) -> Batch:
        answers = None if self.answers is None else [self.answers[i] for i in index]
        return Batch([self.prompts[i] for i in index], answers)

    def qa_texts(self) -> list[str]:
        if self.answers is None:
            raise ConfigError("this feature set needs the weak model's answers")
        return [f"{p}\n\n### Answer\n{a}" for p, a in zip(self.prompts, self.answers, strict=True)]


class _Block(Protocol):
    dense: bool

    def fit(self, batch: Batch, embedder: Embedder | None) -> None: ...

    def transform(self, batch: Batch, embedder: Embedder | None) -> Matrix: ...

    def describe(self) -> dict[str, Any]: ...


_TFIDF = {"ngram_range": (1, 2), "min_df": 2, "max_features": 50_000, "sublinear_tf": True}


class _Tfidf:
    """TF-IDF of the prompt (or prompt and answer), optionally reduced by truncated SVD."""

    def __init__(self, source: str, svd_dims: int | None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.source = source
        self.dense = svd_dims is not None
        self._svd_dims = svd_dims
        self._vectorizer = TfidfVectorizer(**_TFIDF)
        self._svd: Any = None

    def describe(self) -> dict[str, Any]:
        vocabulary = getattr(self._vectorizer, "vocabulary_", None)
        return {
            "block": "tfidf",
            "text": "prompt and weak answer" if self.source == "qa" else "prompt",
            **_TFIDF,
            "vocabulary": None if vocabulary is None else len(vocabulary),
            "svd_dims": None if self._svd is None else int(self._svd.n_components),
        }

    def _texts(self, batch: Batch) -> list[str]:
        return batch.qa_texts() if self.source == "qa" else list(batch.prompts)

    def fit(self, batch: Batch, embedder: Embedder | None) -> None:
        matrix = self._vectorizer.fit_transform(self._texts(batch))
        if self._svd_dims is not None:
            from sklearn.decomposition import TruncatedSVD

            dims = max(1, min(self._svd_dims, matrix.shape[1] - 1, matrix.shape[0] - 1))
            self._svd = TruncatedSVD(n_components=dims, random_state=0).fit(matrix)

    def transform(self, batch: Batch, embedder: Embedder | None) -> Matrix:
        matrix = _tfidf_transform(self._vectorizer, self._texts(batch))
        if self._svd is None:
            return sp.csr_matrix(matrix)
        return np.asarray(self._svd.transform(matrix), dtype=np.float64)


def _tfidf_transform(vectorizer: Any, texts: list[str]) -> sp.csr_matrix:
    """``vectorizer.transform(texts)`` with the same arithmetic and without its input checks.

    The checks took about a third of a 500-token prompt's decision time on the hot path.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    counts = sp.csr_matrix(CountVectorizer.transform(vectorizer, texts), dtype=np.float64)
    if _TFIDF["sublinear_tf"]:
        counts.data = np.log(counts.data) + 1.0
    counts.data *= vectorizer.idf_[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    counts.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(counts.indptr))
    return counts


class _Embed:
    """The prompt's sentence embedding (unit length)."""

    dense = True

    def describe(self) -> dict[str, Any]:
        return {"block": "embedding", "of": "prompt", "model": "see the manifest's embedder"}

    def fit(self, batch: Batch, embedder: Embedder | None) -> None:
        _need(embedder)

    def transform(self, batch: Batch, embedder: Embedder | None) -> Matrix:
        return np.asarray(_need(embedder).embed(list(batch.prompts)), dtype=np.float64)


class _Checks:
    """Answer checks, standardised so that a linear model can weigh them with the text."""

    dense = True

    def __init__(self) -> None:
        self._mean: npt.NDArray[np.float64] | None = None
        self._scale: npt.NDArray[np.float64] | None = None

    def describe(self) -> dict[str, Any]:
        return {"block": "answer_checks", "checks": list(CHECK_NAMES), "standardised": True}

    def _raw(self, batch: Batch) -> npt.NDArray[np.float64]:
        if batch.answers is None:
            raise ConfigError("answer checks need the weak model's answers")
        return check_matrix(list(batch.prompts), list(batch.answers))

    def fit(self, batch: Batch, embedder: Embedder | None) -> None:
        raw = self._raw(batch)
        self._mean = raw.mean(axis=0)
        self._scale = np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)

    def transform(self, batch: Batch, embedder: Embedder | None) -> Matrix:
        if self._mean is None or self._scale is None:
            raise ConfigError("answer checks used before they were fitted")
        return (self._raw(batch) - self._mean) / self._scale


def _need(embedder: Embedder | None) -> Embedder:
    if embedder is None:
        raise ConfigError("this feature set needs an embedder (--features minilm or http)")
    return embedder


FEATURE_SETS: dict[str, Callable[[], list[_Block]]] = {
    "tfidf": lambda: [_Tfidf("prompt", None)],
    "tfidf-svd": lambda: [_Tfidf("prompt", 64)],
    "embed": lambda: [_Embed()],
    "tfidf-svd+embed": lambda: [_Tfidf("prompt", 64), _Embed()],
    "qa-tfidf+checks": lambda: [_Tfidf("qa", None), _Checks()],
    "checks+qa-svd": lambda: [_Checks(), _Tfidf("qa", 64)],
}


def needs_embedder(name: str) -> bool:
    return "embed" in name


def needs_answers(name: str) -> bool:
    return "qa" in name or "checks" in name


class Featurizer:
    """A named feature set, fitted on training data; the embedder is attached, not pickled."""

    def __init__(self, name: str, embedder: Embedder | None = None) -> None:
        factory = FEATURE_SETS.get(name)
        if factory is None:
            raise ConfigError(f"unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}")
        self.name = name
        self.embedder = embedder
        self._blocks = factory()

    @property
    def dense(self) -> bool:
        return all(block.dense for block in self._blocks)

    def describe(self) -> list[dict[str, Any]]:
        """The feature configuration, for the artifact's manifest."""
        return [block.describe() for block in self._blocks]

    def fit(self, batch: Batch) -> None:
        for block in self._blocks:
            block.fit(batch, self.embedder)

    def transform(self, batch: Batch) -> Matrix:
        parts = [block.transform(batch, self.embedder) for block in self._blocks]
        if len(parts) == 1:
            return parts[0]
        if self.dense:
            return np.hstack([np.asarray(p) for p in parts])
        return sp.csr_matrix(sp.hstack([sp.csr_matrix(p) for p in parts]))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["embedder"] = None  # a model handle, rebuilt from the artifact's spec
        return state
