#!/bin/sh
# Regenerates the TEST-ONLY certificates in tests/smtp/certs/ (a CA and a server certificate for
# localhost / 127.0.0.1, valid 100 years). Their private keys are public: never trust this CA
# anywhere but in ioc-tracker's own tests. Needs the openssl CLI; the tests themselves do not.
set -eu
cd "$(dirname "$0")/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -sha256 \
    -subj "/CN=ioc-tracker TEST-ONLY CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout server.key -out server.csr
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 -sha256 \
    -extfile server.ext -out server.pem
rm -f server.csr server.ext ca.srl
