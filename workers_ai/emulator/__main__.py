"""``python -m workers_ai.emulator``: serve the Workers AI emulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from typing import Any

from workers_ai.emulator.config import EmulatorConfig
from workers_ai.emulator.faults import FaultConfigError, FaultSpec, parse_fault_header
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
    return parser


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        require_uvicorn()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
