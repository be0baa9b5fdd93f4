"""Progress of long work (docs/training.md, "Progress and logs"): a tqdm bar on a terminal, and
one plain line every ``interval`` seconds when the output goes to a file or a pipe (a batch job's
log, ``make demo > log``), where a bar's carriage-return updates would pile up into one
multi-kilobyte line.

    for item in progress(items, desc="epoch 3/100"):
        ...

``NBODY_LMP_PROGRESS_INTERVAL`` (seconds, default 30) sets how often the plain lines come.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, Iterator, Optional, TextIO

__all__ = ["progress", "ProgressLines", "DEFAULT_INTERVAL_S"]

DEFAULT_INTERVAL_S = 30.0


def _interval() -> float:
    raw = os.environ.get("NBODY_LMP_PROGRESS_INTERVAL")
    if raw is None:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"NBODY_LMP_PROGRESS_INTERVAL={raw!r} is not a number of seconds; set it to e.g. 30"
        ) from None
    if value <= 0:
        raise ValueError(f"NBODY_LMP_PROGRESS_INTERVAL must be > 0 seconds, got {raw}")
    return value


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressLines:
    """The non-terminal form of a bar: ``desc: k/n (p%) elapsed <eta`` at most once per
    ``interval`` seconds, and a last line when the work ends (if any line was written, or
    ``final`` is set). Same methods as the parts of tqdm the project uses."""

    def __init__(
        self,
        iterable: Optional[Iterable] = None,
        total: Optional[int] = None,
        desc: str = "",
        unit: str = "it",
        file: Optional[TextIO] = None,
        interval: Optional[float] = None,
        final: bool = False,
    ):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc, self.unit = total, desc, unit
        self.file = file if file is not None else sys.stderr
        self.interval = _interval() if interval is None else float(interval)
        self.final = final
        self.n = 0
        self.postfix = ""
        self.start = self.last = time.monotonic()
        self.lines = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            pct = 100.0 * self.n / self.total
            eta = elapsed / self.n * (self.total - self.n) if self.n else 0.0
            body = f"{self.n}/{self.total} {self.unit} ({pct:.0f}%) {_fmt_time(elapsed)}"
            body += f" <{_fmt_time(eta)}" if self.n < self.total else ""
        else:
            body = f"{self.n} {self.unit} {_fmt_time(elapsed)}"
        return head + body + (f", {self.postfix}" if self.postfix else "")

    def _emit(self) -> None:
        print(self.line(), file=self.file, flush=True)
        self.lines += 1
        self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.interval:
            self._emit()

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def set_description(self, desc: str, refresh: bool = False) -> None:
        self.desc = desc

    def close(self) -> None:
        if self.final or self.lines:
            self._emit()
        self.final, self.lines = False, 0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress(
    iterable: Optional[Iterable] = None,
    total: Optional[int] = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool = True,
    leave: bool = False,
    file: Optional[TextIO] = None,
):
    """A tqdm bar when ``file`` (default stderr) is a terminal, :class:`ProgressLines` when it is
    not, nothing (the iterable itself, or a silent counter) when ``enabled`` is false."""
    stream = file if file is not None else sys.stderr
    if not enabled:
        return ProgressLines(iterable, total, desc, unit, stream, interval=float("inf"))
    if _is_terminal(stream):
        from tqdm.auto import tqdm

        return tqdm(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            leave=leave,
            file=stream,
            dynamic_ncols=True,
        )
    return ProgressLines(iterable, total, desc, unit, stream, final=leave)
