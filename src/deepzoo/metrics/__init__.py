"""Metrics that training computes and that no task head owns: image quality (PSNR, SSIM — :mod:`.image`)
and the offline scores of generative models (the Fréchet classifier distance, classifier score and
mode coverage — :mod:`.gan`), torchmetrics underneath; supervised metrics live with their heads in
:mod:`deepzoo.tasks`."""
