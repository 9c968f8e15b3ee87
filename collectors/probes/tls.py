"""TLS helpers shared by the TCP and HTTP probes: client contexts and the peer certificate's expiry."""

from __future__ import annotations

import ssl

from cryptography import x509

__all__ = ["client_context", "peer_cert_expiry"]


def client_context(*, ca_file: str | None = None, insecure_skip_verify: bool = False) -> ssl.SSLContext:
    """A client context that verifies the peer against `ca_file` (else the system's CAs) and its
    host name, or verifies nothing with `insecure_skip_verify` (the certificate is still read)."""
    context = ssl.create_default_context(cafile=ca_file)
    if insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def peer_cert_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> float | None:
    """The peer (leaf) certificate's notAfter as Unix seconds, or None without a certificate.
    Read from the DER bytes, so it works whether or not the certificate was verified."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
