"""A TCP proxy to cut (issue 10): what PostgreSQL looks like to the server behind it when it
stops, restarts or fails over — every open connection closed, new ones refused — without
stopping the machine's shared PostgreSQL. No Django here: ``python -m tests.faults.proxy`` runs it
as a process of its own (bench/faults.py), away from the load generator's threads.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """``127.0.0.1:<port>`` forwarded to ``target``. :meth:`cut` closes every connection and
    refuses new ones until :meth:`restore`: to the server behind it, PostgreSQL went away."""

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener: socket.socket | None = None
        self.cut_at: float | None = None

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair) -> None:
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = list(self._pairs), set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for pair in pairs:
            self._close(pair)
        self.cut_at = time.monotonic()

    def restore(self) -> None:
        if self._listener is None:
            self.start()
        self.cut_at = None

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def stop(self) -> None:
        self.cut()


def proxy_main(argv: list[str] | None = None) -> None:
    """``python -m tests.faults.proxy --port P --target HOST:PORT``: the proxy as a process of its
    own (bench/faults.py); SIGUSR1 cuts it, SIGUSR2 restores it, SIGTERM stops it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = TcpProxy((host, int(port)), args.port).start()
    signal.signal(signal.SIGUSR1, lambda *_: proxy.cut())
    signal.signal(signal.SIGUSR2, lambda *_: proxy.restore())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("proxy ready", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    proxy_main()
