"""``pnyx-trustee``: an offline trustee's commands (docs/trustees.md). Also ``manage.py trustee``.

Framework-free: it imports crypto/, tally.keystore, tally.trustee_steps, tally.trustee_board, the
standalone verifier and the standard library only, so a trustee runs it on a machine without
Django, database or broker. Each step reads the board once (a ``board.jsonl`` file or the
election's ``…/board.jsonl`` URL) into a temporary file, verifies those bytes with the standalone
verifier, takes every input from them, does the step only if the verified board allows it, and
writes a JSON message to upload (``pnyx-trustee upload``, or any HTTP client:
``POST …/api/elections/{id}/trustees/{index}/messages/`` with the file as body). ``--no-verify``
skips the verification, with a warning.

    pnyx-trustee keygen  --election UUID --index I --keystore FILE --token TOKEN --out registration.json
    pnyx-trustee commit  --keystore FILE --board BOARD --out commitment.json
    pnyx-trustee deal    --keystore FILE --board BOARD --out deal.json
    pnyx-trustee check   --keystore FILE --board BOARD --out check.json
    pnyx-trustee confirm --keystore FILE --board BOARD --out confirmation.json
    pnyx-trustee decrypt --keystore FILE --board BOARD --out decryption.json
    pnyx-trustee upload  FILE --server https://vote.example.org [--token TOKEN]
    pnyx-trustee status  --board BOARD [--keystore FILE]
    pnyx-trustee info    --keystore FILE

The passphrase comes from ``--passphrase-file``, ``PNYX_TRUSTEE_PASSPHRASE_FILE``,
``PNYX_TRUSTEE_PASSPHRASE``, or is asked for. Exit status: 0 done, 1 the step cannot be done
(the message says why), 2 usage or input/output error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tally import keystore
from tally.keystore import KeyStoreError
from tally.trustee_board import act, board_from
from tally.trustee_steps import BoardView, TrusteeError, dump_json, keygen

NO_VERIFY_WARNING = (
    "WARNING: --no-verify: this board is NOT verified. Every input of this step is taken from it\n"
    "WARNING: as it is: a server that altered the board could make you deal, complain, confirm or\n"
    "WARNING: decrypt something else than the real election's. Verify it (drop --no-verify)."
)


class UsageError(Exception):
    pass


def _passphrase(args, *, new: bool = False) -> str:
    if getattr(args, "passphrase_file", None):
        lines = Path(args.passphrase_file).read_text(encoding="utf-8").splitlines()
        value = lines[0] if lines else ""
    elif os.environ.get("PNYX_TRUSTEE_PASSPHRASE_FILE") or os.environ.get(
        "PNYX_TRUSTEE_PASSPHRASE"
    ):
        value = keystore.passphrase_from_environment()
    elif sys.stdin.isatty():
        value = getpass.getpass("Key store passphrase: ")
        if new and getpass.getpass("Again: ") != value:
            raise UsageError("the passphrases differ")
    else:
        raise UsageError("no passphrase: use --passphrase-file or PNYX_TRUSTEE_PASSPHRASE_FILE")
    return value


def _write(args, message: dict) -> None:
    text = dump_json(message)
    if args.out in (None, "-"):
        sys.stdout.write(text)
        return
    path = Path(args.out)
    path.write_text(text, encoding="utf-8")
    print(
        f"wrote {path} ({message.get('kind')}): upload it with `pnyx-trustee upload {path}`",
        file=sys.stderr,
    )


def _store(args):
    store = keystore.unlock(args.keystore, _passphrase(args))
    if store.outdated:
        with keystore.locked(store.path):
            keystore.upgrade(store)
        print(
            f"key store {store.path} saved again with the current scrypt cost "
            f"(n = 2^{keystore.SCRYPT_N.bit_length() - 1})",
            file=sys.stderr,
        )
    return store


def _step(args, step: str) -> dict:
    """Read the board once, verify it (unless --no-verify), and do ``step`` from it."""
    if args.no_verify:
        print(NO_VERIFY_WARNING, file=sys.stderr)
    store = _store(args)
    with board_from(args.board, verify=not args.no_verify, jobs=os.cpu_count() or 1) as board:
        if board.verified:
            seq, _ = board.head
            print(
                f"board verified up to entry #{seq} (state {board.view.state()})",
                file=sys.stderr,
            )
        with keystore.locked(store.path):
            message = act(store, board, step)
        if step == "check":
            params = board.view.params()
            dealt = len(board.view.signed_deals())
            if dealt < params.n:
                print(f"note: {dealt} of {params.n} deals are on the board so far", file=sys.stderr)
    return message


# --- Commands ------------------------------------------------------------------------------------


def cmd_keygen(args) -> int:
    store, registration = keygen(
        args.keystore,
        election=args.election,
        index=args.index,
        passphrase=_passphrase(args, new=True),
    )
    if args.token:
        registration["token"] = args.token
    print(
        f"key store {store.path} created (mode 0600) for trustee {store.index} of election "
        f"{store.election}; public key {store.public_key}",
        file=sys.stderr,
    )
    _write(args, registration)
    return 0


def cmd_commit(args) -> int:
    _write(args, _step(args, "commit"))
    return 0


def cmd_deal(args) -> int:
    _write(args, _step(args, "deal"))
    return 0


def cmd_check(args) -> int:
    message = _step(args, "check")
    count = len(message["message"]["complaints"])
    print(f"{count} complaint(s)" if count else "every share checks: no complaint", file=sys.stderr)
    _write(args, message)
    return 0


def cmd_confirm(args) -> int:
    _write(args, _step(args, "confirm"))
    return 0


def cmd_decrypt(args) -> int:
    _write(args, _step(args, "decrypt"))
    return 0


def cmd_mix(args) -> int:
    _write(args, _step(args, "mix"))
    return 0


def cmd_mix_decrypt(args) -> int:
    _write(args, _step(args, "mix-decrypt"))
    return 0


def cmd_upload(args) -> int:
    message = json.loads(Path(args.file).read_text(encoding="utf-8"))
    if args.token:
        message["token"] = args.token
    try:
        election, index = message["election"], int(message["trustee"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{args.file} is not a trustee message") from exc
    server = args.server.rstrip("/")
    if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
        raise UsageError("--server is an http(s) URL, e.g. https://vote.example.org")
    url = f"{server}/api/elections/{election}/trustees/{index}/messages/"
    request = urllib.request.Request(  # noqa: S310 - http(s) checked above
        url,
        data=json.dumps(message).encode("utf-8"),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            error = json.loads(body)["error"]
            text = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            text = body[:500].decode("utf-8", "replace")
        print(f"refused ({exc.code}) {text}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(f"cannot reach {url}: {exc}") from exc
    print(json.dumps(answer))
    return 0


def cmd_status(args) -> int:
    view = BoardView.read(args.board)
    kinds = {kind: len(entries) for kind, entries in sorted(view.entries.items())}
    out = {"election": view.election, "head": view.head[0], "entries": kinds}
    states = view.payloads("state")
    out["state"] = states[-1]["to"] if states else "draft"
    if view.payloads("ceremony"):
        params = view.params()
        out["trustees"] = params.n
        out["threshold"] = params.threshold
        committed = view.commitments(params)
        dealt = {p.get("dealer") for p in view.signed_deals()}
        confirmed = {p.get("trustee") for p in view.payloads("dkg-confirmation")}
        out["committed"] = sorted(committed)
        out["dealt"] = sorted(dealt)
        out["confirmed"] = sorted(confirmed)
        if args.keystore:
            index = keystore.read_header(args.keystore)["index"]
            if view.payloads("result"):
                nxt = "nothing: the result is published"
            elif view.payloads("tally"):
                nxt = "decrypt"
            elif view.payloads("ceremony-result"):
                nxt = "wait for the election to close, then decrypt"
            elif index not in committed:
                nxt = "commit"
            elif len(committed) < params.n:
                nxt = "wait for every commitment, then deal"
            elif index not in dealt:
                nxt = "deal"
            elif index not in confirmed:
                nxt = "check (once every deal is on the board), then confirm once the checks end"
            else:
                nxt = "wait for the ceremony result"
            out["next"] = nxt
    elif args.keystore:
        out["next"] = "register (keygen, upload), then wait for the ceremony to start"
    print(json.dumps(out, indent=1))
    return 0


def cmd_info(args) -> int:
    header = keystore.read_header(args.keystore)
    print(
        json.dumps(
            {k: header[k] for k in ("election", "index", "public_key", "kdf", "cipher")}, indent=1
        )
    )
    return 0


# --- Parser ------------------------------------------------------------------------------------


def build_parser(prog: str = "pnyx-trustee") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A Pnyx trustee's key store and key-ceremony / decryption messages.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_store(p, *, board: bool = True, out: bool = True):
        p.add_argument("--keystore", required=True, help="your key store file")
        p.add_argument("--passphrase-file", help="file whose first line is the passphrase")
        if board:
            p.add_argument(
                "--board", required=True, help="board.jsonl file or the election's board URL"
            )
            p.add_argument(
                "--no-verify",
                action="store_true",
                help="do NOT verify the board first (not recommended: prints a warning)",
            )
            p.add_argument(
                "--verify",
                action="store_true",
                help="verify the board first (the default; kept for older scripts)",
            )
        if out:
            p.add_argument("--out", help="message file to write (default: standard output)")
        return p

    p = with_store(
        sub.add_parser("keygen", help="create your key store; write the registration"),
        board=False,
    )
    p.add_argument("--election", required=True, help="the election's UUID")
    p.add_argument("--index", required=True, type=int, help="your trustee index (1..n)")
    p.add_argument("--token", help="the enrolment token you received (added to the message)")
    p.set_defaults(func=cmd_keygen)

    for name, func, text in (
        ("commit", cmd_commit, "draw your polynomial; write the signed commitment"),
        ("deal", cmd_deal, "write your signed deal (once every trustee has committed)"),
        ("check", cmd_check, "check your shares; write your complaints (maybe none)"),
        ("confirm", cmd_confirm, "write your confirmation of your verification key"),
        ("decrypt", cmd_decrypt, "write your partial decryption of the published tally"),
        ("mix", cmd_mix, "verify every earlier shuffle, then write your shuffle and its proof"),
        ("mix-decrypt", cmd_mix_decrypt, "write your decryption of the mix's final list"),
    ):
        p = with_store(sub.add_parser(name, help=text))
        p.set_defaults(func=func)

    p = sub.add_parser("upload", help="send a message file to the server")
    p.add_argument("file")
    p.add_argument("--server", required=True, help="the server's address, e.g. https://host")
    p.add_argument("--token", help="enrolment token (registration only)")
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("status", help="what the board shows of the ceremony; your next step")
    p.add_argument("--board", required=True)
    p.add_argument("--keystore", help="your key store (to say what you do next)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("info", help="the key store's public header (no passphrase needed)")
    p.add_argument("--keystore", required=True)
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None, prog: str = "pnyx-trustee") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        if getattr(args, "verify", False) and getattr(args, "no_verify", False):
            raise UsageError("--verify and --no-verify contradict each other")
        return args.func(args)
    except (TrusteeError, KeyStoreError) as exc:
        print(f"{prog} {args.command}: {exc}", file=sys.stderr)
        return 1
    except (UsageError, OSError) as exc:
        print(f"{prog} {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
