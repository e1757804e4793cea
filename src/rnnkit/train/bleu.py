"""Corpus BLEU as sacreBLEU computes it by default, and exact match.

sacreBLEU's defaults (``BLEU()``): case-sensitive, the 13a tokenizer of mteval-v13a (WMT), n-grams
up to N = 4, "exp" smoothing, no effective order. For a corpus of hypotheses ŷ^(i) with references
y^(i,r) (one or more reference streams):

    m_n = Σ_i Σ_g min(count_ŷ(g), max_r count_y(r)(g))      clipped n-gram matches, n = 1 … 4
    l_n = Σ_i max(0, |ŷ^(i)| − n + 1)                        n-grams guessed
    p_n = m_n / l_n;  if m_n = 0: p_n = 1 / (2^k l_n), k = 1, 2, … counting the zero orders so far
    BP  = 1 if c ≥ r else exp(1 − r / c)   (0 when c = 0)    c = Σ |ŷ|, r = Σ closest reference length
    BLEU = 100 · BP · exp(¼ Σ_n log p_n)                     0 if no n-gram matches at all

(ties in the closest reference length go to the shorter one; an order with l_n = 0 makes BLEU 0).
Checked against sacreBLEU's own scores in ``tests/fixtures/sacrebleu_bleu.json``.

Reference: Post, "A Call for Clarity in Reporting BLEU Scores", WMT 2018; Papineni et al., "BLEU: a
Method for Automatic Evaluation of Machine Translation", ACL 2002.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

MAX_ORDER = 4
_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # ASCII punctuation and symbols (not . , ' -)
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),               # period and comma, unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),               # ... or unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                    # a dash after a digit
]


def tokenize_13a(line: str) -> list[str]:
    """mteval-v13a tokens of one segment (as sacreBLEU's ``Tokenizer13a``, trailing space stripped)."""
    line = line.rstrip().replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return line.split()


def _ngrams(tokens: list[str]) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, MAX_ORDER + 1) for i in range(len(tokens) - n + 1))


def bleu_statistics(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """Sufficient statistics: matches m_n, totals l_n, hypothesis length c and reference length r.

    ``references`` is a list of reference streams, each as long as ``hypotheses`` (sacreBLEU's layout);
    a segment may be None in some streams, for a variable number of references per hypothesis.
    """
    hypotheses = list(hypotheses)
    for k, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise ValueError(f"references[{k}]: expected {len(hypotheses)} segments (one per hypothesis), "
                             f"given {len(stream)}")
    if not references:
        raise ValueError("references: expected at least one reference stream")
    matches, totals, c, r = [0] * MAX_ORDER, [0] * MAX_ORDER, 0, 0
    for i, hyp in enumerate(hypotheses):
        h = tokenize_13a(hyp)
        refs = [tokenize_13a(stream[i]) for stream in references if stream[i] is not None]
        if not refs:
            raise ValueError(f"references: segment {i} has no reference (every stream holds None)")
        best = Counter()
        for ref in refs:
            best |= _ngrams(ref)                                      # max count over the references
        for gram, count in _ngrams(h).items():
            matches[len(gram) - 1] += min(count, best[gram])
        for n in range(1, MAX_ORDER + 1):
            totals[n - 1] += max(0, len(h) - n + 1)
        c += len(h)
        r += min((abs(len(ref) - len(h)), len(ref)) for ref in refs)[1]  # closest, shorter on ties
    return {"matches": matches, "totals": totals, "sys_len": c, "ref_len": r}


def bleu_from_statistics(stats: dict) -> float:
    """Corpus BLEU (0–100) from :func:`bleu_statistics`, with sacreBLEU's "exp" smoothing."""
    c, r = stats["sys_len"], stats["ref_len"]
    if not any(stats["matches"]):
        return 0.0
    bp = 1.0 if c >= r else (math.exp(1 - r / c) if c > 0 else 0.0)
    logs, halvings = [], 1.0
    for m, total in zip(stats["matches"], stats["totals"]):
        if total == 0:
            return 0.0                                                # log 0: sacreBLEU's −9999999999
        if m == 0:
            halvings *= 2
            logs.append(math.log(100.0 / (halvings * total)))
        else:
            logs.append(math.log(100.0 * m / total))
    return bp * math.exp(sum(logs) / MAX_ORDER)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """sacreBLEU's ``corpus_bleu(hypotheses, references).score``: detokenized strings in, 0–100 out."""
    return bleu_from_statistics(bleu_statistics(hypotheses, references))


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of hypotheses whose 13a tokens equal the reference's (spacing never matters)."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(f"references: expected {len(hypotheses)} (> 0) segments, given {len(references)}")
    return sum(tokenize_13a(h) == tokenize_13a(r) for h, r in zip(hypotheses, references)) / len(hypotheses)
