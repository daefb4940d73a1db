"""A worker process of :class:`clientela.datamart.ingest._phones.PhonePool`.

Run as a script (``python _phone_worker.py REGION``), not as a module of the package: it needs
the normaliser and ``phonenumbers`` only, starts in a fraction of the time the package takes to
import, and never runs a caller's main module.  It reads requests on stdin and answers on
stdout, each a length (8 bytes, little-endian) and a pickled list: the phones in, their E.164
forms (None for empty or invalid) out.
"""

from __future__ import annotations

import importlib.util
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO


def main() -> None:
    # Ctrl-C reaches the whole process group: the load stops and closes our stdin; we stop then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # This folder is sys.path[0] when run as a script: its modules must not shadow any other.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    # The normaliser alone, from its file, without the package around it.
    spec = importlib.util.spec_from_file_location("_clientela_normalize", here / "normalize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    normalise_phones = module.normalise_phones

    region = sys.argv[1]
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    try:
        _serve(normalise_phones, region, requests, answers)
    except (BrokenPipeError, EOFError):
        return  # the load stopped while we were answering


def _serve(normalise_phones: Any, region: str, requests: BinaryIO, answers: BinaryIO) -> None:
    while True:
        header = requests.read(8)
        if len(header) < 8:
            return
        (size,) = struct.unpack("<Q", header)
        values = pickle.loads(requests.read(size))
        data = pickle.dumps(normalise_phones(values, region)[0], protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(struct.pack("<Q", len(data)))
        answers.write(data)
        answers.flush()


if __name__ == "__main__":
    main()
