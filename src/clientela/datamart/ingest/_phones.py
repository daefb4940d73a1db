"""Phones normalised in worker processes, for loads of many customers.

``phonenumbers`` takes 30 to 70 µs a phone, in Python, under the GIL: the 750,000 phones of a
million customers took most of their load in one thread while the other core waited.  The query
that types a file calls the normaliser on vectors of rows; once a load has normalised
:data:`POOL_AFTER` phones itself, it splits each vector among a few worker processes (one per
core) and waits for their answers without holding the GIL.  On the 2-core machine of the
benchmarks the 1M customers' staging went from 26 s to 15 s (two CPU-bound processes there run
about 1.5 times as fast as one).

The workers run :mod:`._phone_worker` as a script, started with the interpreter that runs
clientela: no ``multiprocessing``, which would import the caller's main module again in each
worker (a user's script without an ``if __name__ == "__main__"`` guard would run twice).  If a
worker cannot be started the load goes on in-process.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from clientela.datamart.ingest.normalize import normalise_phones

__all__ = ["POOL_AFTER", "LoadPhones", "PhonePool"]

log = logging.getLogger(__name__)

POOL_AFTER = 50_000
"""Phones a load normalises in-process before it starts the workers (small loads never do)."""

_WORKER = Path(__file__).with_name("_phone_worker.py")


class _Worker:
    def __init__(self, region: str):
        self.process = subprocess.Popen(
            [sys.executable, str(_WORKER), region],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def send(self, values: list[str | None]) -> None:
        requests: IO[bytes] | None = self.process.stdin
        assert requests is not None
        data = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
        requests.write(struct.pack("<Q", len(data)))
        requests.write(data)
        requests.flush()

    def receive(self) -> list[str | None]:
        answers: IO[bytes] | None = self.process.stdout
        assert answers is not None
        header = answers.read(8)
        if len(header) < 8:
            raise RuntimeError(f"the phone worker stopped (exit code {self.process.poll()})")
        (size,) = struct.unpack("<Q", header)
        result: list[str | None] = pickle.loads(answers.read(size))
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class PhonePool:
    """Worker processes that normalise phones in ``region``; safe to call from many threads."""

    def __init__(self, region: str, workers: int | None = None):
        count = workers or max(1, min(os.cpu_count() or 1, 8))
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        try:
            for _ in range(count):
                worker = _Worker(region)
                self._workers.append(worker)
        except OSError:
            self.close()
            raise

    def normalise(self, values: list[str | None]) -> list[str | None]:
        """The E.164 form of each phone (None for empty or invalid), the list split among the
        workers."""
        if not values:
            return []
        with self._lock:
            workers = self._workers
            size = -(-len(values) // len(workers))
            parts = [values[i : i + size] for i in range(0, len(values), size)]
            for worker, part in zip(workers, parts, strict=False):
                worker.send(part)
            out: list[str | None] = []
            for worker, _ in zip(workers, parts, strict=False):
                out.extend(worker.receive())
            return out

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers.clear()


class LoadPhones:
    """The phone normaliser of one load: in-process, then, once the load has normalised
    :data:`POOL_AFTER` phones, in worker processes (a :class:`PhonePool`, stopped by
    :meth:`close`)."""

    def __init__(self, region: str):
        self.region = region
        self.seen = 0
        self.pool: PhonePool | None = None
        self.failed = False
        self.lock = threading.Lock()

    def __call__(self, values: list[str | None]) -> list[str | None]:
        pool = self.pool
        if pool is None and not self.failed:
            with self.lock:
                self.seen += len(values)
                if self.pool is None and self.seen > POOL_AFTER:
                    try:
                        self.pool = PhonePool(self.region)
                    except OSError as exc:
                        log.info("phones normalised in-process: no worker (%s)", exc)
                        self.failed = True
                pool = self.pool
        if pool is not None:
            return pool.normalise(values)
        return normalise_phones(values, self.region)[0]

    def close(self) -> None:
        with self.lock:
            if self.pool is not None:
                self.pool.close()
                self.pool = None
