"""The original codelab's input pipeline and five models (tensorflow-without-a-phd, keras_01..05),
ported to today's Keras as minimally as possible, so our notebooks can be measured against them.

Ported: `Adam(lr=...)` → `Adam(learning_rate=...)`; the input `Reshape(input_shape=...)` →
`Input` + `Reshape`; the files are read gzip-compressed (as every mirror serves them). Everything
else (reader, batch sizes, schedules, 10 epochs, `steps_per_epoch`, validation in one batch of
10,000) is as published.
"""
import time

import tensorflow as tf

EPOCHS = 10


# --- The input pipeline, as published ----------------------------------------------------

def read_label(tf_bytestring):
    label = tf.io.decode_raw(tf_bytestring, tf.uint8)
    label = tf.reshape(label, [])
    label = tf.one_hot(label, 10)
    return label


def read_image(tf_bytestring):
    image = tf.io.decode_raw(tf_bytestring, tf.uint8)
    image = tf.cast(image, tf.float32)/256.0
    image = tf.reshape(image, [28*28])
    return image


def load_dataset(image_file, label_file):
    imagedataset = tf.data.FixedLengthRecordDataset(image_file, 28*28, header_bytes=16,
                                                    compression_type="GZIP")
    imagedataset = imagedataset.map(read_image, num_parallel_calls=16)
    labelsdataset = tf.data.FixedLengthRecordDataset(label_file, 1, header_bytes=8,
                                                     compression_type="GZIP")
    labelsdataset = labelsdataset.map(read_label, num_parallel_calls=16)
    dataset = tf.data.Dataset.zip((imagedataset, labelsdataset))
    return dataset


def get_training_dataset(image_file, label_file, batch_size):
    dataset = load_dataset(image_file, label_file)
    dataset = dataset.cache()  # this small dataset can be entirely cached in RAM
    dataset = dataset.shuffle(5000, reshuffle_each_iteration=True)
    dataset = dataset.repeat()  # Mandatory for Keras for now
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.prefetch(-1)
    return dataset


def get_validation_dataset(image_file, label_file):
    dataset = load_dataset(image_file, label_file)
    dataset = dataset.cache()  # this small dataset can be entirely cached in RAM
    dataset = dataset.batch(10000, drop_remainder=True)  # all 10,000 in one batch
    dataset = dataset.repeat()  # Mandatory for Keras for now
    return dataset


# --- The five models, with their batch size and learning-rate schedule --------------------

def _conv(filters, size, strides=1, **kwargs):
    return tf.keras.layers.Conv2D(filters=filters, kernel_size=size, strides=strides,
                                  padding="same", **kwargs)


def model_01():
    model = tf.keras.Sequential([tf.keras.Input(shape=(28*28,)),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model, 128, None


def model_02():
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28*28,)),
        tf.keras.layers.Dense(200, activation="relu"),
        tf.keras.layers.Dense(60, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model, 128, None


def model_03():
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28*28,)),
        tf.keras.layers.Dense(200, activation="relu"),
        tf.keras.layers.Dropout(0.25),
        tf.keras.layers.Dense(100, activation="relu"),
        tf.keras.layers.Dropout(0.25),
        tf.keras.layers.Dense(60, activation="relu"),
        tf.keras.layers.Dropout(0.25),
        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model, 128, lambda epoch: 0.01 * 0.6**epoch


def model_04():
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28*28,)),
        tf.keras.layers.Reshape(target_shape=(28, 28, 1)),
        _conv(12, 3, activation="relu"),
        _conv(24, 6, 2, activation="relu"),
        _conv(32, 6, 2, activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(200, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model, 128, lambda epoch: 0.01 * 0.6**epoch


def model_05():
    def bn_relu():
        return [tf.keras.layers.BatchNormalization(scale=False, center=True),
                tf.keras.layers.Activation("relu")]

    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28*28,)),
        tf.keras.layers.Reshape(target_shape=(28, 28, 1)),
        _conv(12, 3, use_bias=False), *bn_relu(),
        _conv(24, 6, 2, use_bias=False), *bn_relu(),
        _conv(32, 6, 2, use_bias=False), *bn_relu(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(200, use_bias=False), *bn_relu(),
        tf.keras.layers.Dropout(0.3),
        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model, 64, lambda epoch: 0.01 * 0.666**epoch


MODELS = {"01": model_01, "02": model_02, "03": model_03, "04": model_04, "05": model_05}


def train(notebook, files, seed, callbacks=()):
    """Train the original's model of a notebook as its notebook does; return (history, seconds).

    seconds: from building the datasets to the end of `fit` (reading the files is part of the
    original's first epoch).
    """
    tf.keras.utils.set_random_seed(seed)
    model, batch_size, schedule = MODELS[notebook]()
    started = time.perf_counter()
    training = get_training_dataset(files["train_images"], files["train_labels"], batch_size)
    validation = get_validation_dataset(files["test_images"], files["test_labels"])
    callbacks = list(callbacks)
    if schedule:
        callbacks.append(tf.keras.callbacks.LearningRateScheduler(schedule))
    history = model.fit(training, steps_per_epoch=60000//batch_size, epochs=EPOCHS,
                        validation_data=validation, validation_steps=1, callbacks=callbacks,
                        verbose=0)
    return history, time.perf_counter() - started
