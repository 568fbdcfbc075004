"""Scores that read as probabilities: a one-parameter mapping of the lexicon's raw score.

The raw score (noisy-OR of the evidence) orders articles well but is not a probability.
It is mapped through a logistic curve in log-odds, anchored at the relevance threshold:

    p = σ(slope · (logit(raw) − logit(threshold)))

so an article at the threshold reads 0.5 and every verdict (relevant or not) stays as it
was: the mapping is monotone and only changes what the number means. ``slope``
(``scoring.yaml calibration_slope``) is fitted by maximum likelihood (Platt scaling with
the intercept fixed by the anchor) on labelled items the lexicon was not tuned on; see
docs/classifier.md for the fit and the reliability table `cnai eval` prints.
"""

from __future__ import annotations

import math

_EDGE = 1e-4


def logit(p: float) -> float:
    p = min(max(p, _EDGE), 1 - _EDGE)
    return math.log(p / (1 - p))


def calibrated(raw: float, threshold: float, slope: float) -> float:
    """The calibrated probability of relevance for a raw score (0 stays 0, 1 stays 1)."""
    if raw <= 0.0 or raw >= 1.0:
        return min(max(raw, 0.0), 1.0)
    z = slope * (logit(raw) - logit(threshold))
    if z < -30:
        return 0.0
    return round(1.0 / (1.0 + math.exp(-z)), 4)
