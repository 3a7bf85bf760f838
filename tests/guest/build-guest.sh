#!/usr/bin/env bash
# Builds a tiny Linux guest for the boot test: Debian's own kernel (taken with apt-get download and unpacked with
# dpkg-deb, not installed), and a busybox initramfs that loads the virtio, nvdimm and nfit modules in the order
# `modinfo -F depends` gives, checks what the guest sees, and runs kvmtune's guest audit.
# Usage: build-guest.sh OUT_DIR KVMTUNE_BINARY
set -euo pipefail
out="$(mkdir -p "$1" && cd "$1" && pwd)"; bin="$(realpath "$2")"
mkdir -p "$out/cache"
if [[ -s "$out/initramfs.gz" && -s "$out/vmlinuz" && "$out/initramfs.gz" -nt "$bin" && "$out/initramfs.gz" -nt "${BASH_SOURCE[0]}" ]]; then exit 0; fi

pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
if [[ -z "$pkg" ]]; then apt-get update -qq; pkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"; fi
deb="$(ls "$out"/cache/"$pkg"_*.deb 2>/dev/null | head -1 || true)"
if [[ -z "$deb" ]]; then (cd "$out/cache" && apt-get download -q "$pkg" 2>/dev/null); deb="$(ls "$out"/cache/"$pkg"_*.deb | head -1)"; fi

x="$out/kernel"; rm -rf "$x"; mkdir -p "$x"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/virtio/*' \
  './lib/modules/*/kernel/drivers/block/virtio_blk.ko*' './lib/modules/*/kernel/drivers/net/*.ko*' './lib/modules/*/kernel/net/core/failover.ko*' \
  './lib/modules/*/kernel/drivers/nvdimm/*' './lib/modules/*/kernel/drivers/acpi/nfit/*' './lib/modules/*/kernel/drivers/dax/*' \
  './lib/modules/*/kernel/drivers/vhost/*'
cp "$x"/boot/vmlinuz-* "$out/vmlinuz"
mods="$(echo "$x"/lib/modules/*/kernel)"
rel="$(basename "$(dirname "$mods")")"

# Load order: every module after the ones it depends on.
declare -A path done
while IFS= read -r f; do n="$(basename "$f")"; n="${n%%.ko*}"; path[${n//-/_}]="$f"; done < <(find "$mods" -name '*.ko*')
order=()
visit() {
  local m="${1//-/_}"
  [[ -n "${done[$m]:-}" ]] && return
  done[$m]=1
  [[ -z "${path[$m]:-}" ]] && return   # built into the kernel
  local d
  for d in $(modinfo -F depends "${path[$m]}" | tr ',' ' '); do visit "$d"; done
  order+=("$m")
}
for m in virtio_pci virtio_blk virtio_net nfit nd_pmem dax_pmem device_dax vhost_net; do visit "$m"; done

root="$out/initramfs"; rm -rf "$root"; mkdir -p "$root"/{bin,proc,sys,dev,lib/modules/"$rel",tmp,lib64,lib/x86_64-linux-gnu}
cp /bin/busybox "$root/bin/busybox"
for m in "${order[@]}"; do cp "${path[$m]}" "$root/lib/modules/$rel/$m.ko"; echo "$m" >> "$root/lib/modules/$rel/order"; done
# modules.dep, so the guest's modprobe can unload and reload a module with new options (apply --allow-module-reload)
depmod -b "$root" "$rel" 2> >(grep -v "modules.builtin" >&2)
cp "$bin" "$root/kvmtune"
copy_with_libs() {
  local lib
  for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done
}
copy_with_libs "$bin"
# ndctl, when the host has it, for `kvmtune pmem plan --execute` inside the guest.
if command -v ndctl >/dev/null; then mkdir -p "$root/usr/bin"; cp "$(command -v ndctl)" "$root/usr/bin/ndctl"; copy_with_libs "$(command -v ndctl)"; fi
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/$(uname -r)/order); do insmod /lib/modules/$(uname -r)/$m.ko || echo "insmod $m failed"; done
sleep 1
echo KVMTUNE-GUEST-BEGIN
echo "blk_mq=$(ls /sys/block/vda/mq | wc -l)"
echo "blk_features=$(cat /sys/block/vda/device/features)"
echo "net_queues=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
echo "net_features=$(cat /sys/class/net/eth0/device/features)"
echo "pmem=$(ls /dev/pmem0)"
echo "vcpus=$(grep -c ^processor /proc/cpuinfo)"
/kvmtune audit --role guest --format json > /tmp/audit.json
echo "audit_rc=$?"
echo AUDIT-BEGIN
cat /tmp/audit.json
echo AUDIT-END
if [ -x /usr/bin/ndctl ]; then
  mkdir -p /run /var/lib
  echo "ns_before=$(ls /sys/bus/nd/devices | tr '\n' ' ')"
  # A namespace holding a file system is refused (its data would be destroyed); wiped, the idle one is converted.
  /bin/busybox mke2fs -q /dev/pmem0 >/dev/null 2>&1
  /kvmtune pmem plan --execute --namespace namespace0.0 --journal-dir /tmp/journal-fs
  echo "pmem_fs_rc=$?"
  echo "pmem_fs_kept=$(ls /dev/pmem0)"
  /bin/busybox dd if=/dev/zero of=/dev/pmem0 bs=65536 count=16 2>/dev/null
  /kvmtune pmem plan --execute --namespace namespace0.0 --journal-dir /tmp/journal
  echo "pmem_exec_rc=$?"
  echo "dax_after=$(ls /dev/dax* 2>/dev/null | tr '\n' ' ')"
  /kvmtune history --journal-dir /tmp/journal
  /kvmtune rollback --journal-dir /tmp/journal
  echo "pmem_rollback_rc=$?"
  echo "dax_rolled=$(ls /dev/dax* 2>/dev/null | wc -l)"
  echo "pmem_back=$(ls /dev/pmem0)"
fi
echo "zcopy_before=$(cat /sys/module/vhost_net/parameters/experimental_zcopytx)"
# No built-in profile asks for zero-copy any more (off by default since Linux 5.3): a custom profile does, which
# exercises a module reload and its rollback.
printf 'inherits: latency\nsettings:\n  vhost.zerocopy_tx: true\n' > /tmp/zcopy.yaml
/kvmtune apply --role host --profile /tmp/zcopy.yaml --only host.qemu.zerocopy_tx --allow-module-reload --journal-dir /tmp/j2
echo "reload_rc=$?"
echo "zcopy_applied=$(cat /sys/module/vhost_net/parameters/experimental_zcopytx)"
/kvmtune rollback --journal-dir /tmp/j2
echo "reload_rollback_rc=$?"
echo "zcopy_rolled=$(cat /sys/module/vhost_net/parameters/experimental_zcopytx)"
echo KVMTUNE-GUEST-END
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$out/initramfs.gz.tmp")
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
echo "guest: $(basename "$deb"), modules: ${order[*]}" >&2
