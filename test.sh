#!/usr/bin/env bash
# Installs what the tests need (Debian packages, NuGet packages, the native binary) and runs every test.
# Ends with one line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Real programs the tests run against: lstopo, numactl, virt-xml-validate (with xmllint), QEMU, busybox; a real
# libvirt (libvirtd with its QEMU driver, virtlogd, the libvirt-qemu user: libvirt-daemon-system), which
# tests/Kvmtune.Tests/Support/LibvirtDaemon.cs starts on a private socket and stops; uuidgen; ip for taps.
packages=(hwloc-nox numactl strace libvirt-clients libxml2-utils qemu-system-x86 qemu-utils busybox-static time cpio kmod ndctl
  binutils libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system uuid-runtime iproute2
  chromium fonts-dejavu-core prometheus prometheus-node-exporter ansible-core man-db systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "test.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: not root, cannot install ${missing[*]}; the tests that need them will be skipped" >&2
  fi
fi

dotnet restore kvmtune.slnx -nologo -v quiet
dotnet build kvmtune.slnx -c Release --no-restore -nologo -v quiet
# The team's formatting (.editorconfig): a change that dotnet format would rewrite fails the run (counted below).
format_failed=0
if ! dotnet format kvmtune.slnx --no-restore --verify-no-changes -v quiet; then
  echo "test.sh: dotnet format --verify-no-changes found changes to make (run: dotnet format kvmtune.slnx)" >&2
  format_failed=1
fi
# The launcher builds the Native AOT binary; tests that run the real executable use it.
./kvmtune --version >/dev/null
export KVMTUNE_BIN="$PWD/.build/aot/kvmtune"
# The guest for the boot test: Debian's kernel (apt-get download, unpacked) and a busybox initramfs with kvmtune in it.
if [[ $(id -u) -eq 0 ]]; then
  tests/guest/build-guest.sh .build/guest "$KVMTUNE_BIN" || echo "test.sh: guest image not built; the guest boot test will be skipped" >&2
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test --project tests/Kvmtune.Tests/Kvmtune.Tests.csproj -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
total=$(grep -E '^\s+total:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^\s+failed:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$(grep -E '^\s+succeeded:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -E '^\s+skipped:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [[ "$total" == 0 && "$status" != 0 ]]; then failed=1; fi
# CI runs as root with every package installed: a skip is a failure unless tests/skips-allowed.txt names the test.
unexpected=0
while IFS= read -r name; do
  [[ -z "$name" ]] && continue
  if ! grep -qxF "$name" <(grep -vE '^\s*(#|$)' tests/skips-allowed.txt); then
    echo "test.sh: skipped and not on tests/skips-allowed.txt: $name" >&2
    unexpected=$((unexpected + 1))
  fi
done < <(grep -E '^skipped ' "$log" | sed -E 's/^skipped ([^( ]+).*/\1/' | sort -u)
if ((format_failed)); then
  failed=$((failed + 1))
  status=1
fi
if ((unexpected > 0)); then
  failed=$((failed + unexpected))
  status=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
