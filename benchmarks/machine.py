"""One line naming the machine a benchmark ran on, printed first so that a kept output says
where its figures come from."""

import os
import platform
import time
from pathlib import Path


def describe() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if
                line.startswith("model name")), platform.processor() or platform.machine())
    return (f"# {time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}")


def _cpuinfo() -> list[str]:
    path = Path("/proc/cpuinfo")
    return path.read_text().splitlines() if path.exists() else []
