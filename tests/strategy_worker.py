"""Run by tests/test_accelerators.py in a fresh process: find_accelerator, then train on digits.

    python tests/strategy_worker.py MODE DIGITS.npz EPOCHS

MODE "fit": the machine as it is (TF_CONFIG and the like come from the environment), trained
with model.fit as the notebooks do. "two-cpus-fit": the same after splitting the CPU into 2
logical devices, as a notebook would before TensorFlow starts. "loop": a custom training loop
(strategy.run), for MultiWorkerMirroredStrategy, which Keras 3's model.fit cannot drive across
workers (keras-team/keras#20585); it first records whether model.fit still fails, on a copy of
the model. The last line printed is RESULT {json}.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

mode, digits, epochs = sys.argv[1], np.load(sys.argv[2]), int(sys.argv[3])
if mode == "two-cpus-fit":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from mnist_utils.accelerators import find_accelerator  # noqa: E402

accelerator = find_accelerator()
strategy, batch = accelerator.strategy, accelerator.global_batch_size(32)
keras.utils.set_random_seed(0)
with strategy.scope():
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    optimizer = keras.optimizers.Adam(0.01)

options = tf.data.Options()  # each worker of a cluster takes its share of every batch
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
train = (tf.data.Dataset.from_tensor_slices((digits["x_train"], digits["y_train"]))
         .batch(batch, drop_remainder=True).with_options(options))

if mode.endswith("fit"):
    with strategy.scope():
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    losses = model.fit(train, epochs=epochs, shuffle=False, verbose=0).history["loss"]
else:
    fit_error = None  # does model.fit still fail here? (on a copy of the model, one step)
    try:
        with strategy.scope():
            probe = keras.models.clone_model(model)
            probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        probe.fit(train.take(1), shuffle=False, verbose=0)
    except Exception as err:
        fit_error = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                per_digit = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
                loss = tf.nn.compute_average_loss(per_digit, global_batch_size=batch)
            # Keras' optimizer sums the gradients of all replicas (all-reduce) before updating.
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))
            return loss
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    losses = [float(train_step(x, y))  # here: the loss of every step, not of every epoch
              for _ in range(epochs) for x, y in strategy.experimental_distribute_dataset(train)]

predictions = np.argmax(model(digits["x_test"], training=False), axis=-1)
print("RESULT " + json.dumps({
    "kind": accelerator.kind,
    "replicas": accelerator.replicas,
    "strategy": "default" if strategy is tf.distribute.get_strategy() else next(
        name for name in ("MultiWorkerMirroredStrategy", "MirroredStrategy", "TPUStrategy")
        if isinstance(strategy, getattr(tf.distribute, name))),
    "description": accelerator.description,
    "global_batch": batch,
    "loss": losses,
    "test_accuracy": float(np.mean(predictions == digits["y_test"])),
    "weights_sum": float(sum(np.sum(np.abs(w)) for w in model.get_weights())),
    "fit_error": None if mode.endswith("fit") else fit_error,
}))
