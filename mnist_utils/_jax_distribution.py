"""Keras on JAX: the keras.distribution for this machine (see accelerators.py).

Several devices (a TPU's cores, GPUs, or CPU devices made with
XLA_FLAGS=--xla_force_host_platform_device_count=N) get `keras.distribution.DataParallel`, set as
the distribution in force so that `model.fit` splits every batch between them. One device needs
nothing. A cluster of processes, described by KERAS_DISTRIBUTION_JOB_ADDRESSES,
KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID, is joined with
`keras.distribution.initialize` (JAX's multi-process runtime) before JAX starts; DataParallel
then spans every process's devices, and `model.fit` gives each process its share of every batch.
"""
import os

import jax
import keras

from mnist_utils.accelerators import GPU_HINT, Accelerator, describe
from mnist_utils.accelerators import short_error as _short

CLUSTER_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                     "KERAS_DISTRIBUTION_PROCESS_ID")
_joined = None  # (processes, this process) once this process joined its cluster


def find(tpu_hint):
    """The Accelerator for this machine on JAX; tpu_hint: why a TPU seems attached, or None."""
    if any(os.environ.get(name) for name in CLUSTER_VARIABLES):
        return _cluster()
    devices = jax.devices()
    platform = devices[0].platform
    note = None
    if tpu_hint and platform != "tpu":
        note = (f"a TPU seems attached ({tpu_hint}) but JAX {jax.__version__} found none "
                f"(is libtpu installed?); or switch to a GPU ({GPU_HINT})")
    elif platform == "cpu" and len(devices) == 1:
        note = f"no GPU or TPU found ({GPU_HINT})"
    return _data_parallel(devices, _devices_in_words(devices), note)


def _devices_in_words(devices):
    """'the CPU', '2 CPU devices', '1 GPU (Tesla T4)', 'a TPU (4 cores, TPU v4)'..."""
    platform, n = devices[0].platform, len(devices)
    kinds = ", ".join(sorted({device.device_kind for device in devices}))
    if platform == "tpu":
        return f"a TPU ({n} {'core' if n == 1 else 'cores'}, {kinds})"
    if platform == "gpu":
        return f"{n} {'GPU' if n == 1 else 'GPUs'} ({kinds})"
    return "the CPU" if n == 1 else f"{n} CPU devices"


def _data_parallel(devices, what, note=None, kind=None):
    """DataParallel over `devices`, in force from now on; on one device, no distribution."""
    kind = kind or devices[0].platform.upper()
    if len(devices) == 1:
        keras.distribution.set_distribution(None)
        return Accelerator(None, kind, 1, describe(what, None, 1, note))
    distribution = keras.distribution.DataParallel(
        devices=[f"{device.platform}:{device.id}" for device in devices])
    keras.distribution.set_distribution(distribution)
    return Accelerator(None, kind, len(devices), describe(what, "DataParallel", len(devices), note),
                       distribution=distribution)


def _cluster():
    """Joins the cluster of the KERAS_DISTRIBUTION_* variables (once), then DataParallel."""
    global _joined
    if _joined is None:
        try:
            missing = [name for name in CLUSTER_VARIABLES if not os.environ.get(name)]
            if missing:
                raise ValueError(f"{', '.join(missing)} not set")
            processes = int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"])
            process = int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
            if not 0 <= process < processes:
                raise ValueError(f"process {process} is not one of the {processes} processes")
            keras.distribution.initialize()
        except Exception as err:
            raise ValueError(
                f"KERAS_DISTRIBUTION_* variables are set but describe no usable cluster "
                f"({_short(err)}). Set all three before JAX starts (before the first model), "
                "e.g. KERAS_DISTRIBUTION_JOB_ADDRESSES=host1:1234,host2:1234 "
                "KERAS_DISTRIBUTION_NUM_PROCESSES=2 KERAS_DISTRIBUTION_PROCESS_ID=0; unset "
                "them to train on this machine alone.") from err
        _joined = (processes, process)
    processes, process = _joined
    devices = jax.devices()  # every process's devices
    what = (f"{_devices_in_words(devices).replace('the CPU', '1 CPU device')} in a cluster of "
            f"{processes} processes (this is process {process})")
    return _data_parallel(devices, what, kind="multi-worker")
