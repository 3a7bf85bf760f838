#!/usr/bin/env bash
# Builds dist/kvmtune_<version>_amd64.deb with dpkg-deb: the Native AOT binary, kvmtune(8) and the bash
# completion generated from the command tree, the boot-time re-apply unit, and /etc/kvmtune for profiles.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
./kvmtune --version >/dev/null
bin="$here/.build/aot/kvmtune"
version="$("$bin" --version | cut -d+ -f1)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -D -m 0755 "$bin" "$stage/usr/bin/kvmtune"
mkdir -p "$stage/usr/share/man/man8" "$stage/usr/share/bash-completion/completions" "$stage/usr/share/doc/kvmtune" "$stage/etc/kvmtune/profiles"
"$bin" man | gzip -9n > "$stage/usr/share/man/man8/kvmtune.8.gz"
"$bin" completion bash > "$stage/usr/share/bash-completion/completions/kvmtune"
install -D -m 0644 packaging/kvmtune-apply.service "$stage/lib/systemd/system/kvmtune-apply.service"
install -D -m 0644 packaging/default.kvmtune "$stage/etc/default/kvmtune"
install -m 0644 README.md "$stage/usr/share/doc/kvmtune/README.md"
gzip -9n "$stage/usr/share/doc/kvmtune/README.md"
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: kvmtune
Version: $version
Architecture: amd64
Maintainer: kvmtune developers <kvmtune@localhost>
Depends: libc6 (>= 2.34)
Recommends: qemu-system-x86, numactl
Suggests: ndctl, ipmctl, libvirt-clients
Section: admin
Priority: optional
Installed-Size: $(du -sk "$stage/usr" "$stage/lib" "$stage/etc" | awk '{s+=$1} END {print s}')
Description: audit, tune and launch KVM/QEMU hosts and guests
 kvmtune inspects a KVM/QEMU host or guest, audits it against every
 recommendation of Intel's KVM/QEMU tuning guide for 3rd Gen Xeon Scalable
 processors, applies the fixes with a crash-safe journal and rolls them back,
 and composes and launches tuned VMs.
CONTROL
printf '/etc/default/kvmtune\n' > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
# purge: the journal and run state kvmtune itself created
if [ "$1" = "purge" ]; then rm -rf /var/lib/kvmtune /run/kvmtune; fi
exit 0
POSTRM
chmod 0755 "$stage/DEBIAN/postrm"
mkdir -p dist
dpkg-deb --root-owner-group --build "$stage" "dist/kvmtune_${version}_amd64.deb" >/dev/null
echo "dist/kvmtune_${version}_amd64.deb"
