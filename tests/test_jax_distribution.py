"""Keras on JAX across devices and processes, for real, each run in fresh processes.

`keras.distribution.DataParallel` over two host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2) and a cluster of two processes on loopback
(`keras.distribution.initialize`, from the KERAS_DISTRIBUTION_* variables), both training
notebook 01's model, built by its own Model cell, with `model.fit` on
`mnist_utils.training_dataset` (tests/jax_worker.py).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import free_ports, worker_env, worker_result

WORKER = Path(__file__).with_name("jax_worker.py")
NOTEBOOK, EPOCHS, STEPS = "01_softmax.ipynb", 2, 20


def jax_env(shared_mnist_dir, **extra):
    """Keras on JAX on the CPU, with no caps, no cluster and no TPU hint unless given."""
    return worker_env(shared_mnist_dir, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", **extra)


def start(env, share):
    """A worker whose output goes to a file: through a pipe, a process blocked on writing its
    long last line would keep the other process of its cluster waiting at exit, forever."""
    log = open(Path(share).with_suffix(".log"), "w+")
    process = subprocess.Popen([sys.executable, str(WORKER), NOTEBOOK, str(EPOCHS), str(STEPS),
                                str(share)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               text=True)
    process.log = log
    return process


def results_of(processes, timeout=180):
    """The RESULT of each worker (all killed if one hangs), and all each printed."""
    outputs = []
    try:
        for process in processes:
            process.wait(timeout=timeout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.log.seek(0)
            outputs.append(process.log.read())
            process.log.close()
    return [worker_result(p.returncode, output) for p, output in zip(processes, outputs)], outputs


def used_at_most_once(share, all_digits):
    """Every fingerprint of `share` is a training digit, none more often than in the set."""
    values, counts = np.unique(share, return_counts=True)
    known, known_counts = np.unique(all_digits, return_counts=True)
    where = np.searchsorted(known, values)
    assert np.all(where < len(known)) and np.all(known[np.minimum(where, len(known) - 1)] == values)
    assert np.all(counts <= known_counts[where])


def assert_loss_fell_by_a_fifth(result):
    """The last epoch's loss under 80% of the first's."""
    assert result["loss"][-1] < result["loss"][0] * 0.8, result["loss"]


def test_data_parallel_over_two_host_devices_trains_the_notebook_model(
        shared_mnist_dir, tmp_path, training_fingerprints):
    env = jax_env(shared_mnist_dir, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    (result,), (output,) = results_of([start(env, tmp_path / "share.npy")])
    assert result["backend"] == "jax" and result["devices"] == ["cpu:0", "cpu:1"]
    assert (result["kind"], result["replicas"], result["distribution"]) == ("CPU", 2,
                                                                            "DataParallel")
    assert result["description"] == ("Keras on JAX, running on 2 CPU devices with DataParallel, "
                                     "2 replicas in sync.")
    assert result["description"] in output.splitlines()  # printed on a line of its own
    assert result["batch_size"] == 128  # the notebook's BATCH_SIZE, shared: 64 per replica
    assert result["kernel_devices"] == ["cpu:0", "cpu:1"]  # the weights live on both devices
    assert_loss_fell_by_a_fifth(result)
    share = np.load(tmp_path / "share.npy")
    assert len(share) == 60_000 // 128 * 128  # one process: every full batch of the epoch
    used_at_most_once(share, training_fingerprints)


def test_two_processes_form_a_jax_cluster_and_train_with_fit(
        shared_mnist_dir, tmp_path, training_fingerprints):
    addresses = ",".join(f"localhost:{port}" for port in free_ports(2))
    workers = [start(jax_env(shared_mnist_dir, KERAS_DISTRIBUTION_JOB_ADDRESSES=addresses,
                             KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                             KERAS_DISTRIBUTION_PROCESS_ID=str(i)), tmp_path / f"share{i}.npy")
               for i in range(2)]
    results, _ = results_of(workers)
    for i, result in enumerate(results):
        assert result["processes"] == 2 and len(result["devices"]) == 2
        assert (result["kind"], result["replicas"], result["distribution"]) == (
            "multi-worker", 2, "DataParallel")
        assert result["description"] == (
            f"Keras on JAX, running on 2 CPU devices in a cluster of 2 processes (this is "
            f"process {i}) with DataParallel, 2 replicas in sync.")
        assert result["batch_size"] == 128  # the notebook's BATCH_SIZE, shared by the two
        assert_loss_fell_by_a_fifth(result)
    # Each process took its own half of every batch, and every digit of the epoch went to one.
    shares = [np.load(tmp_path / f"share{i}.npy") for i in range(2)]
    assert [len(share) for share in shares] == [60_000 // 128 * 64] * 2
    used_at_most_once(np.concatenate(shares), training_fingerprints)
    # The gradients of both halves were combined at each step: the same weights at the end.
    assert results[0]["weights"] == results[1]["weights"]
    assert max(abs(v) for w in results[0]["weights"] for v in w) > 1e-3  # trained, not zero


@pytest.mark.parametrize("variables, reason", [
    ({"KERAS_DISTRIBUTION_NUM_PROCESSES": "2"},
     "KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_PROCESS_ID not set"),
    ({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "localhost:1", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
      "KERAS_DISTRIBUTION_PROCESS_ID": "2"}, "process 2 is not one of the 2 processes"),
])
def test_a_malformed_jax_cluster_is_a_clear_error(shared_mnist_dir, variables, reason):
    code = "import mnist_utils; mnist_utils.find_accelerator()"
    run = subprocess.run([sys.executable, "-c", code], env=jax_env(shared_mnist_dir, **variables),
                         capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).parents[1])
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: KERAS_DISTRIBUTION_* variables are set but describe no "
                           "usable cluster"), run.stderr[-2000:]
    assert reason in last and "unset them to train on this machine alone" in last
