"""Make ``digits.npz``, the caption task's bundled data, from scikit-learn's copy of the UCI digits.

    python src/rnnkit/datasets/digits/make_digits.py      # needs scikit-learn (not needed at run time)

Writes ``vectors`` (1797, 64) uint8 (8×8 images, grey levels 0..16, row by row), ``captions``
(1797,) the number word of each image ("zero" … "nine") and ``labels`` (1797,) uint8 0..9, in
scikit-learn's order, compressed; no pickle (fixed-width unicode, not object arrays).

Source: scikit-learn's ``load_digits`` (sklearn/datasets/data/digits.csv.gz, BSD-3-Clause), the test
part of the UCI "Optical Recognition of Handwritten Digits" data set (Alpaydin & Kaynak, 1998;
CC BY 4.0).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def main() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    vectors = digits.data.astype(np.uint8)                          # (1797, 64), 0..16
    assert np.array_equal(vectors, digits.data)
    labels = digits.target.astype(np.uint8)                         # (1797,)
    captions = np.array([WORDS[k] for k in labels])                 # (1797,) <U5
    out = Path(__file__).with_name("digits.npz")
    np.savez_compressed(out, vectors=vectors, captions=captions, labels=labels)
    print(f"{out}: {len(labels)} images, {out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
