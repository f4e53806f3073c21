"""Edge metrics of pair probabilities against pair labels."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def pair_bce(probs: np.ndarray, labels: np.ndarray, pos_weight: float) -> float:
    """The training loss (BCE with `pos_weight` on the positive pairs) from probabilities."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    y = labels.astype(np.float64)
    return float(np.mean(-(pos_weight * y * np.log(p) + (1 - y) * np.log1p(-p)))) if len(y) else float("nan")


def edge_metrics(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
    """accuracy, precision, recall, F1 at `threshold`; ROC-AUC and average precision."""
    pred = probs >= threshold
    labels = labels.astype(bool)
    tp, fp, fn = int((pred & labels).sum()), int((pred & ~labels).sum()), int((~pred & labels).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both = len(np.unique(labels)) == 2
    return {"edge_accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
            "edge_precision": precision, "edge_recall": recall,
            "edge_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "edge_roc_auc": float(roc_auc_score(labels, probs)) if both else float("nan"),
            "edge_ap": float(average_precision_score(labels, probs)) if both else float("nan")}
