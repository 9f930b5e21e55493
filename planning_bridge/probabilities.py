"""Win probabilities: ``stage`` (the stage's default, or an imported deal's own probability)
and ``calibrated`` (learned from the CRM's closed deals).

````calibrated`` takes the first of these the history supports, learning only from deals
closed by the date the probabilities are for, seen at settled moments (``observations.py``):

1. fewer than ``MIN_CLOSED_DEALS`` closed deals with history: not enough to learn from, the
   stage defaults are used and reported as such (``source == "stage"``);
2. fewer than ``MIN_MODEL_OBSERVATIONS`` observations or ``MIN_CLASS_DEALS`` won or lost
   deals: each stage's observed win rate smoothed toward its default with a Beta prior of
   strength ``PRIOR_STRENGTH`` — (wins + k·default) / (seen + k) — so a stage seen a handful
   of times stays near its default;
3. otherwise a scikit-learn logistic regression on stage, days in stage, deal age, log amount,
   main family, days since the last touch and days past the expected close, wrapped in
   ``CalibratedClassifierCV`` (sigmoid, isotonic from 1,000 observations) whose folds keep
   each deal's observations together.

Both learned forms weigh recent observations more (half-life ``HALF_LIFE_DAYS``): win rates
drift with markets, products and the team.

Learned probabilities are monotone in stage (``monotone_in_stage``). Deals whose expected close
has passed get less than their stage says: the model reads how long they are overdue, and the
stage defaults are scaled by the win rate overdue deals really had against what their stage
defaults promised (``OverdueFactor``).

Imported deals have no history in this CRM: they keep their ``stage`` probability either way.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from planning_bridge import crm_port
from planning_bridge.observations import Features, Observations, observations_as_of, settled

log = logging.getLogger(__name__)

MIN_CLOSED_DEALS = 30
MIN_MODEL_OBSERVATIONS = 200
MIN_CLASS_DEALS = 15
PRIOR_STRENGTH = 10.0
HALF_LIFE_DAYS = 180
CV_FOLDS = 3
ISOTONIC_FROM = 1000
MODEL_VERSION = "pb-1"


@dataclass(frozen=True)
class StageRates:
    """Observed win rate per stage, smoothed toward the stage default."""

    rates: dict[str, float]
    seen: dict[str, int]

    @classmethod
    def fit(cls, stages: np.ndarray, won: np.ndarray, defaults: dict[str, float],
            strength: float = PRIOR_STRENGTH, weights: np.ndarray | None = None) -> StageRates:
        """(weighted wins + k·default) / (weighted observations + k) per stage."""
        weights = np.ones(won.size) if weights is None else weights
        rates, seen = {}, {}
        for stage in sorted(set(stages.tolist()) | set(defaults)):
            mask = stages == stage
            n, wins = float(weights[mask].sum()), float(weights[mask] @ won[mask])
            prior = defaults.get(stage, float(won.mean()) if won.size else 0.0)
            rates[stage] = (wins + strength * prior) / (n + strength)
            seen[stage] = int(mask.sum())
        return cls(rates, seen)

    def predict(self, features: Features, defaults: dict[str, float]) -> np.ndarray:
        return np.array([self.rates.get(s, defaults.get(s, 0.0)) for s in features.stage], float)


@dataclass
class CalibratedModel:
    """Logistic regression on the deal features, calibrated by cross-validation, recent
    observations weighing more (half-life ``HALF_LIFE_DAYS``)."""

    stages: tuple[str, ...]
    families: tuple[str, ...]
    # Set by ``fit``: a StandardScaler and a CalibratedClassifierCV (scikit-learn ships no types).
    scaler: Any = field(repr=False, default=None)
    classifier: Any = field(repr=False, default=None)

    @classmethod
    def fit(cls, observations: Observations) -> CalibratedModel:
        features, won = observations.features, observations.won
        model = cls(tuple(sorted(set(features.stage.tolist()))),
                    tuple(sorted(set(features.family.tolist()))))
        raw = model.design(features)
        model.scaler = StandardScaler().fit(raw)
        folds = _grouped_folds(won, observations.deal)
        method = "isotonic" if len(won) >= ISOTONIC_FROM else "sigmoid"
        model.classifier = CalibratedClassifierCV(
            LogisticRegression(C=1.0, max_iter=2000), method=method, cv=folds,
        ).fit(model.scaler.transform(raw), won, sample_weight=recency_weights(observations.at))
        return model

    def design(self, features: Features) -> np.ndarray:
        touch = np.where(np.isnan(features.days_since_touch), features.age_days,
                         features.days_since_touch)
        columns = [features.stage == s for s in self.stages]
        columns += [features.family == f for f in self.families]
        columns += [np.log1p(features.days_in_stage), np.log1p(features.age_days),
                    np.log1p(np.maximum(features.amount, 0.0)), np.log1p(touch),
                    np.isnan(features.days_since_touch), np.log1p(features.overdue)]
        return np.column_stack([np.asarray(c, dtype=float) for c in columns])

    def predict(self, features: Features, _defaults=None) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        return self.classifier.predict_proba(self.scaler.transform(self.design(features)))[:, 1]

    @property
    def method_name(self) -> str:
        return (f"logistic regression, {self.classifier.method}-calibrated, "
                f"recent deals weighted (half-life {HALF_LIFE_DAYS} days)")


OVERDUE_PRIOR = 5.0   # pseudo-wins pulling the overdue factor toward 1 while evidence is thin
OVERDUE_FLOOR = 0.05


@dataclass(frozen=True)
class OverdueFactor:
    """How much less likely an overdue deal is to be won than its stage default says:
    (wins of overdue deals + k) / (their stage defaults summed + k), at most 1, learned from the
    closed deals seen past their expected close at review moments."""

    factor: float
    observations: int

    @classmethod
    def fit(cls, observations: Observations, defaults: dict[str, float]) -> OverdueFactor:
        overdue = observations.features.overdue > 0
        if not overdue.any():
            return cls(1.0, 0)
        promised = sum(defaults.get(stage, 0.0) for stage in observations.features.stage[overdue])
        won = float(observations.won[overdue].sum())
        factor = (won + OVERDUE_PRIOR) / (promised + OVERDUE_PRIOR)
        return cls(float(np.clip(factor, OVERDUE_FLOOR, 1.0)), int(overdue.sum()))

    def apply(self, p: np.ndarray, overdue: np.ndarray) -> np.ndarray:
        return np.where(overdue, p * self.factor, p)

    @property
    def text(self) -> str:
        if self.observations == 0 or self.factor >= 1.0:
            return ""
        return f"overdue deals × {self.factor:.2f} (learned from {self.observations} overdue review moments)"


def overdue_factor_for(as_of: date, defaults: dict[str, float]) -> OverdueFactor:
    """The factor as it could be learned at the end of ``as_of`` (settled observations only)."""
    key = ("overdue", as_of, crm_port.history_fingerprint(), tuple(sorted(defaults.items())))
    if key not in _CACHE:
        _CACHE[key] = OverdueFactor.fit(settled(observations_as_of(as_of), np.datetime64(as_of, "D")), defaults)
    return _CACHE[key]


def recency_weights(moments: np.ndarray) -> np.ndarray:
    """Weight 1 for the latest observation, halving every ``HALF_LIFE_DAYS`` before it: win
    rates drift (markets, products, the team), and the last year says more than the one before."""
    if moments.size == 0:
        return np.zeros(0)
    days = (moments.max() - moments).astype("timedelta64[s]").astype(float) / 86_400.0
    return 0.5 ** (days / HALF_LIFE_DAYS)


def _grouped_folds(won: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds keeping each deal's observations together (no deal seen on
    both sides); a fold whose training side lacks an outcome is left out."""
    _labels, codes = np.unique(groups.astype(str), return_inverse=True)  # integers split fast
    splitter = GroupKFold(n_splits=min(CV_FOLDS, _labels.size), shuffle=True, random_state=0)
    return [(train, test) for train, test in splitter.split(np.zeros(len(won)), won, codes)
            if won[train].any() and not won[train].all()]


@dataclass(frozen=True)
class Learned:
    """What ``calibrated`` resolved to for one date: the source actually used, how, from what."""

    source: str                      # "calibrated" or "stage" (fallback)
    method: str
    train_count: int
    deal_count: int
    predictor: StageRates | CalibratedModel | None = None

    def predict(self, features: Features, defaults: dict[str, float]) -> np.ndarray:
        if self.predictor is None:
            return np.array([defaults.get(s, 0.0) for s in features.stage], float)
        return monotone_in_stage(self.predictor, features, defaults)

    @property
    def version(self) -> str:
        return (f"{MODEL_VERSION}:{self.source}:{self.method} "
                f"({self.train_count} observations of {self.deal_count} deals)")


def monotone_in_stage(predictor, features: Features, defaults: dict[str, float]) -> np.ndarray:
    """Learned probabilities that never fall as a deal moves to a later stage, all else equal.

    A model fitted on stage, age and days in stage can give a new Negotiation deal less than
    an old Discovery one: later stages are reached by fewer deals, and old deals that are
    still open are the ones that will close. Planners read a later stage as better news,
    so each deal is priced at every stage of the pipeline (``defaults`` lists them in order),
    the row of prices is replaced by its isotonic (non-decreasing, least-squares) fit, and the
    deal gets the fitted price of its own stage. Stages outside the pipeline keep their price.
    ``defaults`` must be in pipeline order (``inputs.stage_probabilities`` is), never sorted."""
    raw = np.clip(predictor.predict(features, defaults), 0.0, 1.0)
    order = list(defaults)
    if len(features) == 0 or len(order) < 2:
        return raw
    position = {stage: i for i, stage in enumerate(order)}
    where = np.array([position.get(stage, -1) for stage in features.stage])
    known = where >= 0
    if not known.any():
        return raw
    grid = np.column_stack([
        np.clip(predictor.predict(replace(features, stage=np.full(len(features), stage, dtype=object)), defaults),
                0.0, 1.0)
        for stage in order
    ])
    fitted = isotonic_rows(grid)
    result = raw.copy()
    result[known] = fitted[np.flatnonzero(known), where[known]]
    return np.clip(result, 0.0, 1.0)  # means of values in [0, 1] may round past 1


def isotonic_rows(values: np.ndarray) -> np.ndarray:
    """Each row's least-squares non-decreasing fit (equal weights), for few columns: the
    max-min formula f_i = max_{j<=i} min_{k>=i} mean(y_j..y_k), vectorised over the rows."""
    n, width = values.shape
    sums = np.concatenate([np.zeros((n, 1)), np.cumsum(values, axis=1)], axis=1)
    fitted = np.empty_like(values)
    for i in range(width):
        best = np.full(n, -np.inf)
        for j in range(i + 1):
            lowest = np.full(n, np.inf)
            for k in range(i, width):
                lowest = np.minimum(lowest, (sums[:, k + 1] - sums[:, j]) / (k - j + 1))
            best = np.maximum(best, lowest)
        fitted[:, i] = best
    return fitted


def learn(observations: Observations, defaults: dict[str, float]) -> Learned:
    """Resolve ``calibrated`` for these observations (see the module docstring)."""
    deals = np.unique(observations.deal.astype(str)) if len(observations) else np.array([])
    n_obs, n_deals = len(observations), int(deals.size)
    if n_deals < MIN_CLOSED_DEALS:
        return Learned("stage", f"stage defaults: {n_deals} closed deals with history, "
                       f"calibrated needs {MIN_CLOSED_DEALS}", n_obs, n_deals)
    won_deals = len({d for d, w in zip(observations.deal, observations.won) if w})
    lost_deals = n_deals - won_deals
    if n_obs >= MIN_MODEL_OBSERVATIONS and min(won_deals, lost_deals) >= MIN_CLASS_DEALS:
        model = CalibratedModel.fit(observations)
        return Learned("calibrated", model.method_name, n_obs, n_deals, model)
    rates = StageRates.fit(observations.features.stage, observations.won, defaults,
                           weights=recency_weights(observations.at))
    return Learned("calibrated", f"stage win rates smoothed toward the defaults (k={PRIOR_STRENGTH:g}), "
                   f"recent deals weighted (half-life {HALF_LIFE_DAYS} days)",
                   n_obs, n_deals, rates)


def empty_features() -> Features:
    none, empty = np.array([], dtype=object), np.zeros(0)
    return Features(none, none, empty, empty, empty, empty)


def learned_for(as_of: date, defaults: dict[str, float]) -> Learned:
    """``calibrated`` as it could be learned at the end of ``as_of`` (cached per history state)."""
    return _learned(as_of, crm_port.history_fingerprint(), tuple(sorted(defaults.items())))


def _learned(as_of: date, fingerprint, defaults: tuple) -> Learned:
    key = (as_of, fingerprint, defaults)
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = learn(settled(observations_as_of(as_of), np.datetime64(as_of, "D")), dict(defaults))
    return _CACHE[key]


_CACHE: dict = {}


def clear_cache() -> None:
    _CACHE.clear()
