"""Optimizers and gradient clipping.

``opt.step(model.parameters(), model.gradients())`` updates the parameters in
place; ``clip_grad_norm(model.gradients(), max_norm)`` rescales the gradients
in place beforehand and returns their global norm.
"""
from rnnkit.optim.clipping import clip_grad_norm, clip_grad_value, grad_norm
from rnnkit.optim.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW",
           "clip_grad_norm", "clip_grad_value", "grad_norm"]
