"""Offline metrics for generative models, computed without downloading an Inception network.

**Classifier-based scores.** A classifier trained by deepzoo on the same dataset (a ``cnn`` for images)
plays the role Inception v3 plays in FID and the Inception Score:

- the **Fréchet Classifier Distance** (FCD) between Gaussians fitted to its penultimate features
  (the pre-logits vector, ``forward_head(forward_features(x), pre_logits=True)``) of generated and real
  items — the Fréchet (2-Wasserstein) distance of Dowson & Landau 1982 used by FID (Heusel et al. 2017,
  Eq. 6);
- the **classifier score**, exp(E_x KL(p(y|x) ‖ p(y))) — the Inception Score of Salimans et al. 2016
  (§4) with this classifier: K for confident, evenly spread predictions over K classes, 1 for one class;
- the **class histogram** of generated items and the **mode coverage**, the fraction of classes that
  receive at least ``min_share`` of the items (default half the uniform share, 1/(2K));
- for class-conditional generators, the **conditional accuracy** — the share of items the classifier
  assigns to the class they were generated for, Odena et al. 2017's Inception accuracy (§4.1) with this
  classifier — and the FCD **per class**, each class's generated items against its real ones.

These numbers are *not* comparable with published FIDs or Inception Scores: another network, other
features, other sample counts. Each is reported beside its real-versus-real value at the same sample
count, because the Fréchet distance is biased upwards for small N (two real samples of N items never
score 0). Keep N well above the feature width (64 for the ``cnn``) or the covariance is singular; the
distance stays finite then, but the estimate is poor. The Fréchet distance is torchmetrics'
(no Inception network is built or downloaded); PSNR and SSIM are in :mod:`deepzoo.metrics.image`.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance, _compute_fid

from ..errors import ConfigError

# -- Fréchet distance ----------------------------------------------------------------------------------


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2}) between N(μ1, Σ1) and N(μ2, Σ2), the Fréchet
    distance of Dowson & Landau 1982 that FID uses (Heusel et al. 2017, Eq. 6).

    This is torchmetrics' own formula (``torchmetrics.image.fid._compute_fid``, the function its
    ``FrechetInceptionDistance`` ends in), run in float64: Tr((Σ1 Σ2)^{1/2}) is the sum of the square
    roots of the eigenvalues of Σ1 Σ2, whose real parts are kept — the eigenvalues of a product of two
    positive semi-definite matrices are real and non-negative, so only round-off is dropped. It is
    private in torchmetrics; it is called here because the class takes images or features, not the
    Gaussians' statistics, and the closed-form tests need the statistics.
    """
    return float(_compute_fid(*(t.double() for t in (mu1, sigma1, mu2, sigma2))))


class PrecomputedFeatures(nn.Identity):
    """The "feature extractor" handed to torchmetrics' ``FrechetInceptionDistance`` when the features
    are already computed (by the judge classifier): it passes its (N, D) input through and declares
    ``num_features`` = D, so torchmetrics builds no Inception network, downloads nothing and needs
    neither torch-fidelity nor scipy."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


def feature_frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of features (N, D; other shapes are
    flattened per item): the FCD when the features are the judge classifier's.

    torchmetrics' ``FrechetInceptionDistance`` with :class:`PrecomputedFeatures` computes it: means and
    unbiased (N − 1) covariances accumulated in float64, then :func:`frechet_distance`'s formula. Each
    set needs at least two items. ``sync_on_compute=False``: the features are this process's whole sample,
    so under DDP nothing is gathered from other ranks.
    """
    a, b = a.flatten(1).double(), b.flatten(1).double()
    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(a.shape[1]), sync_on_compute=False)
    metric.update(a, real=False)
    metric.update(b, real=True)
    return float(metric.compute())


# -- predictions: classifier score and mode coverage ---------------------------------------------------


def classifier_score(probs: torch.Tensor) -> float:
    """exp(mean_i KL(p(y|x_i) ‖ p(y))) with p(y) the mean prediction (Salimans et al. 2016, §4)."""
    p = probs.double()
    marginal = p.mean(0, keepdim=True)
    kl = (torch.xlogy(p, p) - torch.xlogy(p, marginal.expand_as(p))).sum(1)
    return math.exp(float(kl.mean()))


def class_shares(predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The fraction of items predicted as each class: the class histogram, normalised."""
    counts = torch.bincount(predicted.flatten().long().cpu(), minlength=num_classes).double()
    return counts / max(1.0, float(counts.sum()))


def default_min_share(num_classes: int) -> float:
    """Half the uniform share: a class counts as covered with at least 1/(2K) of the items."""
    return 0.5 / num_classes


def mode_coverage(predicted: torch.Tensor, num_classes: int, min_share: float | None = None) -> float:
    """The fraction of the ``num_classes`` classes that hold at least ``min_share`` of the items."""
    share = default_min_share(num_classes) if min_share is None else min_share
    return float((class_shares(predicted, num_classes) >= share).double().mean())


def conditional_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of items whose most probable class (rows of ``probs``) is their label."""
    return float((probs.argmax(1).cpu() == labels.cpu()).double().mean())


def per_class_frechet(a: torch.Tensor, a_labels: torch.Tensor, b: torch.Tensor, b_labels: torch.Tensor,
                      num_classes: int) -> dict[int, float]:
    """``{k: Fréchet distance between the features of a's class-k items and those of b's}`` for every
    class with at least two items on both sides. With fewer items than feature dimensions the covariances
    are singular: the distance stays finite, but compare it only with a floor computed at the same counts."""
    a_labels, b_labels = a_labels.cpu(), b_labels.cpu()
    out = {}
    for k in range(num_classes):
        fa, fb = a[a_labels == k], b[b_labels == k]
        if min(len(fa), len(fb)) >= 2:
            out[k] = feature_frechet_distance(fa, fb)
    return out


def nearest_mode_counts(points: torch.Tensor, centers: torch.Tensor, std: float) -> tuple[torch.Tensor, float]:
    """Per mode, how many points lie within 3σ of it, and the fraction of such "high-quality" points
    (the mode-coverage measures of Metz et al. 2017 and Srivastava et al. 2017 on the ring)."""
    distance = torch.cdist(points.double(), centers.double().to(points.device))
    nearest, index = distance.min(1)
    close = nearest <= 3 * std
    counts = torch.bincount(index[close].cpu(), minlength=len(centers))
    return counts, float(close.double().mean())


def ring_scores(fake: torch.Tensor, real: torch.Tensor, centers: torch.Tensor, std: float) -> dict[str, float]:
    """``modes_covered`` (modes holding at least 1/(2K) of the points within 3σ) and ``high_quality``
    (the share of points within 3σ of a mode) of generated points, and of real ones (``_real``)."""
    share = default_min_share(len(centers))
    out = {}
    for suffix, points in (("", fake), ("_real", real)):
        counts, close = nearest_mode_counts(points, centers, std)
        out[f"modes_covered{suffix}"] = float((counts >= share * len(points)).sum())
        out[f"high_quality{suffix}"] = close
    return out


# -- the classifier that judges samples ---------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (identifies the classifier's weights in the summary)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class JudgeClassifier:
    """A trained deepzoo classifier run used to score generated items.

    It reads items in the dataset's raw units ([0, 1] pixels), resizes images to the size it was trained
    on (area interpolation, so a DCGAN trained on upsampled digits is judged at 8×8 like the real ones)
    and applies its own training normalisation.
    """

    def __init__(self, run_dir: Path, model: torch.nn.Module, meta, device: torch.device):
        interface = all(hasattr(model, a) for a in ("forward_features", "forward_head", "get_classifier"))
        if not interface or meta.task != "multiclass" or meta.num_classes < 2:
            raise ConfigError(f"task_args.classifier_run={run_dir}: not a multiclass classifier run with "
                              f"forward_features/forward_head (a zoo classifier such as cnn or mlp)")
        self.run_dir = Path(run_dir)
        self.model = model.to(device).eval()
        self.meta = meta
        self.device = device
        self.num_classes = meta.num_classes
        self.sha256 = file_sha256(self.run_dir / "model.safetensors")
        shape = tuple(meta.input_shape)
        self.input_shape = shape
        view = (-1, 1, 1) if len(shape) == 3 else (-1,)
        self.last_histogram: tuple[torch.Tensor, torch.Tensor] | None = None  # class shares: fake, real
        self.mean = None if meta.mean is None else torch.tensor(meta.mean, device=device).view(view)
        self.std = None if meta.std is None else torch.tensor(meta.std, device=device).view(view)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Raw-unit items → the classifier's input (resized, normalised)."""
        x = x.to(self.device, torch.float32)
        if x.dim() == 4 and tuple(x.shape[-2:]) != self.input_shape[-2:]:
            x = F.interpolate(x, size=self.input_shape[-2:], mode="area")
        if tuple(x.shape[1:]) != self.input_shape:
            raise ConfigError(f"classifier {self.run_dir} reads items of shape {self.input_shape}, "
                              f"the generator makes {tuple(x.shape[1:])}")
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x

    @torch.no_grad()
    def outputs(self, x: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features (N, D) and class probabilities (N, K) of raw-unit items, on the CPU."""
        features, probs = [], []
        for chunk in x.split(batch_size):
            f = self.model.forward_head(self.model.forward_features(self.prepare(chunk)), pre_logits=True)
            features.append(f.float().cpu())
            probs.append(self.model.get_classifier()(f).float().softmax(1).cpu())
        return torch.cat(features), torch.cat(probs)

    def scores(self, fake: torch.Tensor, real: torch.Tensor, reference: torch.Tensor,
               min_share: float | None = None) -> dict[str, float]:
        """FCD, classifier score and mode coverage of ``fake`` against ``real``, each beside the same
        measure for real items: ``reference`` is a second real sample of the same size (another split),
        so ``fcd_real_floor`` is what two real samples of this N score."""
        f_fake, p_fake = self.outputs(fake)
        f_real, p_real = self.outputs(real)
        f_ref, _ = self.outputs(reference)
        k = self.num_classes
        self.last_histogram = (class_shares(p_fake.argmax(1), k), class_shares(p_real.argmax(1), k))
        return {
            "fcd": feature_frechet_distance(f_fake, f_real),
            "fcd_real_floor": feature_frechet_distance(f_ref, f_real),
            "classifier_score": classifier_score(p_fake),
            "classifier_score_real": classifier_score(p_real),
            "mode_coverage": mode_coverage(p_fake.argmax(1), k, min_share),
            "mode_coverage_real": mode_coverage(p_real.argmax(1), k, min_share),
        }

    def conditional_scores(self, fake: torch.Tensor, real: torch.Tensor, reference: torch.Tensor,
                           labels: torch.Tensor) -> dict[str, float]:
        """Scores of items generated for ``labels`` (``fake``) against real items of the same labels
        (``real``), with ``reference``, a second real sample of the same labels, for the floors:
        ``conditional_accuracy`` (and the judge's accuracy on ``real``, its ceiling) and each class's FCD
        ``fcd_class_<k>`` beside ``fcd_class_<k>_real_floor``, and their means over the classes (those
        with two items or more)."""
        f_fake, p_fake = self.outputs(fake)
        f_real, p_real = self.outputs(real)
        f_ref, _ = self.outputs(reference)
        k = self.num_classes
        fcd = per_class_frechet(f_fake, labels, f_real, labels, k)
        floor = per_class_frechet(f_ref, labels, f_real, labels, k)
        scores = {"conditional_accuracy": conditional_accuracy(p_fake, labels),
                  "conditional_accuracy_real": conditional_accuracy(p_real, labels)}
        if fcd:
            scores.update(fcd_class_mean=sum(fcd.values()) / len(fcd),
                          fcd_class_mean_real_floor=sum(floor.values()) / len(floor))
        for c in fcd:
            scores[f"fcd_class_{c}"], scores[f"fcd_class_{c}_real_floor"] = fcd[c], floor[c]
        return scores
