#!/usr/bin/env python3
"""Reads a scrape in the Prometheus text format on stdin and prints what Prometheus' own Python
client library makes of it (`prometheus_client.parser.text_string_to_metric_families`, pinned in
tests/grpc_python/requirements.txt): one JSON object on stdout,

    {"families": [{"name": "health_check_runs", "type": "counter", "help": "...",
                   "samples": [{"name": "health_check_runs_total",
                                "labels": {"check": "database", "outcome": "healthy"},
                                "value": 3.0}, ...]}, ...]}

The parser names a counter's family without its `_total` suffix (the samples keep it). A value
that is not finite is written as a string (`"inf"`, `"nan"`), since JSON has no such number.
Text the parser rejects is an exception: a traceback on stderr and exit status 1. The Rust
tests run it on what the example serves on /metrics.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(value):
    return value if math.isfinite(value) else repr(value)


def main():
    text = sys.stdin.read()
    families = []
    for family in text_string_to_metric_families(text):
        families.append(
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [
                    {
                        "name": sample.name,
                        "labels": dict(sample.labels),
                        "value": number(sample.value),
                    }
                    for sample in family.samples
                ],
            }
        )
    json.dump({"families": families}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
