#!/bin/sh
# Installs what the SMTP tests (tests/email.rs, tests/common/smtp.rs) need on a fresh Debian
# machine, as root, using only the package registries: a python3 that can `import aiosmtpd`
# (>= 1.4). The tests run `python3 tests/smtp/server.py` (or $IOC_TRACKER_TEST_PYTHON); the TLS
# certificates are committed under tests/smtp/certs, so openssl is not needed.
# Idempotent: does nothing when python3 already imports aiosmtpd. Called by .ci/run.
set -eu

PY="${IOC_TRACKER_TEST_PYTHON:-python3}"

has_aiosmtpd() {
    command -v "$PY" >/dev/null 2>&1 && "$PY" -c 'import aiosmtpd, sys; v = tuple(int(x) for x in aiosmtpd.__version__.split(".")[:2]); sys.exit(0 if v >= (1, 4) else 1)' 2>/dev/null
}

if has_aiosmtpd; then
    echo "smtp-setup: $(command -v "$PY") already has aiosmtpd $("$PY" -c 'import aiosmtpd; print(aiosmtpd.__version__)')"
    exit 0
fi

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$@"
}

if ! command -v "$PY" >/dev/null 2>&1; then
    # no python at all: Debian's interpreter and Debian's aiosmtpd package
    apt_install python3 python3-aiosmtpd
elif "$PY" -m pip --version >/dev/null 2>&1 && "$PY" -m pip install -q aiosmtpd; then
    : # a pip-managed interpreter (pyenv, venv, official image)
elif [ "$(command -v "$PY")" = /usr/bin/python3 ]; then
    # Debian's own python3 refuses pip installs (PEP 668): use the Debian package
    apt_install python3-aiosmtpd
else
    # another interpreter without pip: bootstrap pip, then install
    "$PY" -m ensurepip --upgrade || apt_install python3-pip
    "$PY" -m pip install -q aiosmtpd
fi

if has_aiosmtpd; then
    echo "smtp-setup: $(command -v "$PY") has aiosmtpd $("$PY" -c 'import aiosmtpd; print(aiosmtpd.__version__)')"
else
    echo "smtp-setup: could not install aiosmtpd for $PY; install it by hand (pip install aiosmtpd)" >&2
    exit 1
fi
