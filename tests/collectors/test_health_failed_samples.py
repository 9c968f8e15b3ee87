"""TargetRunner keeps the samples a failed collection still measured (a failed probe's details)."""

from __future__ import annotations

import asyncio

from collectors import CollectError
from collectors.health import TargetRunner
from model import Device, FakeClock, HostCollectorSpec, Labels, Sample, Target

DEVICE = Device(name="web-01", site="dc-east", system="records", role="server", address="127.0.0.1")
TARGET = Target(device=DEVICE, spec=HostCollectorSpec(kind="host", interval=15.0, timeout=5.0))


class FailingWithSamples:
    async def collect(self, target: Target) -> list[Sample]:
        raise CollectError(
            "connection refused by 127.0.0.1:9",
            cause="refused",
            samples=(Sample("probe_success", Labels(), 0.0, 100.0), Sample("x", Labels(target="mine"), 1.0, 100.0)),
        )


def test_a_collect_error_s_samples_are_kept_with_the_target_labels_and_the_target_is_down() -> None:
    clock = FakeClock(100.0)
    result = asyncio.run(TargetRunner(target=TARGET, collector=FailingWithSamples(), clock=clock).run_once())
    identity = {"target": "web-01", "site": "dc-east", "system": "records", "role": "server"}
    health = identity | {"collector": "host"}
    assert result.samples == (
        Sample("probe_success", Labels(identity), 0.0, 100.0),
        Sample("x", Labels(identity | {"exported_target": "mine"}), 1.0, 100.0),
        Sample("up", Labels(health), 0.0, 100.0),
        Sample("collect_duration_seconds", Labels(health), 0.0, 100.0),
        Sample("collect_samples", Labels(health), 2.0, 100.0),
    )
    assert (result.health.up, result.health.last_cause) == (False, "refused")
    assert result.health.last_error == "connection refused by 127.0.0.1:9"
