"""What the probe tests share: targets on 127.0.0.1, one run through the real TargetRunner, the
samples of a run keyed by name and probe labels, and a self-signed TLS certificate made by the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collectors import COLLECTOR_KINDS, CollectorDeps
from collectors.health import RunResult, TargetRunner
from model import CollectorSpec, Device, SystemClock, Target

TARGET_LABELS = {"target", "site", "system", "role", "collector"}


def target(spec: CollectorSpec, address: str = "127.0.0.1") -> Target:
    device = Device(name="probe-01", site="dc-east", system="web", role="server", address=address)
    return Target(device=device, spec=spec)


def run_once(target: Target, deps: CollectorDeps | None = None) -> RunResult:
    """One run of the target's probe collector through the runner the scheduler uses."""

    async def run() -> RunResult:
        collector = COLLECTOR_KINDS[target.spec.kind](deps or CollectorDeps(clock=SystemClock()))
        return await TargetRunner(target=target, collector=collector, clock=SystemClock()).run_once()

    return asyncio.run(run())


def values(result: RunResult) -> dict[str, float]:
    """`name` or `name{label=value}` (probe labels only) -> value, for every sample of the run."""
    out: dict[str, float] = {}
    for sample in result.samples:
        own = ",".join(f"{k}={v}" for k, v in sample.labels.items() if k not in TARGET_LABELS)
        out[f"{sample.name}{{{own}}}" if own else sample.name] = sample.value
    return out


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    not_after: float
    """notAfter as Unix seconds."""

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed(directory: Path, *, days: int) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (and localhost) valid for `days` days from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file, (now + dt.timedelta(days=days)).timestamp())
