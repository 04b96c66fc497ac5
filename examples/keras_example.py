"""Tune a tiny Keras 3 MLP with an experiment; SigOptCallback records each run (runs in seconds on a CPU).

    python examples/keras_example.py

Keras picks its backend at its first import. Without TensorFlow and without KERAS_BACKEND set,
importing sigopt_ai.integrations.keras first makes it PyTorch.
"""

import numpy as np

import sigopt_ai as sigopt
from sigopt_ai.integrations.keras import SigOptCallback  # before keras: it may choose Keras's backend

# isort: split
import keras

rng = np.random.default_rng(0)
x = rng.standard_normal((512, 8)).astype("float32")
y = (x[:, :4].sum(axis=1) - x[:, 4:].prod(axis=1)).reshape(-1, 1)

exp = sigopt.create_experiment(
    name="keras-example",
    parameters=[
        dict(name="lr", type="double", bounds=dict(min=1e-3, max=3.0), transformation="log"),  # large ones diverge
        dict(name="batch_size", type="int", bounds=dict(min=16, max=128)),
        dict(name="activation", type="categorical", categorical_values=["relu", "tanh"]),
    ],
    metrics=[dict(name="val_loss", objective="minimize")],
    budget=6,
)
for run in exp.loop():
    with run:
        hidden = keras.layers.Dense(32, activation=run.params.activation)
        model = keras.Sequential([keras.Input((8,)), hidden, keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=run.params.lr), loss="mse")
        # Records the optimizer, learning rate, loss and epochs, each epoch's logs, and val_loss at the end;
        # a NaN loss stops training and fails the run as diverged.
        callbacks = [SigOptCallback()]
        model.fit(
            x, y, batch_size=run.params.batch_size, epochs=5, validation_split=0.25, verbose=0, callbacks=callbacks
        )

print(f"Keras on {keras.backend.backend()}")
best = exp.best_runs()[0]
chosen = {name: best.params[name] for name in ("lr", "batch_size", "activation")}
print(f"best run {best.id}: val_loss={best.metrics['val_loss']:.4f} with {chosen}")
print(f"failed by kind: {dict(exp.progress.failed_by_kind)}")
