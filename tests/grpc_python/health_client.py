#!/usr/bin/env python3
"""A gRPC health client built on the reference implementation: Python's `grpcio` and the
`grpcio-health-checking` stubs that the gRPC project generates from `grpc/health/v1/health.proto`
(pinned in requirements.txt beside this file). The Rust tests run it against the built example
service, so that the server is held to what the protocol's own client does, not only to tonic.

Usage (ADDR is host:port; an empty service name is passed as an empty argument, ''):

    health_client.py check ADDR NAME...   one Check per name, each on a channel of its own
    health_client.py list ADDR            one List
    health_client.py watch ADDR NAME...   one Watch per name, all on one channel, printing every
                                          message until every stream has ended

Output: one JSON object per line on stdout, flushed at once, so that the test reads each line
as it happens. `t` is the time in seconds since the script started.

    {"t": 0.03, "rpc": "check", "service": "", "status": "SERVING"}
    {"t": 0.05, "rpc": "check", "service": "nope", "code": "NOT_FOUND"}
    {"t": 0.02, "rpc": "list", "statuses": {"": "SERVING", "readiness": "NOT_SERVING"}}
    {"t": 0.04, "rpc": "watch", "service": "readiness", "status": "SERVING"}
    {"t": 9.71, "rpc": "watch", "service": "readiness", "end": "OK"}

An RPC that fails is a line (`code`, or `end` for a Watch), not a failure of the script: the
test decides what is expected. The exit status is 0 once every call has completed, 2 for a
usage error.
"""

import json
import sys
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

START = time.monotonic()
# Watch threads print concurrently: one line at a time.
PRINT_LOCK = threading.Lock()
# A Check or List that gets no answer within this long is reported as DEADLINE_EXCEEDED.
CALL_TIMEOUT_S = 10
# Loopback only: never through a proxy the environment may name (grpcio honours http_proxy).
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]


def emit(**fields):
    """Prints one JSON line, stamped with the time since start, and flushes it."""
    line = json.dumps({"t": round(time.monotonic() - START, 3), **fields})
    with PRINT_LOCK:
        print(line, flush=True)


def status_name(response):
    """`SERVING`, `NOT_SERVING`, `SERVICE_UNKNOWN` or `UNKNOWN`, as the protocol spells them."""
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def channel(addr):
    return grpc.insecure_channel(addr, options=CHANNEL_OPTIONS)


def check(addr, names):
    # A channel per name: a Kubernetes `grpc:` probe opens a connection per probe, and a
    # probe port answers one call per connection.
    for name in names:
        with channel(addr) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            try:
                response = stub.Check(
                    health_pb2.HealthCheckRequest(service=name), timeout=CALL_TIMEOUT_S
                )
                emit(rpc="check", service=name, status=status_name(response))
            except grpc.RpcError as error:
                emit(rpc="check", service=name, code=error.code().name)


def list_services(addr):
    # The pinned grpcio-health-checking's stubs include List (gRPC proposal A90). Stubs without
    # it would call `ch.unary_unary("/grpc.health.v1.Health/List", ...)` with the messages'
    # SerializeToString and FromString.
    with channel(addr) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        try:
            response = stub.List(health_pb2.HealthListRequest(), timeout=CALL_TIMEOUT_S)
            statuses = {
                name: status_name(value) for name, value in sorted(response.statuses.items())
            }
            emit(rpc="list", statuses=statuses)
        except grpc.RpcError as error:
            emit(rpc="list", code=error.code().name)


def watch_one(stub, name):
    """Prints each message of a Watch on `name`, then how the stream ended: `OK` when the
    server closed it normally, else the status code (UNAVAILABLE for a cut connection)."""
    try:
        for response in stub.Watch(health_pb2.HealthCheckRequest(service=name)):
            emit(rpc="watch", service=name, status=status_name(response))
        emit(rpc="watch", service=name, end="OK")
    except grpc.RpcError as error:
        emit(rpc="watch", service=name, end=error.code().name)


def watch(addr, names):
    # No deadline: a Watch lasts as long as the server keeps it open (the test ends the
    # server, or kills this process).
    with channel(addr) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        threads = [
            threading.Thread(target=watch_one, args=(stub, name), daemon=True) for name in names
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main(argv):
    if len(argv) >= 3 and argv[0] == "check":
        check(argv[1], argv[2:])
    elif len(argv) == 2 and argv[0] == "list":
        list_services(argv[1])
    elif len(argv) >= 3 and argv[0] == "watch":
        watch(argv[1], argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
