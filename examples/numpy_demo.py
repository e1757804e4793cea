"""The lecture notes' NumPy RNN demo, then the same computation with rnnkit.

The notes (003, "Recurrent Neural Networks (Explained!)") build a simple RNN
by hand: 100 time steps of 32 random features, a state of 64 zeros, weights
W (64, 32) for the input, U (64, 64) for the previous output and a bias b
(64,), and at every step

    output_t = tanh(W · x_t + U · state_t + b),   state_{t+1} = output_t.

rnnkit's ``RNN(32, 64)`` computes exactly this with W = weight_ih_l0,
U = weight_hh_l0 and b = bias_ih_l0 + bias_hh_l0; this script checks it.

Run:  python examples/numpy_demo.py
"""
import numpy as np

import rnnkit as rk

timesteps, input_features, output_features = 100, 32, 64

rng = np.random.default_rng(0)
inputs = rng.random((timesteps, input_features))
state_t = np.zeros((output_features,))
W = rng.random((output_features, input_features))
U = rng.random((output_features, output_features))
b = rng.random((output_features,))

# --- the notes' loop, as written in the lecture ---------------------------
successive_outputs = []
for input_t in inputs:
    output_t = np.tanh(np.dot(W, input_t) + np.dot(U, state_t) + b)
    successive_outputs.append(output_t)
    state_t = output_t
final_output_sequence = np.stack(successive_outputs, axis=0)   # (100, 64)

# --- the same network in rnnkit ------------------------------------------
rnn = rk.RNN(input_features, output_features, nonlinearity="tanh", dtype="float64")
rnn.load_state_dict({"weight_ih_l0": W, "weight_hh_l0": U,
                     "bias_ih_l0": b, "bias_hh_l0": np.zeros(output_features)})
out, h_n = rnn.forward(inputs[None])      # batch of one: (1, 100, 32) -> (1, 100, 64)

print(f"notes' loop:  {final_output_sequence.shape} outputs")
print(f"rnnkit RNN:   {out.shape[1:]} outputs, final state {h_n.shape}")
diff = np.abs(out[0] - final_output_sequence).max()
print(f"max |difference| = {diff:.2e}")
assert diff < 1e-12, "rnnkit disagrees with the notes' loop"
print("rnnkit.RNN reproduces the notes' demo.")
