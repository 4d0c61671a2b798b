"""``python -m workers_ai.emulator``: serve the Workers AI emulator in the foreground, or with
``--replay CASSETTES`` the answers recorded in cassettes (:mod:`workers_ai.emulator.replay`)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from typing import Any

from workers_ai.emulator.cassettes import CassetteFormatError
from workers_ai.emulator.config import EmulatorConfig
from workers_ai.emulator.faults import FaultConfigError, FaultSpec, parse_fault_header
from workers_ai.emulator.replay import (
    REPLAY_ACCOUNT_ID,
    REPLAY_API_TOKEN,
    ReplayExposedWarning,
    ReplayServer,
    replay_exposure_warning,
)
from workers_ai.emulator.server import (
    EmulatorExposedWarning,
    EmulatorServer,
    exposure_warning,
    require_uvicorn,
)
from workers_ai.errors import ConfigurationError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers_ai.emulator",
        description="A local Workers AI emulator (deterministic stand-in models, not real AI).",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (anything but loopback exposes it to the network: warned)",
    )
    parser.add_argument("--port", type=int, default=8787, help="port (0 picks a free one)")
    parser.add_argument("--account-id", default=EmulatorConfig.account_id)
    parser.add_argument("--api-token", default=EmulatorConfig.api_token)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency per request")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="random extra latency")
    parser.add_argument(
        "--stream-event-delay-ms", type=float, default=0.0, help="pause between SSE events"
    )
    parser.add_argument(
        "--rate-limit",
        default=None,
        help="requests/minute: a number for every task, or 'catalog' for Workers AI's limits",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[;after=N][;status=S]",
        help="a fault for every request, e.g. 'capacity' (repeatable)",
    )
    parser.add_argument(
        "--open-control",
        action="store_true",
        help="serve the control routes (/__emulator/*) without the bearer token",
    )
    batch = parser.add_argument_group("async batch jobs (?queueRequest=true)")
    batch.add_argument(
        "--batch-delay-s", type=float, default=0.0, help="seconds a job stays queued/running"
    )
    batch.add_argument(
        "--batch-pending-polls", type=int, default=1, help="polls a job answers queued/running"
    )
    batch.add_argument(
        "--batch-result-shape",
        choices=("flat", "nested"),
        default="flat",
        help="text-generation results as result.response or result.result.response",
    )
    batch.add_argument(
        "--batch-in-order",
        action="store_true",
        help="answer responses in input order (default: reversed, as they may be out of order)",
    )
    batch.add_argument(
        "--batch-fail-items",
        default="",
        metavar="I,J,...",
        help="input indices that fail in every job",
    )
    batch.add_argument(
        "--batch-failure-rate",
        type=float,
        default=0.0,
        help="fraction of inputs that fail, chosen deterministically (0 to 1)",
    )
    replay = parser.add_argument_group(
        "replay (answer with recorded answers instead of the stand-in models)"
    )
    replay.add_argument(
        "--replay",
        action="append",
        default=[],
        metavar="CASSETTES",
        help="serve the answers recorded in this cassette folder (searched recursively) or "
        "file, matched as the project's cassette suite matches (repeatable); any token is "
        "accepted; a request no cassette holds gets a 404 naming the closest recorded one",
    )
    replay.add_argument(
        "--replay-once",
        action="store_true",
        help="with --replay: each recorded interaction answers once, then 404 (default: once "
        "all matching ones have answered, the last answers again)",
    )
    return parser


#: Options of the emulator that mean nothing to the replay server (``--replay``).
_EMULATOR_ONLY = (
    "latency_ms",
    "jitter_ms",
    "stream_event_delay_ms",
    "rate_limit",
    "fault",
    "open_control",
    "batch_delay_s",
    "batch_pending_polls",
    "batch_result_shape",
    "batch_in_order",
    "batch_fail_items",
    "batch_failure_rate",
)


def _batch_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ``batch_*`` settings of :class:`EmulatorConfig` from the command line."""
    try:
        failed = [int(part) for part in args.batch_fail_items.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--batch-fail-items {args.batch_fail_items!r}: use e.g. 0,3") from None
    return {
        "batch_delay_s": args.batch_delay_s,
        "batch_pending_polls": args.batch_pending_polls,
        "batch_result_shape": args.batch_result_shape,
        "batch_shuffle": not args.batch_in_order,
        "batch_failed_items": failed,
        "batch_failure_rate": args.batch_failure_rate,
    }


def _control_hint(config: EmulatorConfig) -> str:
    auth = (
        "open: no token needed"
        if config.open_control
        else "send Authorization: Bearer $CLOUDFLARE_API_TOKEN"
    )
    return (
        f"Stats: GET /__emulator/stats   Faults: POST /__emulator/faults   ({auth})"
        "   Ctrl-C to stop."
    )


def _serve_replay(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``--replay``: serve recorded answers in the foreground."""
    ignored = [
        "--" + name.replace("_", "-")
        for name in _EMULATOR_ONLY
        if getattr(args, name) != parser.get_default(name)
    ]
    if ignored:
        print(
            f"error: --replay answers as recorded; {', '.join(ignored)} do not apply to it",
            file=sys.stderr,
        )
        return 2
    account = args.account_id
    token = args.api_token
    exposed = replay_exposure_warning(args.host)
    if exposed is not None:
        print(f"WARNING: {exposed}", file=sys.stderr)
        sys.stderr.flush()
    try:
        with warnings.catch_warnings():  # said once, on stderr, above
            warnings.simplefilter("ignore", ReplayExposedWarning)
            server = ReplayServer(
                args.replay,
                host=args.host,
                port=args.port,
                repeat=not args.replay_once,
                account_id=REPLAY_ACCOUNT_ID
                if account == parser.get_default("account_id")
                else account,
                api_token=REPLAY_API_TOKEN if token == parser.get_default("api_token") else token,
            )
        server.bind()
    except (OSError, CassetteFormatError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(_replay_banner(server))
    print(f"Base URL: {server.base_url}")
    print("Point clients at it with (any account id and token are accepted):")
    for name, value in server.env().items():
        print(f"  export {name}={value}")
    print(
        "Interactions: GET /__replay/interactions   Rewind: POST /__replay/reset   Ctrl-C to stop."
    )
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _replay_banner(server: ReplayServer) -> str:
    """What is served, and where it was recorded as far as the cassettes say."""
    origins = [i.recorded_from for c in server.cassettes for i in c.interactions]
    emulator, unmarked = origins.count("emulator"), origins.count("unmarked")
    return (
        f"Workers AI replay server: {len(origins)} recorded interactions from "
        f"{len(server.cassettes)} cassettes ({emulator} marked as recorded from the "
        f"emulator's stand-in models, {unmarked} with no mark of where they were recorded)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        require_uvicorn()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.replay:
        return _serve_replay(args, parser)
    if args.replay_once:
        print("error: --replay-once needs --replay", file=sys.stderr)
        return 2
    rate: int | str | None = args.rate_limit
    if rate is not None and rate != "catalog":
        rate = int(rate)
    try:
        faults: list[FaultSpec] = [parse_fault_header(f) for f in args.fault]
    except FaultConfigError as exc:
        print(f"error: --fault: {exc}", file=sys.stderr)
        return 2
    try:
        config = EmulatorConfig(
            account_id=args.account_id,
            api_token=args.api_token,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            stream_event_delay_ms=args.stream_event_delay_ms,
            rate_limit_per_minute=rate,
            faults=faults,
            open_control=args.open_control,
            **_batch_settings(args),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    exposed = exposure_warning(args.host, config)
    if exposed is not None:
        print(f"WARNING: {exposed}", file=sys.stderr)
        sys.stderr.flush()
    with warnings.catch_warnings():  # said once, on stderr, above
        warnings.simplefilter("ignore", EmulatorExposedWarning)
        server = EmulatorServer(config, host=args.host, port=args.port)
    server.bind()  # first, so the printed port is the real one with --port 0
    print("Workers AI emulator (deterministic stand-in models, NOT real Workers AI)")
    print(f"Base URL: {server.base_url}")
    print("Point clients at it with:")
    for name, value in server.env().items():
        print(f"  export {name}={value}")
    print(_control_hint(config))
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
