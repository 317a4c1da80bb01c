#!/usr/bin/env bash
# Generates the test PKI into certs/ with GnuTLS certtool, unless a valid set is already there.
#   ca.pem / ca-key.pem             the test certificate authority
#   server.pem / server-key.pem     server certificate, SAN: localhost, 127.0.0.1, ::1
#   client.pem / client-key.pem     client certificate for mutual TLS
#   other-ca.pem, rogue.pem / rogue-key.pem   a second CA and a server cert it signed (untrusted by ca.pem)
#   expired.pem / expired-key.pem   a server certificate signed by ca.pem that expired in 2021
# Certificates are valid for ten years from generation; the set is regenerated when the server
# certificate has less than a day left, so a test run never sees it expire.
#
# certs/generate.sh DIR NAME_OR_IP...   makes the same set in DIR for other hosts: the server
#   certificate names every NAME_OR_IP given (and localhost, 127.0.0.1), so one set serves a
#   cluster spread over those hosts (docs: README, "Across hosts"). Copy DIR to every host.
set -euo pipefail
extra=()
if (($# > 0)); then
  out=$1
  shift
  (($# > 0)) || { echo "usage: certs/generate.sh DIR HOST_NAME_OR_IP..." >&2; exit 2; }
  extra=("$@")
  mkdir -p "$out"
  cd "$out"
else
  cd "$(dirname "$0")"
fi

valid() {
  ((${#extra[@]} == 0)) || return 1
  [[ -f ca.pem && -f server.pem && -f client.pem && -f rogue.pem && -f expired.pem && -f server-key.pem ]] || return 1
  command -v openssl >/dev/null || return 0
  openssl x509 -in server.pem -noout -checkend 86400 >/dev/null 2>&1
}
valid && exit 0
echo "certs: generating test certificates in $(pwd)"

key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null; }
tmpl=$(mktemp -d)
trap 'rm -rf "$tmpl"' EXIT

cat >"$tmpl/ca" <<T
cn = "RpcNet Test CA"
ca
cert_signing_key
crl_signing_key
expiration_days = 3650
T
cat >"$tmpl/other-ca" <<T
cn = "RpcNet Untrusted CA"
ca
cert_signing_key
expiration_days = 3650
T
cat >"$tmpl/server" <<T
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
expiration_days = 3650
T
for host in "${extra[@]}"; do
  if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then
    echo "ip_address = \"$host\"" >>"$tmpl/server"
  else
    echo "dns_name = \"$host\"" >>"$tmpl/server"
  fi
done
cat >"$tmpl/client" <<T
cn = "rpcnet-test-client"
tls_www_client
signing_key
expiration_days = 3650
T
cat >"$tmpl/expired" <<T
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
activation_date = "2020-01-01 00:00:00 UTC"
expiration_date = "2021-01-01 00:00:00 UTC"
T

key ca-key.pem
certtool --generate-self-signed --load-privkey ca-key.pem --template "$tmpl/ca" --outfile ca.pem 2>/dev/null
key other-ca-key.pem
certtool --generate-self-signed --load-privkey other-ca-key.pem --template "$tmpl/other-ca" --outfile other-ca.pem 2>/dev/null

sign() { # name template ca
  key "$1-key.pem"
  certtool --generate-certificate --load-privkey "$1-key.pem" --load-ca-certificate "$3.pem" \
    --load-ca-privkey "$3-key.pem" --template "$tmpl/$2" --outfile "$1.pem" 2>/dev/null
}
sign server server ca
sign client client ca
sign rogue server other-ca
sign expired expired ca
chmod 600 ./*-key.pem
