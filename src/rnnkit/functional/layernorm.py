"""Layer normalisation over blocks of units (Ba, Kiros & Hinton 2016), for the layer-normalised cells.

Legend: B batch, G blocks (gates), H units per block; a is (B, G·H) and
each (B, H) block g — one gate's pre-activations — is normalised on its own:

    μ = (1/H) Σ_j a_j      σ² = (1/H) Σ_j (a_j − μ)²      â = (a − μ) / √(σ² + ε)
    y = γ ⊙ â + β          γ, β (G·H,): a gain and a shift per unit

Backward, with dŷ = dy ⊙ γ (per block, means over the H units):

    da = (dŷ − mean(dŷ) − â ⊙ mean(dŷ ⊙ â)) / √(σ² + ε)
    dγ = Σ_b dy ⊙ â          dβ = Σ_b dy

ε = 1e-5, as ``torch.nn.LayerNorm``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

EPS = 1e-5


class LayerNormCache(NamedTuple):
    a_hat: np.ndarray  # (B, G, H) the normalised input
    rstd: np.ndarray   # (B, G, 1) 1 / √(σ² + ε)


def layernorm_forward(a: np.ndarray, gamma: np.ndarray, beta: np.ndarray, blocks: int):
    """a (B, G·H), gamma and beta (G·H,) -> (y (B, G·H), cache); each of the G blocks normalised alone."""
    B, GH = a.shape
    x = a.reshape(B, blocks, GH // blocks)
    mu = x.mean(axis=-1, keepdims=True)
    centred = x - mu
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)
    a_hat = centred * rstd
    y = a_hat.reshape(B, GH) * gamma + beta
    return y, LayerNormCache(a_hat, rstd)


def layernorm_backward(dy: np.ndarray, cache: LayerNormCache, gamma: np.ndarray):
    """dy (B, G·H) -> (da (B, G·H), dgamma (G·H,), dbeta (G·H,))."""
    a_hat, rstd = cache
    B, G, H = a_hat.shape
    flat_hat = a_hat.reshape(B, G * H)
    dgamma, dbeta = (dy * flat_hat).sum(axis=0), dy.sum(axis=0)
    # in the forward pass y = γ â + β, so dâ = dy γ; â = (a − μ)·rstd, where μ and rstd depend on every a_j
    d_hat = (dy * gamma).reshape(B, G, H)
    da = d_hat - d_hat.mean(axis=-1, keepdims=True) - a_hat * (d_hat * a_hat).mean(axis=-1, keepdims=True)
    da *= rstd
    return da.reshape(B, G * H), dgamma, dbeta
