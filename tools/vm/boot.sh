#!/bin/bash
# Boot Debian's kernel under QEMU (TCG) with INITRAMFS; save the serial
# console to LOG and echo it (less the guest's dmesg dump) as it comes.
# Usage: boot.sh INITRAMFS LOG
# (sed -u, not awk: mawk buffers its input, which would hold back progress.)
# Env: KVER (default: tools/kver.sh), VM_TIMEOUT seconds (600),
#      VM_KERNEL (kernel image to boot instead of Debian's), VM_APPEND.
# Exit: QEMU's status (124 on timeout).
set -euo pipefail
export LC_ALL=C	# EPOCHREALTIME and awk agree on the decimal point

root=$(cd "$(dirname "$0")/../.." && pwd)
initrd=$1
log=$2
kver=$(KVER=${KVER:-} "$root/tools/kver.sh")
timeout_s=${VM_TIMEOUT:-600}

# The uncompressed vmlinux boots through its PVH entry, skipping ~3 s of
# in-guest decompression under TCG.  Extract it as scripts/extract-vmlinux
# does (find a compression magic, decompress from there, keep it if ELF),
# cache it, and fall back to the bzImage if anything fails.
pick_kernel() {
	local vmlinuz=/boot/vmlinuz-$kver
	local cache=$root/build/vm/vmlinux-$kver
	if [ -s "$cache" ] && [ "$cache" -nt "$vmlinuz" ]; then
		echo "$cache"
		return
	fi
	mkdir -p "$root/build/vm"
	local tmp=$cache.tmp magic prog off
	for magic_prog in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -dcq' '\x1f\x8b\x08:gzip -dc'; do
		magic=${magic_prog%%:*}
		prog=${magic_prog#*:}
		while read -r off; do
			tail -c +$((off + 1)) "$vmlinuz" | $prog > "$tmp" 2>/dev/null || true
			# Must be ELF and carry the PVH entry note (Xen note type 0x12).
			if [ "$(head -c4 "$tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] &&
			   readelf -n "$tmp" 2>/dev/null | grep -qE 'note type: \(0x00000012\)|PHYS32_ENTRY'; then
				mv "$tmp" "$cache"
				echo "$cache"
				return
			fi
		done < <(grep -obUaP "$magic" "$vmlinuz" | cut -d: -f1)
	done
	rm -f "$tmp"
	echo "boot: could not extract a PVH vmlinux; booting the bzImage (slower)" >&2
	echo "$vmlinuz"
}

kernel=${VM_KERNEL:-$(pick_kernel)}
mkdir -p "$(dirname "$log")"
echo "vm: booting $kernel ($kver), timeout ${timeout_s}s"
start=$EPOCHREALTIME
set +e
# stdin from /dev/null: CI has none, and QEMU's -nographic mux reads it.
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu max -m 1G -smp 2 -nic none \
	-nographic -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet ${VM_APPEND:-}" \
	< /dev/null 2>&1 | tee "$log" |
	sed -u -e 's/\r$//' -e 's/\x1b\(c\|\[[0-9;?]*[A-Za-z]\)//g' \
		-e "/@@SHMIPC-DMESG-BEGIN/,/@@SHMIPC-DMESG-END/{s|.*DMESG-BEGIN.*|(guest dmesg: in $log)|p;d}"
rc=${PIPESTATUS[0]}
set -e
end=$EPOCHREALTIME
[ "$rc" = 124 ] && echo "vm: TIMEOUT after ${timeout_s}s"
awk -v s="$start" -v e="$end" -v rc="$rc" \
	'BEGIN { printf "vm: boot-to-result %.1f s (qemu exit %d)\n", e - s, rc }'
exit "$rc"
