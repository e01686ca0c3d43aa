#!/usr/bin/env bash
# Regenerates the certificates the golden cases embed, and splices them into every in.yaml.
#
# In an in.yaml, a Secret line of the form
#     tls.crt: <base64> # @cert NAME
#     tls.key: <base64> # @key NAME
# gets the base64 of certificate (or key) NAME below. Mixing names (a @cert of one pair with the @key of another)
# builds a Secret whose key does not match its certificate.
#
# After running this, every fingerprint changes: regenerate the outputs and review the diff.
#   bash test/golden/make-certs.sh
#   npx tsc -p tsconfig.json && UPDATE_GOLDEN=1 node --test dist/test/golden/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gen NAME KEYFORMAT(pkcs1|pkcs8) SUBJECT [SAN]: self-signed RSA 2048 certificate valid for 36500 days.
gen() {
  local name=$1 fmt=$2 subject=$3 san=${4:-}
  local ext=()
  if [ -n "$san" ]; then ext=(-addext "subjectAltName=$san"); fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "$subject" "${ext[@]}" \
    -keyout "$tmp/$name.pkcs8.key" -out "$tmp/$name.crt" 2>/dev/null
  if [ "$fmt" = pkcs1 ]; then
    openssl rsa -in "$tmp/$name.pkcs8.key" -traditional -out "$tmp/$name.key" 2>/dev/null # BEGIN RSA PRIVATE KEY
  else
    cp "$tmp/$name.pkcs8.key" "$tmp/$name.key" # BEGIN PRIVATE KEY
  fi
}

# T2/T3: the conformance shape: CN "default", the host only as SAN, PKCS#1 key.
gen foo-pkcs1 pkcs1 /CN=default DNS:foo.example.com
# T2: PKCS#8 key, two SANs.
gen bar-pkcs8 pkcs8 /CN=default DNS:bar.example.com,DNS:bar-alt.example.com
# T4 step 2: wildcard.
gen wild pkcs1 /CN=default 'DNS:*.wild.example.com'
# T4 step 3: chosen by its SANs from a tls entry without hosts. foo.example.com and x.wild.example.com are claimed
# by steps 1 and 2 in the cases that use it.
gen san-only pkcs8 /CN=default DNS:san-a.example.com,DNS:san-b.example.com,DNS:foo.example.com,DNS:x.wild.example.com
# T5: valid pair that covers other.example.com only.
gen other pkcs1 /CN=default DNS:other.example.com
# T3: the host only in CN, no SAN at all: must not count as covering the host.
gen cn-only pkcs1 /CN=cn-only.example.com
# M7: two certificates for the same host.
gen m7-old pkcs1 /CN=default DNS:m7.example.com
gen m7-new pkcs8 /CN=default DNS:m7.example.com
# --default-ssl-certificate.
gen default-cert pkcs1 /CN=default DNS:default.example.com

# tls-security-level: what OpenSSL's security level 2 (HAProxy's, on Debian) refuses, and what it still accepts.
# weak-rsa: RSA-1024 key. weak-ec: EC key on a 192-bit curve. sha1-leaf: leaf signed with SHA-1 by a CA (tls.crt holds
# leaf and CA). sha1-chain: leaf (SHA-256) under an intermediate that its root signed with SHA-1 (tls.crt holds leaf
# and intermediate). sha1-self: self-signed with SHA-1, which OpenSSL does not judge by its own signature: accepted.
openssl req -x509 -newkey rsa:1024 -nodes -days 36500 -subj /CN=weak-rsa -addext subjectAltName=DNS:weak-rsa.example.com \
  -keyout "$tmp/weak-rsa.key" -out "$tmp/weak-rsa.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime192v1 -nodes -days 36500 -subj /CN=weak-ec \
  -addext subjectAltName=DNS:weak-ec.example.com -keyout "$tmp/weak-ec.key" -out "$tmp/weak-ec.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -sha1 -subj /CN=sha1-self -addext subjectAltName=DNS:sha1-self.example.com \
  -keyout "$tmp/sha1-self.key" -out "$tmp/sha1-self.crt" 2>/dev/null
printf 'basicConstraints=critical,CA:true\nkeyUsage=keyCertSign,cRLSign\n' >"$tmp/ca.ext"
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=golden-root -addext basicConstraints=critical,CA:true \
  -keyout "$tmp/root.key" -out "$tmp/root.crt" 2>/dev/null
# signed NAME MD ISSUER SUBJECT EXTFILE: a fresh RSA-2048 key, its certificate signed by ISSUER with digest MD.
signed() {
  openssl req -new -newkey rsa:2048 -nodes -subj "$4" -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$3.crt" -CAkey "$tmp/$3.key" -CAcreateserial -"$2" -days 36500 \
    -extfile "$5" -out "$tmp/$1.crt" 2>/dev/null
}
printf 'subjectAltName=DNS:sha1-leaf.example.com\n' >"$tmp/sha1-leaf.ext"
signed sha1-leaf sha1 root /CN=sha1-leaf "$tmp/sha1-leaf.ext"
cat "$tmp/root.crt" >>"$tmp/sha1-leaf.crt"
signed sha1-inter sha1 root /CN=sha1-intermediate "$tmp/ca.ext"
printf 'subjectAltName=DNS:sha1-chain.example.com\n' >"$tmp/sha1-chain.ext"
signed sha1-chain sha256 sha1-inter /CN=sha1-chain "$tmp/sha1-chain.ext"
cat "$tmp/sha1-inter.crt" >>"$tmp/sha1-chain.crt"

# Hostile SAN names (spaces, "#", a comma that imitates a second SAN, a newline, upper case): needs a config file.
cat >"$tmp/hostile.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = default
[ext]
subjectAltName = @alt
[alt]
DNS.1 = bad name.example.com
DNS.2 = zzpwn\#x.example.com
DNS.3 = UPPER.Example.COM
DNS.4 = ok-san.example.com
DNS.5 = x.example.com, DNS:victim.example.com
DNS.6 = zzpwn.example.com\nuse_backend
DNS.7 = *.ok-wild.example.com
DNS.8 = zzpwn%[req.hdr(host)].example.com
EOF
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -config "$tmp/hostile.cnf" \
  -keyout "$tmp/hostile-san.key" -out "$tmp/hostile-san.crt" 2>/dev/null

node --input-type=module - "$tmp" "$here" <<'EOF'
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const [tmp, here] = process.argv.slice(2);
const b64 = (name, ext) => readFileSync(join(tmp, `${name}.${ext}`)).toString('base64');
for (const dir of readdirSync(here)) {
  const file = join(here, dir, 'in.yaml');
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  const next = text.replace(/^(\s*tls\.(?:crt|key): )\S*( # @(cert|key) ([\w-]+))$/gm, (_m, head, tail, what, name) => {
    if (!existsSync(join(tmp, `${name}.crt`))) throw new Error(`${file}: unknown certificate ${name}`);
    return `${head}${b64(name, what === 'cert' ? 'crt' : 'key')}${tail}`;
  });
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`updated ${dir}/in.yaml`);
  }
}
EOF
