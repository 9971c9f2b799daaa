"""Offline metrics for generative models, computed without downloading an Inception network.

**Classifier-based scores.** A classifier trained by deepzoo on the same dataset (a ``cnn`` for images)
plays the role Inception v3 plays in FID and the Inception Score:

- the **Fréchet Classifier Distance** (FCD) between Gaussians fitted to its penultimate features
  (``forward_features``) of generated and real items — the Fréchet (2-Wasserstein) distance of
  Dowson & Landau 1982 used by FID (Heusel et al. 2017, Eq. 6);
- the **classifier score**, exp(E_x KL(p(y|x) ‖ p(y))) — the Inception Score of Salimans et al. 2016
  (§4) with this classifier: K for confident, evenly spread predictions over K classes, 1 for one class;
- the **class histogram** of generated items and the **mode coverage**, the fraction of classes that
  receive at least ``min_share`` of the items (default half the uniform share, 1/(2K)).

These numbers are *not* comparable with published FIDs or Inception Scores: another network, other
features, other sample counts. Each is reported beside its real-versus-real value at the same sample
count, because the Fréchet distance is biased upwards for small N (two real samples of N items never
score 0). Keep N well above the feature width (64 for the ``cnn``) or the covariance is singular; the
eigen-decomposition below stays finite then, but the estimate is poor.

**Super-resolution.** PSNR and SSIM on the luma (Y) channel with a border of ``scale`` pixels cropped,
the convention of Ledig et al. 2017 and the SR literature: RGB in [0, 1] is quantised to 8 bits, Y is
ITU-R BT.601's 16 + 65.481·R + 128.553·G + 24.966·B (range 16–235 of 255), PSNR uses a peak of 255, and
SSIM is Wang et al. 2004 (Gaussian window 11, σ = 1.5, K1 = 0.01, K2 = 0.03, valid filtering).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import ConfigError

# -- Fréchet distance ----------------------------------------------------------------------------------


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (N − 1) of (N, D) features, in float64."""
    f = features.double().flatten(1)
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / max(1, len(f) - 1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues
    from round-off are clamped to 0)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2}) between N(μ1, Σ1) and N(μ2, Σ2).

    Tr((Σ1 Σ2)^{1/2}) is computed as Tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}) — the same eigenvalues, but of a
    symmetric PSD matrix, so an eigen-decomposition gives it without the complex round-off that
    ``scipy.linalg.sqrtm`` of the non-symmetric product produces.
    """
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt)


def feature_frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of (N, D) features."""
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))


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
        if not hasattr(model, "forward_features") or meta.task != "multiclass" or meta.num_classes < 2:
            raise ConfigError(f"task_args.classifier_run={run_dir}: not a multiclass classifier run with "
                              f"forward_features (a zoo classifier such as cnn or mlp)")
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

    @classmethod
    def load(cls, run_dir: str | Path, device: torch.device) -> JudgeClassifier:
        """The classifier of a finished run folder (its best weights)."""
        from ..api import load_run

        run = load_run(run_dir, with_data=False)
        return cls(run.dir, run.model, run.recipe.data.meta, device)

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
            f = self.model.forward_features(self.prepare(chunk)).float()
            features.append(f.cpu())
            probs.append(self.model.forward_head(f).float().softmax(1).cpu())
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


def train_judge(config, item_shape: tuple[int, ...], folder: Path | None, epochs: int,
                device: torch.device) -> JudgeClassifier:
    """Train a small classifier on a GAN run's dataset and load it as the judge of its samples.

    It reads the same dataset with the same options and seed — so the same train/valid/test split, and
    the held-out splits stay unseen — under the classifier's own normalisation: a ``cnn`` for images
    and signals, an ``mlp`` for points. Its run folder is ``folder/classifier`` (a temporary folder
    without one); a finished one is reused, so a resumed GAN run keeps its judge. Training and
    loading draw from the global RNGs: callers inside a run wrap this in
    :func:`deepzoo.recipes.gan.rng_preserved`.
    """
    import tempfile

    from ..api import train
    from ..config import RunConfig

    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="deepzoo-judge-"))
    run_dir = Path(folder) / "classifier"
    if not (run_dir / "model.safetensors").is_file():
        cfg = RunConfig()
        cfg.model.name = "cnn" if len(item_shape) >= 2 else "mlp"
        cfg.data.spec = config.data.spec
        cfg.data.options = {k: v for k, v in config.data.options.items() if k != "normalize"}
        cfg.seed, cfg.train.epochs, cfg.train.device = config.seed, epochs, str(device)
        cfg.train.progress = cfg.train.tensorboard = cfg.train.plots = cfg.train.checkpoint = False
        train(config=cfg, name="classifier", runs_dir=str(folder), overwrite=True, echo=lambda *a, **k: None)
    return JudgeClassifier.load(run_dir, device)


# -- super-resolution: PSNR and SSIM on Y -------------------------------------------------------------

BT601_Y = (65.481, 128.553, 24.966)  # ITU-R BT.601 luma weights for RGB in [0, 1], Y in [16, 235]


def luma(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] → (N, 1, H, W) Y in [16, 235] after 8-bit quantisation of the RGB
    values; one-channel images are taken as grey levels (×255)."""
    x = (images.float().clamp(0, 1) * 255).round() / 255
    if x.shape[1] == 1:
        return x * 255
    weights = torch.tensor(BT601_Y, device=x.device).view(1, 3, 1, 1)
    return 16.0 + (x * weights).sum(1, keepdim=True)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border else x


def psnr_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image PSNR (dB) on Y with ``border`` pixels cropped: 10·log10(255² / MSE)."""
    mse = (_crop(luma(output), border) - _crop(luma(target), border)).square().flatten(1).mean(1)
    return 10 * torch.log10(255.0**2 / mse.clamp(min=1e-10))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords.square() / (2 * sigma**2))
    g /= g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Per-image mean SSIM of one-channel images (Wang et al. 2004, Eq. 13; Gaussian window 11, σ 1.5,
    C1 = (0.01 L)², C2 = (0.03 L)², valid filtering so no padded values enter the means)."""
    window = _gaussian_window().to(x.device)
    x, y = x.double(), y.double()
    mu_x, mu_y = F.conv2d(x, window), F.conv2d(y, window)
    var_x = F.conv2d(x * x, window) - mu_x.square()
    var_y = F.conv2d(y * y, window) - mu_y.square()
    cov = F.conv2d(x * y, window) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


def ssim_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image SSIM on Y (range 255) with ``border`` pixels cropped."""
    return ssim(_crop(luma(output), border), _crop(luma(target), border))
