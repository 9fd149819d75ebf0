"""``pnyx-witness``: run an independent witness of Pnyx boards (docs/witness.md).

    pnyx-witness init --name witness.example.org/pnyx      make the key and the configuration
    pnyx-witness show-key                                  print the witness's verifier key
    pnyx-witness add-log --origin O --vkey V               witness one more log (an election)
    pnyx-witness serve [--host 127.0.0.1] [--port 7380]    answer add-checkpoint requests
    pnyx-witness evidence [--origin O] [--id N]            list refused forks / print one proof

The directory is ``--dir`` (default ``$PNYX_WITNESS_DIR`` or ``./pnyx-witness``). Exit status:
0 success, 1 evidence found (``evidence`` lists some), 2 usage or setup error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from crypto.checkpoint import verify_fork_proof
from crypto.errors import CryptoError, InvalidNote
from crypto.note import SIG_COSIGNATURE_V1, NoteSigner, check_key_name
from witness.state import (
    CONFIG_FILE,
    KEY_FILE,
    STATE_FILE,
    WitnessConfig,
    WitnessSetupError,
    connect,
    log_config,
    read_private_key,
    write_private_key,
)


def _directory(args) -> Path:
    return Path(args.dir or os.environ.get("PNYX_WITNESS_DIR") or "pnyx-witness")


def cmd_init(args) -> int:
    directory = _directory(args)
    try:
        check_key_name(args.name)
    except InvalidNote as exc:
        raise WitnessSetupError(f"--name: {exc}") from None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = directory / KEY_FILE
    if key_path.exists():
        raise WitnessSetupError(f"{key_path} exists already: this directory has a witness")
    signer = NoteSigner.generate(args.name, SIG_COSIGNATURE_V1)
    write_private_key(key_path, signer)
    config_path = directory / CONFIG_FILE
    if not config_path.exists():
        WitnessConfig(args.name, {}).save(config_path)
    connect(directory / STATE_FILE).close()
    print(f"witness {args.name} created in {directory}")
    print(f"verifier key (give it to the election officials): {signer.verifier.vkey}")
    return 0


def cmd_show_key(args) -> int:
    print(read_private_key(_directory(args) / KEY_FILE).verifier.vkey)
    return 0


def cmd_add_log(args) -> int:
    path = _directory(args) / CONFIG_FILE
    config = WitnessConfig.load(path)
    try:
        log = log_config(args.origin, args.vkey)
    except InvalidNote as exc:
        raise WitnessSetupError(str(exc)) from None
    if log.origin in config.logs and config.logs[log.origin] != log:
        raise WitnessSetupError(f"log {log.origin} is already witnessed under another key")
    logs = {**config.logs, log.origin: log}
    WitnessConfig(config.name, logs).save(path)
    print(f"witnessing {len(logs)} log(s); added {log.origin}")
    return 0


def cmd_serve(args) -> int:
    from witness.server import make_server
    from witness.service import Witness

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    witness = Witness(_directory(args))
    server = make_server(witness, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"pnyx-witness {witness.signer.name}: serving http://{host}:{port}/", flush=True)

    def stop(signum, frame):  # systemd stops services with SIGTERM: finish like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        witness.close()
    return 0


def cmd_evidence(args) -> int:
    from witness.service import Witness

    witness = Witness(_directory(args))
    items = witness.evidence(args.origin)
    if args.id is not None:
        found = [e for e in items if e.id == args.id]
        if not found:
            print(f"no evidence #{args.id}", file=sys.stderr)
            return 2
        evidence = found[0]
        log = witness.config.logs.get(evidence.origin)
        try:
            kind = verify_fork_proof(evidence.fork, log.key) if log else None
            verdict = f"a proof that the log forked ({kind})" if kind else "unchecked"
        except CryptoError as exc:
            verdict = f"not a self-contained fork proof ({exc}); kept as evidence"
        print(f"# evidence #{evidence.id}: {verdict}", file=sys.stderr)
        sys.stdout.write(evidence.fork.to_text())
        return 1
    for e in items:
        print(
            f"#{e.id}\t{e.kind}\t{e.origin}\told size {e.old_size}\tnew size {e.new_size}\t"
            f"detected {e.detected_at}"
        )
    if args.json:
        print(json.dumps([e.fork.to_json() for e in items], indent=2))
    return 1 if items else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pnyx-witness", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--dir", help="the witness directory (default $PNYX_WITNESS_DIR or ./pnyx-witness)"
    )
    sub = p.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create the key, the configuration and the state")
    init.add_argument("--name", required=True, help="key name, e.g. witness.example.org/pnyx")
    init.set_defaults(run=cmd_init)
    show = sub.add_parser("show-key", help="print the verifier key")
    show.set_defaults(run=cmd_show_key)
    add = sub.add_parser("add-log", help="witness a log (an election's board)")
    add.add_argument("--origin", required=True, help="the log's origin line")
    add.add_argument("--vkey", required=True, help="the log's verifier key (name+id+key)")
    add.set_defaults(run=cmd_add_log)
    serve = sub.add_parser("serve", help="serve the tlog-witness HTTP interface")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7380)
    serve.set_defaults(run=cmd_serve)
    evidence = sub.add_parser("evidence", help="list the evidence of forks, or print one")
    evidence.add_argument("--origin", help="only this log")
    evidence.add_argument("--id", type=int, help="print this one as a fork proof (JSON)")
    evidence.add_argument("--json", action="store_true", help="also print every proof as JSON")
    evidence.set_defaults(run=cmd_evidence)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except WitnessSetupError as exc:
        print(f"pnyx-witness: {exc}", file=sys.stderr)
        return 2
