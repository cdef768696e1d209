#!/bin/sh
# Makes the TLS fixtures of the tests: a test CA, a leaf certificate for
# localhost / 127.0.0.1 / ::1 signed by it, and a self-signed certificate that
# nothing trusts. Deno's TLS refuses a CA certificate used as a leaf, so the
# leaf is separate. Run from the repository root; the output is committed.
set -eu
out=tests/fixtures/tls
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
  -subj "/CN=weft test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$out/ca-key.pem" -out "$out/ca.pem"

openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
  -keyout "$out/key.pem" -out "$tmp/leaf.csr"
cat > "$tmp/leaf.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$tmp/leaf.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
  -days 36500 -sha256 -extfile "$tmp/leaf.ext" -out "$out/cert.pem"
rm -f "$out/ca.srl"

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -keyout "$out/untrusted-key.pem" -out "$out/untrusted.pem"
