"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, Algorithm 1), as SimCLR uses it.

SimCLR (Chen et al. 2020, §2.1 and Appendix B.1) trains with LARS at large batch sizes (learning rate
0.3 × batch/256, momentum 0.9, weight decay 1e-6, trust coefficient η = 0.001) and excludes biases and
batch-norm parameters from both the weight decay and the adaptation. For each adapted parameter w with
gradient g:

    g ← g + λ·w                       (weight decay)
    r = η·‖w‖ / ‖g‖                   (trust ratio; 1 when either norm is 0)
    v ← m·v + lr·r·g ;  w ← w − v     (momentum; Nesterov: w ← w − (m·v + lr·r·g))

Excluded parameters take the plain momentum step v ← m·v + lr·g. Here a parameter is excluded when it
has at most one dimension — biases and the scales and shifts of normalisation layers are exactly those.

Registered as the optimizer ``lars`` (``--set optim.name=lars``) by :mod:`deepzoo.engine.optim`, beside
SGD and Adam, so it works for every task, not only the self-supervised ones.
"""

from __future__ import annotations

import torch

#: SimCLR's trust coefficient η (Appendix B.1; the reference code's ``EETA_DEFAULT``)
TRUST_COEFFICIENT = 1e-3


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose step for each weight tensor is scaled by its trust ratio η‖w‖/‖g‖.

    ``weight_decay`` and the adaptation apply to parameters with two or more dimensions only (see the
    module docstring); a group's ``weight_decay`` is the λ of its adapted parameters.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = TRUST_COEFFICIENT, nesterov: bool = False):
        if lr < 0 or momentum < 0 or weight_decay < 0 or trust_coefficient <= 0:
            raise ValueError("LARS needs lr, momentum, weight_decay >= 0 and trust_coefficient > 0")
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, nesterov=nesterov)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(grad)
                    one = torch.ones_like(w_norm)
                    ratio = torch.where((w_norm > 0) & (g_norm > 0),
                                        group["trust_coefficient"] * w_norm / g_norm.clamp_min(1e-30), one)
                    grad = grad * ratio
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(grad, alpha=lr)
                p.sub_(buf * momentum + grad * lr if group["nesterov"] else buf)
        return loss
