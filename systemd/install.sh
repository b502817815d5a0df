#!/usr/bin/env bash
# Installs vigild as a systemd service: the two binaries, vigild.service and vigild.socket, the vigil system
# user (sysusers.d), its folders (tmpfiles.d) and /etc/vigil/vigil.yaml (kept if present).
#
#   systemd/install.sh                      build (release) and install on this machine, as root
#   systemd/install.sh --root DIR           install into DIR as a staging tree; touches nothing else
#   systemd/install.sh --bin-dir DIR        take vigild and vigilctl from DIR instead of building
#
# Then: edit /etc/vigil/vigil.yaml (trust.adminKeys, auth.tokens) and
#   systemctl enable --now vigild.socket vigild.service
set -euo pipefail
cd "$(dirname "$0")/.."

root=""
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --bin-dir) bin="$2"; shift 2 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
if [ -z "$bin" ]; then
    scripts/install-deps
    swift build -c release --product vigild
    swift build -c release --product vigilctl
    bin=.build/release
fi

install -Dm0755 "$bin/vigild" "$root/usr/local/bin/vigild"
install -Dm0755 "$bin/vigilctl" "$root/usr/local/bin/vigilctl"
install -Dm0644 systemd/vigild.service "$root/etc/systemd/system/vigild.service"
install -Dm0644 systemd/vigild.socket "$root/etc/systemd/system/vigild.socket"
install -Dm0644 systemd/vigil.sysusers.conf "$root/etc/sysusers.d/vigil.conf"
install -Dm0644 systemd/vigil.tmpfiles.conf "$root/etc/tmpfiles.d/vigil.conf"
install -Dm0644 README.md "$root/usr/local/share/doc/vigil/README.md"
for doc in docs/*.md; do install -Dm0644 "$doc" "$root/usr/local/share/doc/vigil/$doc"; done
if [ ! -e "$root/etc/vigil/vigil.yaml" ]; then
    install -Dm0640 Config/vigil.yaml "$root/etc/vigil/vigil.yaml"
fi

if [ -z "$root" ]; then
    systemd-sysusers vigil.conf
    systemd-tmpfiles --create vigil.conf
    chgrp vigil /etc/vigil/vigil.yaml
    systemctl daemon-reload
    echo "installed. Next: edit /etc/vigil/vigil.yaml (trust.adminKeys, auth.tokens), then"
    echo "  systemctl enable --now vigild.socket vigild.service"
fi
