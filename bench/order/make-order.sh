#!/bin/bash
# Writes src/Kvmtune.Cli/kvmtune.order: the managed methods kvmtune's common commands run, which the Native AOT
# compiler lays out first (IlcOrderFile), so that starting a command touches a few contiguous pages of code instead of
# pages all over the 5 MB of managed code (BENCHMARKS.md, "What the tenth session changed").
#
# The methods are the ones valgrind's callgrind sees called: exact, where sampling misses what runs once. It needs
# valgrind, binutils and the hwloc fixtures (../shared, or KVMTUNE_SHARED). Run it again when the names have drifted:
# CodeLayoutTests fails when fewer than 95% of kvmtune's own are still methods of the binary (an SDK update renames
# some of the runtime's too). Names the compiler does not know are skipped by it, and methods not named keep their
# usual place after the named ones.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${KVMTUNE_SHARED:-$repo/../shared}
out="$repo/src/Kvmtune.Cli/kvmtune.order"
for tool in valgrind nm readelf strip; do
  command -v "$tool" >/dev/null || { echo "make-order.sh: $tool is needed" >&2; exit 1; }
done
work=$(mktemp -d /dev/shm/kvmtune-order.XXXXXX)
trap 'rm -rf "$work" "$out.tmp"' EXIT

# The same code with its symbol table kept: valgrind reads no symbols from the separate .dbg (its DWARF stops the
# reader), and one that knows none names no methods. Built in its own folders: the projects' obj/ holds the
# launcher's build, whose link step would be taken as current and its stripped binary copied. (Generated sources
# still go to each project's obj/generated, the one path every build gives them: their types' names hash it.)
dotnet publish "$repo/src/Kvmtune.Cli/Kvmtune.Cli.csproj" -c Release -o "$work/bin" -nologo -p:StripSymbols=false \
  --artifacts-path "$work/artifacts" >"$work/publish.log" || { cat "$work/publish.log" >&2; exit 1; }
strip --strip-debug -o "$work/kvmtune" "$work/bin/kvmtune"

tree() {
  mkdir -p "$work/trees/$1"
  tar -xjf "$shared/fixtures/hwloc/$1.tar.bz2" -C "$work/trees/$1"
  find "$work/trees/$1" -mindepth 1 -maxdepth 1 -type d
}
small=$(tree 8em64t-2s2ca2c)
pci=$(tree 32em64t-2n8c+dax+nvme+mic+dimms)
printf 'name: vm1\nvcpus: 2\nmemory: 1GiB\nhugepages: none\n' >"$work/one-vm.yaml"

n=0
trace() {
  n=$((n + 1))
  # A command may exit 1 (a failing check) or find no QEMU: what it ran is still what is wanted. A trace valgrind
  # did not write is not.
  (cd "$work" && valgrind -q --tool=callgrind --callgrind-out-file="$work/cg.$n" "$work/kvmtune" "$@") \
    >/dev/null 2>"$work/valgrind.$n.log" || true
  if ! [ -s "$work/cg.$n" ]; then
    cat "$work/valgrind.$n.log" >&2
    echo "make-order.sh: no trace of kvmtune $*" >&2
    exit 1
  fi
}
# Start-up first, then the commands by how often they are run.
trace --version
trace inspect --format json --root "$small"
trace inspect --format json --root "$pci"
trace inspect --format json
trace inspect
trace audit --format json
trace audit
trace audit --format json --root "$small"
trace profiles list
trace profiles show balanced
trace history
trace apply --profile balanced --dry-run
trace vm plan one-vm.yaml
trace vm qemu one-vm.yaml
trace vm libvirt one-vm.yaml
trace vm audit
trace --help

# The managed code section's methods (nm prints addresses in 16 hex digits, so they compare as text).
if ! read -r start size < <(readelf -SW "$work/kvmtune" | awk '/ __managedcode / {
  for (i = 1; i <= NF; i++) if ($i == "PROGBITS") { print $(i + 1), $(i + 3); exit } }'); then
  echo "make-order.sh: the image has no __managedcode section" >&2
  exit 1
fi
end=$(printf '%016x' $((0x$start + 0x$size)))
# Compared as text: awk would take an address such as 0000000000500e10 for the number 5e12.
nm --defined-only "$work/kvmtune" | awk -v s="$start" -v e="$end" '($2 == "t" || $2 == "T") &&
  ($1 "") >= (s "") && ($1 "") < (e "") { print $3 }' >"$work/managed"
# Each method once, in the order first met: callgrind names a function in full only where it first appears.
for i in $(seq 1 "$n"); do sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$work/cg.$i"; done |
  awk 'NR == FNR { managed[$0] = 1; next } ($0 in managed) && !($0 in seen) { seen[$0] = 1; print }' \
    "$work/managed" - >"$out.tmp"
# A build without symbols, or traces that met no managed code, would name nothing: the list in place stays.
if [ "$(wc -l <"$out.tmp")" -lt 1000 ]; then
  echo "make-order.sh: only $(wc -l <"$out.tmp") methods found; $out left as it was" >&2
  exit 1
fi
mv "$out.tmp" "$out"
echo "make-order.sh: $(wc -l <"$out") methods in $out" >&2
