"""The runtime face of a trained router: what the gateway loads as its difficulty signal.

``load_router(path)`` checks the whole artifact (format, every file's hash, the scikit-learn
version it was pickled with) and raises ``ConfigError`` with the reason when anything is off, so
a gateway refuses to start rather than routing without it. ``LoadedRouter.changed()`` is one
``stat`` call, cheap enough to ask on every request or from a timer; when it says yes, load the
artifact again and swap it in (keep the old one if the new one fails to load).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError, UpstreamError
from parity.training.embeddings import Embedder, EmbedderSpec, build_embedder
from parity.training.features import Batch
from parity.training.labels import text_key
from parity.training.metrics import Cut, tie_draws
from parity.training.portfolio import choose_cheapest, portfolio_choices
from parity.training.predictor import Predictor
from parity.training.store import read_manifest, read_pickle

__all__ = ["LoadedRouter", "load_router"]

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Signature:
    """What ``changed()`` compares: the manifest is replaced whole on every write."""

    inode: int
    size: int
    mtime_ns: int


def _signature(path: Path) -> _Signature | None:
    try:
        info = os.stat(path / "manifest.json")
    except OSError:
        return None
    return _Signature(info.st_ino, info.st_size, info.st_mtime_ns)


class LoadedRouter:
    """A trained router, ready to score prompts."""

    def __init__(
        self,
        path: Path,
        manifest: Mapping[str, Any],
        router: Predictor,
        cascade: Predictor | None,
        quality: Mapping[str, Predictor] | None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self._router = router
        self._cascade = cascade
        self._quality = dict(quality or {})
        self._signature = _signature(path)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def strong(self) -> str:
        return str(self.manifest["strong"])

    @property
    def weak(self) -> str:
        return str(self.manifest["weak"])

    @property
    def models(self) -> list[str]:
        return [str(m) for m in self.manifest["models"]]

    @property
    def threshold(self) -> float:
        """Difficulty at or above which a prompt goes to the strong model."""
        return float(self.manifest["threshold"])

    @property
    def cut(self) -> Cut:
        """The calibrated rule: the threshold, and how a block of tied scores is split."""
        return Cut.from_json(self.manifest.get("threshold_tie"), self.threshold)

    def strong_mask(self, texts: Sequence[str], difficulties: Vector) -> npt.NDArray[np.bool_]:
        """Which of ``texts`` (scored ``difficulties``) the calibrated cut sends strong."""
        return self.cut.routes(difficulties, tie_draws([text_key(t) for t in texts]))

    def is_strong(self, text: str, difficulty: float) -> bool:
        """``strong_mask`` for one prompt."""
        return bool(self.strong_mask([text], np.array([difficulty]))[0])

    def escalate_mask(self, prompts: Sequence[str], weak_ok: Vector) -> npt.NDArray[np.bool_]:
        """Which weak answers (scored ``weak_ok``) the calibrated cascade escalates."""
        threshold = self.cascade_threshold
        if threshold is None:
            raise ConfigError("this router has no calibrated cascade threshold")
        ok = np.asarray(weak_ok, dtype=np.float64)
        mask: npt.NDArray[np.bool_] = ok <= threshold
        tie = self.manifest.get("cascade_tie")
        if tie:  # a block of equal weak_ok straddled the target: split it by each prompt's draw
            tied = np.abs(ok - float(tie["tie_score"])) <= 1e-12
            mask |= tied & (tie_draws([text_key(p) for p in prompts]) < float(tie["tie_share"]))
        return mask

    @property
    def cascade_threshold(self) -> float | None:
        """``weak_ok`` at or below which the weak answer is escalated (None: no cascade scorer)."""
        value = self.manifest.get("cascade_threshold")
        return None if value is None else float(value)

    @property
    def quality_threshold(self) -> float | None:
        """The predicted quality a model must reach to be chosen (more than two models)."""
        value = self.manifest.get("quality_threshold")
        return None if value is None else float(value)

    @property
    def costs(self) -> dict[str, float] | None:
        costs = self.manifest.get("costs")
        return None if costs is None else {str(k): float(v) for k, v in costs["usd"].items()}

    @property
    def has_cascade(self) -> bool:
        return self._cascade is not None

    def difficulty(self, text: str) -> float:
        """The probability that the strong model answers ``text`` better, in [0, 1]."""
        return float(self._router.predict(Batch([text]))[0])

    def difficulties(self, texts: Sequence[str]) -> Vector:
        return self._router.predict(Batch(list(texts))) if texts else np.zeros(0)

    def qualities(self, text: str) -> dict[str, float]:
        """Predicted quality per model (only for artifacts trained on more than two models)."""
        if not self._quality:
            raise ConfigError("this router was trained on two models; it has no quality heads")
        batch = Batch([text])
        return {m: float(p.predict(batch)[0]) for m, p in self._quality.items()}

    def quality_matrix(self, texts: Sequence[str]) -> Vector:
        """Predicted quality, one row per text and one column per model (``models`` order)."""
        if not self._quality:
            raise ConfigError("this router was trained on two models; it has no quality heads")
        batch = Batch(list(texts))
        return np.column_stack([self._quality[m].predict(batch) for m in self.models])

    @property
    def uses_portfolio(self) -> bool:
        """True when ``choose`` picks among more than two models by predicted quality."""
        return bool(self._quality) and self.quality_threshold is not None and bool(self.costs)

    def choose(self, text: str) -> str:
        """The model this artifact picks for ``text`` at its calibrated threshold."""
        costs, bar = self.costs, self.quality_threshold
        if self.uses_portfolio and costs is not None and bar is not None:
            return choose_cheapest(self.qualities(text), costs, bar, self.strong)
        return self.strong if self.is_strong(text, self.difficulty(text)) else self.weak

    def choose_many(self, texts: Sequence[str]) -> list[str]:
        """``choose`` for many texts at once (one batched prediction)."""
        costs, bar = self.costs, self.quality_threshold
        if self.uses_portfolio and costs is not None and bar is not None:
            picks = portfolio_choices(
                self.quality_matrix(texts), self.models, costs, bar, self.strong
            )
            return [self.models[i] for i in picks]
        strong = self.strong_mask(texts, self.difficulties(texts))
        return [self.strong if s else self.weak for s in strong]

    def weak_ok(self, prompt: str, answer: str) -> float:
        """The cascade scorer: probability that the weak model's ``answer`` is good enough."""
        if self._cascade is None:
            raise ConfigError("this router has no cascade scorer (train on labels with answers)")
        return float(self._cascade.predict(Batch([prompt], [answer]))[0])

    def weak_ok_many(self, prompts: Sequence[str], answers: Sequence[str]) -> Vector:
        if self._cascade is None:
            raise ConfigError("this router has no cascade scorer (train on labels with answers)")
        return self._cascade.predict(Batch(list(prompts), list(answers)))

    def escalate(self, prompt: str, answer: str) -> bool:
        """True when the weak answer should be replaced by the strong model's."""
        return bool(self.escalate_mask([prompt], np.array([self.weak_ok(prompt, answer)]))[0])

    def changed(self) -> bool:
        """True when the artifact on disk is no longer the one loaded (retrained, recalibrated)."""
        return _signature(self.path) != self._signature


def load_router(
    path: str | Path, *, embedder: Embedder | None = None, cache_size: int = 4096
) -> LoadedRouter:
    """Load and check an artifact; ``embedder`` replaces the one the artifact names."""
    root = Path(path)
    manifest = read_manifest(root)
    _check_versions(root, manifest)
    for key in ("version", "strong", "weak", "models", "threshold", "router"):
        if key not in manifest:
            raise ConfigError(f"the artifact's manifest lacks {key!r}", path=str(root))
    spec = manifest.get("embedder")
    if embedder is None and spec is not None:
        embedder = build_embedder(EmbedderSpec.from_json(spec), cache_size)
    router = _predictor(root, manifest, manifest["router"]["file"], embedder)
    cascade = None
    if manifest.get("cascade"):
        cascade = _predictor(root, manifest, manifest["cascade"]["file"], embedder)
    quality = None
    if manifest.get("portfolio"):
        heads = read_pickle(root, manifest, manifest["portfolio"]["file"])
        if not isinstance(heads, dict) or not all(isinstance(p, Predictor) for p in heads.values()):
            raise ConfigError("quality.pkl does not hold quality predictors", path=str(root))
        for head in heads.values():
            head.attach(embedder)
        quality = heads
    loaded = LoadedRouter(root, manifest, router, cascade, quality)
    _smoke_test(loaded)
    return loaded


def _smoke_test(router: LoadedRouter) -> None:
    """Score one prompt now, so that an artifact that loads but cannot score fails at start."""
    try:
        router.difficulty("How many legs do three spiders have?")
        if router.has_cascade:
            router.weak_ok("How many legs do three spiders have?", "24")
        if router.uses_portfolio:
            router.qualities("How many legs do three spiders have?")
    except UpstreamError:
        raise  # the embeddings API is down: that error already says so
    except Exception as exc:  # anything else means this artifact cannot work here
        raise ConfigError(
            f"the artifact loads but cannot score a prompt ({type(exc).__name__}: {exc}); "
            "retrain it with this Parity",
            path=str(router.path),
        ) from exc


def _predictor(
    root: Path, manifest: Mapping[str, Any], name: str, embedder: Embedder | None
) -> Predictor:
    predictor = read_pickle(root, manifest, name)
    if not isinstance(predictor, Predictor):
        raise ConfigError(f"{name} does not hold a router predictor", path=str(root))
    predictor.attach(embedder)
    return predictor


def _check_versions(root: Path, manifest: Mapping[str, Any]) -> None:
    import sklearn

    trained = str(manifest.get("sklearn_version", ""))
    if trained.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        # scikit-learn does not promise that pickles load across versions; refuse, don't guess.
        raise ConfigError(
            f"the artifact was trained with scikit-learn {trained or '?'}, this is "
            f"{sklearn.__version__}; retrain it with `parity router train`",
            path=str(root),
        )
