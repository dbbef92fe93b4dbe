"""Run by tests/test_accelerators.py in a fresh TensorFlow process: find_accelerator, then train
on the project's own training data (mnist_utils.training_dataset, the genuine files).

    PYTHONPATH=.:tools python tests/strategy_worker.py MODE SHARE.npy

MODE "fit": the machine as it is (TF_CONFIG, TPU hints and the like come from the environment),
a few steps of model.fit as the notebooks train. "two-cpus-fit": the CPU split into 2 logical
devices first (MirroredStrategy), one whole epoch of model.fit, recording which digits each
replica was given. "loop": a cluster from TF_CONFIG (MultiWorkerMirroredStrategy), which Keras 3's
model.fit cannot drive (keras-team/keras#20585): it records the error model.fit raises, then
trains with a custom loop (strategy.run) and records the digits this worker is given in one
epoch. Fingerprints of the digits go to SHARE.npy; the last line printed is RESULT {json}.
"""
import json
import sys

import keras
import numpy as np
import tensorflow as tf
from jax_worker import fingerprints

mode, share_path = sys.argv[1], sys.argv[2]
if mode == "two-cpus-fit":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import mnist_utils  # noqa: E402

PER_REPLICA, SEED = 100, 1
accelerator = mnist_utils.find_accelerator()
strategy, batch = accelerator.strategy, accelerator.global_batch_size(PER_REPLICA)
train = mnist_utils.training_dataset(batch, seed=SEED)
given = {}  # replica -> fingerprints of the digits it was given, in order


def record(replica, images):
    given.setdefault(int(replica), []).append(fingerprints(images.numpy()))
    return 0


class Recorder(keras.layers.Layer):
    """Passes its input on; while training, notes which digits this replica was given."""

    def call(self, x, training=False):
        if training:
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            tf.py_function(record, [replica, x], Tout=tf.int32)
        return x


keras.utils.set_random_seed(0)
with accelerator.scope():
    model = keras.Sequential([keras.Input((28, 28, 1)), Recorder(), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    optimizer = keras.optimizers.Adam(0.005)

result = {"fit_error": None}
if mode.endswith("fit"):
    with accelerator.scope():
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    steps = None if mode == "two-cpus-fit" else 20
    losses = model.fit(train, epochs=2 if steps else 1, steps_per_epoch=steps, shuffle=False,
                       verbose=0).history["loss"]
    if mode == "two-cpus-fit":
        result["per_replica"] = [len(np.concatenate(given[r])) for r in sorted(given)]
        result["batch_parts"] = sorted({len(part) for parts in given.values() for part in parts})
        np.save(share_path, np.stack([np.concatenate(given[r]) for r in sorted(given)]))
else:
    try:  # does model.fit still fail here? (on a copy of the model, one step)
        with accelerator.scope():
            probe = keras.models.clone_model(model)
            probe.compile(optimizer="adam", loss="categorical_crossentropy")
        probe.fit(train.take(1), verbose=0)
    except Exception as err:
        text = " ".join(str(err).split())
        result["fit_error"] = f"{type(err).__name__}: {text[:60]} ... {text[-120:]}"

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                per_digit = keras.losses.categorical_crossentropy(y, model(x))
                loss = tf.nn.compute_average_loss(per_digit, global_batch_size=batch)
            # Keras' optimizer sums the gradients of all replicas (all-reduce) before updating.
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))
            return loss
        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    distributed = strategy.experimental_distribute_dataset(train)
    losses = [float(train_step(x, y)) for x, y in
              strategy.experimental_distribute_dataset(train.take(40))]
    # The digits this worker is given in one epoch (its replica's part of every batch).
    np.save(share_path, np.concatenate([fingerprints(part.numpy()) for x, _ in distributed
                                        for part in strategy.experimental_local_results(x)]))

with accelerator.scope():
    test_x, test_y = mnist_utils.load_digits(1000)
predictions = np.argmax(model.predict(test_x, verbose=0), axis=-1)
print("RESULT " + json.dumps({
    **result,
    "kind": accelerator.kind,
    "replicas": accelerator.replicas,
    "strategy": "default" if strategy is tf.distribute.get_strategy() else next(
        name for name in ("MultiWorkerMirroredStrategy", "MirroredStrategy", "TPUStrategy")
        if isinstance(strategy, getattr(tf.distribute, name))),
    "description": accelerator.description,
    "global_batch": batch,
    "loss": losses,
    "test_accuracy": float(np.mean(predictions == test_y)),
    "weights": [w.ravel().tolist() for w in model.get_weights()],
}))
