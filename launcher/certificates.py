"""A local certificate authority for `betmesh up --tls` and the tests: one CA made at each
start, one certificate per process, named after the process's client credential (its common
name is what mutual TLS checks against the caller's token subject), valid for localhost and
127.0.0.1. Keys are written 0600 and never leave the state directory.

Production uses cert-manager instead (deploy/k8s/base/certificates.yaml): the same file layout
(`tls.crt`, `tls.key`, `ca.crt`) mounted where BETMESH_TLS_* point.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from service_runtime.files import write_private

VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    cert_file: Path
    key_file: Path
    ca_file: Path

    def env(self, mutual: bool = False) -> dict[str, str]:
        return {
            "BETMESH_TLS_CERT_FILE": str(self.cert_file),
            "BETMESH_TLS_KEY_FILE": str(self.key_file),
            "BETMESH_TLS_CA_FILE": str(self.ca_file),
            "BETMESH_TLS_CLIENT_AUTH": "require" if mutual else "none",
        }


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class LocalAuthority:
    """A CA whose key exists only in this object and in `directory`."""

    def __init__(self, directory: Path, name: str = "betmesh local CA") -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.crt"
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Issued:
        """A certificate for `name` (common name and a DNS name), serving and calling."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        alternatives: list[x509.GeneralName] = [x509.DNSName(name)]
        for host in hosts:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alternatives.append(x509.DNSName(host))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file = self.directory / f"{name}.crt"
        key_file = self.directory / f"{name}.key"
        write_private(key_file, _key_pem(key))
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return Issued(cert_file, key_file, self.ca_file)


def grpc_channel(address: str, ca_file: Path | str | None) -> grpc.Channel:
    """A blocking channel to a mesh process: TLS pinned to the mesh's CA when it has one."""
    if not ca_file:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
    return grpc.secure_channel(address, credentials)
