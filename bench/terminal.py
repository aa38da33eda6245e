"""Running a program on a pseudo-terminal and reading what it draws (shared by the benches).

The child runs on a 120x40 pty exactly as in a real terminal; its output is read all the time
(a full pty would stall it) into a `pyte` screen, so a bench can wait until some text is on
the terminal, type keys, and time each step from the moment the process was started.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import termios
import time
from collections.abc import Callable, Sequence

COLUMNS, LINES = 120, 40


class PtyChild:
    """A child process on a pty; its clock starts just before the fork."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        import pyte

        self.screen = pyte.Screen(COLUMNS, LINES)
        self._stream = pyte.ByteStream(self.screen)
        self.args = list(args)
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child
            if env is None:
                os.execv(self.args[0], self.args)
            else:
                os.execve(self.args[0], self.args, env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.max_rss_kb = 0
        self._ended = False

    def elapsed(self) -> float:
        """Seconds since the process was started."""
        return time.perf_counter() - self.started

    def lines(self) -> list[str]:
        return list(self.screen.display)

    def shows(self, text: str) -> bool:
        return any(text in line for line in self.screen.display)

    def wait_for(self, done: Callable[[list[str]], bool], timeout: float) -> float:
        """Read the output until `done(screen lines)`: seconds since the process started.
        Raises RuntimeError (with the screen) if the child ends or the time runs out."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if done(self.screen.display):
                return self.elapsed()
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                self._stream.feed(chunk)
        if done(self.screen.display):
            return self.elapsed()
        tail = "\n".join(line.rstrip() for line in self.screen.display)
        raise RuntimeError(f"{' '.join(self.args[1:4])}: ended or timed out; screen:\n{tail}")

    def type(self, text: str) -> None:
        """Keys as a terminal sends them (Enter is "\\r")."""
        os.write(self.fd, text.encode())

    def drain(self, seconds: float) -> None:
        """Keep reading the output for a while (a full pty would stall the child)."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if ready:
                try:
                    self._stream.feed(os.read(self.fd, 65536))
                except OSError:
                    return

    def close(self) -> int:
        """Kill the child: its maximum resident set size in KB."""
        if not self._ended:
            self._ended = True
            os.kill(self.pid, signal.SIGKILL)
            _, _, usage = os.wait4(self.pid, 0)
            os.close(self.fd)
            self.max_rss_kb = usage.ru_maxrss
        return self.max_rss_kb

    def __enter__(self) -> PtyChild:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def run_until(
    args: Sequence[str], done: Callable[[list[str]], bool], timeout: float
) -> tuple[float, int]:
    """Run `args` on a pty until `done(screen lines)`: (seconds taken, max RSS in KB)."""
    with PtyChild(args) as child:
        elapsed = child.wait_for(done, timeout)
    return elapsed, child.max_rss_kb


def median_of(runs: int, measure: Callable[[], tuple[float, int]]) -> tuple[float, float]:
    """Median seconds and median peak RSS (MB) of `runs` calls of `measure()`."""
    seconds, rss = [], []
    for _ in range(runs):
        s, kb = measure()
        seconds.append(s)
        rss.append(kb / 1024)
    return statistics.median(seconds), statistics.median(rss)


def load_average() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())
