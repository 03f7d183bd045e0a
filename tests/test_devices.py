"""Device names: syntax, availability (mocked: the test machine has no GPU), capabilities."""

import contextlib
import re
import subprocess
import sys

import pytest
import torch

from fusion import devices


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has `cuda` GPUs (0 = none) and MPS or not."""

    def set_up(cuda: int = 0, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_up


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:1", "cuda:12", "mps"])
def test_accepted_names(name):
    assert devices.check_name(name) == name


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cuda:-1", "cuda:", "cuda:01", "tpu", "CPU",
                                  " cpu", "cpu\n", "", None, 0])
def test_malformed_names_are_rejected_naming_the_key(name):
    expected = r"train\.device: expected auto, cpu, cuda, cuda:N or mps, got "
    with pytest.raises(ValueError, match=expected):
        devices.check_name(name, "train.device")
    with pytest.raises(ValueError, match=f"--device: .*got {re.escape(repr(name))}"):
        devices.resolve(name, key="--device")


def test_check_name_does_not_import_torch():
    code = "import sys, fusion.devices as d; d.check_name('cuda:1'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("cuda", "mps", "expected"), [
    (2, True, "cuda"), (1, False, "cuda"), (0, True, "mps"), (0, False, "cpu"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert devices.resolve("auto") == torch.device(expected)


def test_available_devices_are_resolved(machine):
    machine(cuda=2, mps=True)
    assert devices.available() == ["cpu", "cuda:0", "cuda:1", "mps"]
    for name in ("cpu", "cuda", "cuda:0", "cuda:1", "mps"):
        assert devices.resolve(name) == torch.device(name)


@pytest.mark.parametrize(("cuda", "mps", "name", "here"), [
    (0, False, "cuda", "cpu"),
    (0, False, "cuda:0", "cpu"),
    (0, False, "mps", "cpu"),
    (2, False, "cuda:2", "cpu, cuda:0, cuda:1"),
    (1, False, "mps", "cpu, cuda:0"),
    (0, True, "cuda", "cpu, mps"),
])
def test_unavailable_devices_name_the_key_and_what_is_available(machine, cuda, mps, name, here):
    machine(cuda=cuda, mps=mps)
    with pytest.raises(RuntimeError) as error:
        devices.resolve(name, key="evaluate.device")
    message = str(error.value)
    assert message.startswith(f"evaluate.device: {name!r} requested but not available")
    assert message.endswith(f"(available: {here})")


def test_cpu_capabilities():
    cpu = torch.device("cpu")
    assert not devices.supports_bf16_autocast(cpu)
    with devices.autocast(cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert devices.memory_format(cpu) == torch.channels_last
    assert devices.memory_format(torch.device("cuda")) == torch.channels_last
    assert devices.memory_format(torch.device("mps")) == torch.contiguous_format
    assert not devices.supports_bf16_autocast(torch.device("mps"))


def test_bf16_autocast_follows_the_cuda_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    for native in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                            lambda including_emulation, native=native: native)
        assert devices.supports_bf16_autocast(torch.device("cuda:0")) is native
