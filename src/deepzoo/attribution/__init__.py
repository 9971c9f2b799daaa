"""Attribution maps: why a trained classifier gave its score, drawn over the input.

Grad-CAM, gradient saliency and Integrated Gradients through Captum; attention rollout for ViTs written
here (Captum lacks it); a layer's activations and the first layer's filters; the sanity checks the field
applies to such maps (model-parameter randomisation, pointing). ``deepzoo attribute`` drives it; see
docs/inspect.md.

>>> from deepzoo import api
>>> from deepzoo.attribution import Settings, attribute_images
>>> rows = attribute_images(api.load_run("cnn-patches"), "photos/", Settings("gradcam"), Path("maps/"))
"""

from .images import Settings, attribute_images, check_fits, class_index
from .maps import BASELINES, METHODS, ClassScores, Maps, explain, first_conv_filters
from .rollout import attention_rollout

__all__ = ["BASELINES", "METHODS", "ClassScores", "Maps", "Settings", "attention_rollout", "attribute_images",
           "check_fits", "class_index", "explain", "first_conv_filters"]
