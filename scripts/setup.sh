#!/usr/bin/env bash
# Installs what SwiftDeploy needs and is missing, idempotently; prints what it installs.
#   - Debian packages: nginx, nftables, ipset, iptables, iproute2, procps, curl, chromium, valgrind
#   - libsqlite3-dev (the guard store, through GRDB)
#   - the PyPI `regopy` wheel, unpacked under .deps/ (regopy/ and regopy.libs/ kept side by side)
# Fast when nothing is missing: it only asks dpkg and looks for the unpacked library.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'setup: %s\n' "$*"; }

apt_packages=(nginx nftables ipset iptables iproute2 procps curl chromium valgrind unzip libatomic1 liblsan0 libsqlite3-dev)
missing=()
for pkg in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
# pip comes with the machine's Python; Debian's python3-pip only when there is none.
if ! command -v pip3 >/dev/null 2>&1 && ! command -v pip >/dev/null 2>&1; then
    missing+=(python3-pip)
fi
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        say "missing Debian packages: ${missing[*]}"
        say "run this script as root (or: sudo apt-get install -y ${missing[*]})"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep package scripts from starting system services (the nginx we use runs under our own prefix).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
    trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "installed: ${missing[*]}"
else
    say "Debian packages present: ${apt_packages[*]}"
fi

# The embedded Rego engine: rego-cpp's C library from the regopy wheel.
deps="$root/.deps"
lib="$deps/regopy/librego_shared.so"
if [[ -f $lib ]]; then
    say "rego-cpp present: $lib"
else
    say "installing rego-cpp (PyPI wheel regopy) under $deps"
    pip=$(command -v pip3 || command -v pip)
    tmp=$(mktemp -d)
    "$pip" download --quiet --no-deps --only-binary=:all: --dest "$tmp" regopy
    wheel=$(ls "$tmp"/regopy-*.whl | head -n 1)
    mkdir -p "$deps"
    rm -rf "$deps/regopy" "$deps/regopy.libs"
    unzip -q -o "$wheel" 'regopy/*' 'regopy.libs/*' -d "$deps" 2>/dev/null || unzip -q -o "$wheel" 'regopy/*' -d "$deps"
    rm -rf "$tmp"
    [[ -f $lib ]] || { say "error: $lib not found in $(basename "$wheel")"; exit 1; }
    say "installed: $(basename "$wheel") -> $deps"
fi

# Python modules the tests use to check docker-compose.yml against the Compose specification's schema.
if python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    say "python modules present: jsonschema, yaml"
else
    say "installing python modules: jsonschema PyYAML"
    pip=$(command -v pip3 || command -v pip)
    "$pip" install --quiet jsonschema PyYAML
    say "installed: jsonschema PyYAML"
fi

# Swift toolchain: /opt/swift on this machine kind.
if ! command -v swift >/dev/null 2>&1 && [[ ! -x /opt/swift/usr/bin/swift ]]; then
    say "error: no Swift toolchain found (expected swift on PATH or /opt/swift/usr/bin/swift)"
    exit 1
fi
