"""The pure functional core: ``<op>_forward -> (out, cache)`` and ``<op>_backward(dout, cache)`` pairs.

Cells (one time step): :mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`; their variants:
:mod:`.lstm_variants` (projection, peepholes, layer norm), :mod:`.gru_variants`,
:mod:`.layernorm`, :mod:`.recurrent_noise` (variational dropout, weight-drop,
zoneout), :mod:`.merge` (bidirectional merge modes); the layer over
time (lengths, reversal, BPTT): :mod:`.recurrent`; building blocks:
:mod:`.linear`, :mod:`.embedding`, :mod:`.dropout`; losses returning
``(loss, dlogits)``: :mod:`.losses`.
"""
from rnnkit.functional.dropout import dropout_backward, dropout_forward
from rnnkit.functional.embedding import embedding_backward, embedding_forward
from rnnkit.functional.gru import gru_cell, gru_step_backward, gru_step_forward
from rnnkit.functional.linear import linear_backward, linear_forward
from rnnkit.functional.losses import binary_cross_entropy_with_logits, log_softmax, mse, softmax, softmax_cross_entropy
from rnnkit.functional.lstm import LSTM_CELL, lstm_step_backward, lstm_step_forward
from rnnkit.functional.recurrent import recurrent_backward, recurrent_forward
from rnnkit.functional.rnn import rnn_cell, rnn_step_backward, rnn_step_forward
