#!/usr/bin/env bash
# Installs what SwiftDeploy needs and is missing, idempotently; prints what it installs.
#   - Debian packages: nginx, nftables, ipset, iptables, iproute2, procps, curl, chromium, valgrind
#   - libsqlite3-dev (the guard store, through GRDB)
#   - the tools the package build and its tests use: dpkg-dev, lintian, logrotate, systemd, openssl, jq
#   - jsonschema and PyYAML for python3 (Debian's python3-jsonschema/python3-yaml for Debian's own
#     Python, which refuses pip; pip for any other)
#   - docker.io, docker-compose and debootstrap (runtime compose: a Docker engine, Compose v1, and the
#     Debian base its images start from; the engine is not started here: scripts/dockerd does that)
#   - postgresql-15 (guard.shared's tests and benchmarks run a private cluster: scripts/postgres)
#   - the PyPI `regopy` wheel (rego-cpp) and `opa-golib-python-bindings` (the real OPA), pinned by
#     version and SHA-256, unpacked under .deps/
# It checks for a Swift toolchain first and stops if there is none (Debian does not package Swift 6).
# Fast when nothing is missing: it only asks dpkg and looks for the unpacked library.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'setup: %s\n' "$*"; }

# The Swift toolchain is the one thing this script does not install (Debian does not package Swift 6):
# checked first, so a machine without it learns so before anything else is installed.
if ! command -v swift >/dev/null 2>&1 && [[ ! -x /opt/swift/usr/bin/swift ]]; then
    say "error: no Swift toolchain found (looked for swift on PATH and /opt/swift/usr/bin/swift)"
    say "install Swift 6 for Debian 12 from https://www.swift.org/install/linux/ (unpack it so /opt/swift/usr/bin/swift exists, or put its usr/bin on PATH), then run this again"
    exit 1
fi

apt_packages=(nginx nftables ipset iptables iproute2 procps curl chromium valgrind unzip libatomic1 liblsan0 libsqlite3-dev
              docker.io docker-compose debootstrap postgresql-15 dpkg-dev lintian logrotate systemd openssl jq)
# Debian's own Python refuses pip installs (PEP 668): its modules come from Debian too.
debian_python=0
if [[ $(command -v python3 || true) == /usr/bin/python3 ]]; then
    debian_python=1
    apt_packages+=(python3-jsonschema python3-yaml)
fi
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

# A PyPI wheel unpacked under .deps/, pinned by version and SHA-256: wheel NAME VERSION HASH FOLDER
# CHECK_FILE [pip download options]. A download whose hash differs is refused, never unpacked.
wheel() {
    local name="$1" version="$2" hash="$3" folder="$4" check="$5"; shift 5
    if [[ -f $check ]] && [[ -f "$deps/$folder/.wheel" ]] && [[ $(cat "$deps/$folder/.wheel") == "$name==$version $hash" ]]; then
        say "$name $version present: $check"
        return
    fi
    say "installing $name $version (PyPI wheel) under $deps"
    local pip tmp file
    pip=$(command -v pip3 || command -v pip)
    tmp=$(mktemp -d)
    "$pip" download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$@" "$name==$version"
    file=$(ls "$tmp"/*.whl | head -n 1)
    if [[ $(sha256sum "$file" | cut -d' ' -f1) != "$hash" ]]; then
        say "error: $(basename "$file") does not have the pinned SHA-256 $hash; refusing it"
        rm -rf "$tmp"
        exit 1
    fi
    mkdir -p "$deps/$folder"
    unpack "$file" "$deps/$folder"
    rm -rf "$tmp"
    [[ -f $check ]] || { say "error: $check not found in $(basename "$file")"; exit 1; }
    echo "$name==$version $hash" > "$deps/$folder/.wheel"
    say "installed: $(basename "$file") -> $deps/$folder"
}
deps="$root/.deps"

# The embedded Rego engine: rego-cpp's C library from the regopy wheel (regopy/ and regopy.libs/
# side by side in .deps/).
unpack() { rm -rf "$2/regopy" "$2/regopy.libs"; unzip -q -o "$1" 'regopy/*' 'regopy.libs/*' -d "$2" 2>/dev/null || unzip -q -o "$1" 'regopy/*' -d "$2"; }
wheel regopy 1.5.2 c1a92eab90592d7926d72d082a4b5fb9c968cbf6332406d28c3e96079ae97a26 . "$deps/regopy/librego_shared.so"

# The real OPA engine (a Go library with a Python API) for scripts/opa-server, the tests' OPA. Its
# wheel declares Python 3.14; the module loads on older ones.
unpack() { rm -rf "$2/opa_bindings"; unzip -q -o "$1" 'opa_bindings/*' -d "$2"; }
wheel opa-golib-python-bindings 0.4.4 d411c901e14b8c7c3023e23e4a944f4cf429c1d31baf80e959e57d11efbfd24a opa \
    "$deps/opa/opa_bindings/libopabridge.so" --python-version 3.14

# Python modules the tests use to check docker-compose.yml against the Compose specification's schema.
if python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    say "python modules present: jsonschema, yaml"
elif ((debian_python)); then
    say "error: python3-jsonschema and python3-yaml are installed but /usr/bin/python3 cannot import them"
    exit 1
else
    say "installing python modules: jsonschema PyYAML"
    pip=$(command -v pip3 || command -v pip)
    "$pip" install --quiet jsonschema PyYAML
    say "installed: jsonschema PyYAML"
fi

