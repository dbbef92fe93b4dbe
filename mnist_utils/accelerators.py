"""The right tf.distribute strategy for this machine, found in one call that says what it found.

Tried in this order: a cluster described by TF_CONFIG, a TPU, GPUs, several logical CPU
devices, the CPU. Where an accelerator is missing or fails to start, the next one is used and
the printed line says why, so a notebook never stops on that.

One exception: a TF_CONFIG that is set but unusable (not JSON, no workers, a task outside the
cluster, a cluster that cannot be joined) raises ValueError. Training alone instead would leave
the other workers of that cluster waiting for this one forever; a clear error is kinder.
"""
import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

GPU_HINT = "on Colab: Runtime > Change runtime type > T4 GPU"
# The plain `tensorflow` package has no TPU kernels; Google publishes a TPU build of it.
TPU_INSTALL = ("pip install tensorflow-tpu "
               "-f https://storage.googleapis.com/libtpu-tf-releases/index.html")
# Checked with Keras 3.15 and TensorFlow 2.21: model.fit fails with 2 workers or more.
KERAS_FIT_NOTE = ("Keras 3's model.fit cannot train across workers yet (keras-team/keras#20585): "
                  "train with a custom loop (strategy.run)")
# PCI device ids of TPU chips (v2/v3, v4, v5p, v5e, v6e, TPU7x) under Google's vendor id 0x1ae0.
TPU_PCI_IDS = {"0x0027", "0x0056", "0x005e", "0x0062", "0x0063", "0x006f", "0x0076"}


@dataclass(frozen=True)
class Accelerator:
    """What find_accelerator found: the strategy to build the model in, and what it runs on."""

    strategy: tf.distribute.Strategy
    kind: str  # "TPU", "GPU", "CPU" or "multi-worker"
    replicas: int  # strategy.num_replicas_in_sync
    description: str  # the line find_accelerator prints

    def global_batch_size(self, per_replica: int) -> int:
        """The batch size for tf.data: each replica gets `per_replica` examples of every batch."""
        return per_replica * self.replicas


def find_accelerator(*, verbose: bool = True) -> Accelerator:
    """Returns the best strategy for this machine and prints (if verbose) one line about it.

    Raises ValueError only where TF_CONFIG is set but unusable (see the top of this module).
    """
    if os.environ.get("TF_CONFIG"):
        found = _cluster(os.environ["TF_CONFIG"])
    else:
        hint = _tpu_hint()
        found, why_not_tpu = _tpu(hint) if hint else (None, None)
        found = found or _local(why_not_tpu)
    if verbose:
        print(found.description)
    return found


def _found(strategy, kind, what, name, note=None):
    """The Accelerator and its line: "Running on 1 GPU (Tesla T4) with the default strategy." """
    replicas = strategy.num_replicas_in_sync
    line = f"Running on {what} with {name}"
    if replicas > 1:
        line += f": {replicas} replicas in sync"
    if note:
        line += f"{'; ' if replicas > 1 else ': '}{note}"
    return Accelerator(strategy, kind, replicas, line + ".")


def _short(err):
    """The error in a few words, for the printed line."""
    text = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {text[:110]}" if text else type(err).__name__


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


def _read(path):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _tpu_hint():
    """Why a TPU seems attached, or None: only then is one tried, so other machines skip it."""
    for name in ("TPU_ACCELERATOR_TYPE", "COLAB_TPU_1VM", "TPU_NAME"):
        if os.environ.get(name):  # Colab's CPU and GPU runtimes set COLAB_TPU_1VM to ""
            return f"{name}={os.environ[name]}"
    if glob.glob("/dev/accel[0-9]*"):
        return "/dev/accel devices"
    for vendor in glob.glob("/sys/bus/pci/devices/*/vendor"):
        if _read(vendor) == "0x1ae0" and _read(Path(vendor).with_name("device")) in TPU_PCI_IDS:
            return "a TPU chip on the PCI bus"
    return None


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
