"""Neural style transfer (Gatys, Ecker & Bethge 2016): losses, feature extractors and the pixel
optimisation behind ``deepzoo stylize``. See docs/style_transfer.md."""

from .features import FeatureExtractor, build_extractor, load_vgg19_features, random_vgg19_features
from .losses import content_loss, gram_matrix, range_loss, style_loss, total_variation_loss
from .transfer import StyleObjective, StyleResult, optimise_image, read_image, stylize

__all__ = [
    "FeatureExtractor", "StyleObjective", "StyleResult", "build_extractor", "content_loss", "gram_matrix",
    "load_vgg19_features", "optimise_image", "random_vgg19_features", "range_loss", "read_image", "style_loss",
    "stylize", "total_variation_loss",
]
