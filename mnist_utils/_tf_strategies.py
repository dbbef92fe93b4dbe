"""Keras on TensorFlow: the tf.distribute strategy for this machine (see accelerators.py).

Tried in this order: a cluster described by TF_CONFIG, a TPU, GPUs, several logical CPU
devices, the CPU. Where an accelerator is missing or fails to start, the next one is used and
the printed line says why. A TF_CONFIG that is set but unusable raises ValueError: training
alone would leave the other workers of that cluster waiting for this one forever.
"""
import json
import os

import tensorflow as tf

from mnist_utils.accelerators import GPU_HINT, Accelerator, describe
from mnist_utils.accelerators import short_error as _short

# The plain `tensorflow` package has no TPU kernels; Google publishes a TPU build of it.
TPU_INSTALL = ("pip install tensorflow-tpu "
               "-f https://storage.googleapis.com/libtpu-tf-releases/index.html")
# Checked with Keras 3.15 and TensorFlow 2.21: model.fit fails with 2 workers or more.
KERAS_FIT_NOTE = ("Keras 3's model.fit cannot train across workers on TensorFlow yet "
                  "(keras-team/keras#20585): train with a custom loop (strategy.run), or use "
                  "KERAS_BACKEND=jax and keras.distribution")


def find(tpu_hint):
    """The Accelerator for this machine on TensorFlow; tpu_hint: why a TPU seems attached."""
    if os.environ.get("TF_CONFIG"):
        return _cluster(os.environ["TF_CONFIG"])
    found, why_not_tpu = _tpu(tpu_hint) if tpu_hint else (None, None)
    return found or _local(why_not_tpu)


def _found(strategy, kind, what, name, note=None):
    """The Accelerator and its line, e.g. "... running on 1 GPU (Tesla T4) with the default strategy." """
    replicas = strategy.num_replicas_in_sync
    return Accelerator(strategy=strategy, kind=kind, replicas=replicas,
                       description=describe(what, name, replicas, note))


def _cluster(tf_config):
    """MultiWorkerMirroredStrategy over the machines of TF_CONFIG: training past one machine."""
    try:
        config = json.loads(tf_config)
        cluster, task = config["cluster"], config["task"]
        workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
        if not workers:
            raise ValueError('"cluster" lists no "worker"')
        if not 0 <= task["index"] < len(cluster.get(task["type"], [])):
            raise ValueError(f'task {task} is not in the cluster')
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except Exception as err:
        raise ValueError(
            f"TF_CONFIG is set but describes no usable cluster ({_short(err)}). It must be JSON "
            'like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}; unset it to train on this machine alone.'
        ) from err
    what = f"a cluster of {len(workers)} machines (this is {task['type']} {task['index']})"
    note = KERAS_FIT_NOTE if len(workers) > 1 else None
    return _found(strategy, "multi-worker", what, "MultiWorkerMirroredStrategy", note)


def _tpu(hint):
    """TPUStrategy on the TPU of this VM (Colab's TPU runtimes are TPU VMs, hence tpu="local").

    Those runtimes ship no TensorFlow, and the plain `tensorflow` package cannot drive a TPU:
    then this fails and the line says what to install.
    """
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    except Exception as err:
        return None, (f"a TPU seems attached ({hint}) but TensorFlow {tf.__version__} cannot "
                      f"use it ({_short(err)}); to use it, install TensorFlow's TPU build "
                      f"({TPU_INSTALL}) and restart the session, or switch to a GPU ({GPU_HINT})")
    chip = os.environ.get("TPU_ACCELERATOR_TYPE")
    return _found(strategy, "TPU", f"a TPU ({chip})" if chip else "a TPU", "TPUStrategy"), None


def _gpu_name(gpu):
    try:
        return tf.config.experimental.get_device_details(gpu).get("device_name", "unknown model")
    except Exception:
        return "unknown model"


def _local(note):
    """Several GPUs (or logical CPU devices): MirroredStrategy; one: the default strategy."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = ", ".join(sorted({_gpu_name(gpu) for gpu in gpus}))
        kind, several, one = "GPU", f"{len(gpus)} GPUs ({names})", f"1 GPU ({names})"
        count, devices = len(gpus), None  # None: MirroredStrategy takes every GPU
    else:
        devices = [cpu.name for cpu in tf.config.list_logical_devices("CPU")]
        kind, several, one = "CPU", f"{len(devices)} logical CPU devices", "the CPU"
        count = len(devices)
    if count > 1:
        try:
            strategy = tf.distribute.MirroredStrategy(devices)
            return _found(strategy, kind, several, "MirroredStrategy", note)
        except Exception as err:
            note = f"MirroredStrategy over {several} failed ({_short(err)})"
    if not gpus:
        note = note or f"no GPU or TPU found ({GPU_HINT})"
    return _found(tf.distribute.get_strategy(), kind, one, "the default strategy", note)
