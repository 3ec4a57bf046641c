#!/usr/bin/env bash
# test/guest/run-guest.sh — holdup's hardware-in-the-loop harness: runs one static
# linux/arm (GOARM=7) program inside Debian's own armhf kernel (armmp) on QEMU's emulated
# ASPEED AST2600 board (ast2600-evb, TCG: no KVM), with the kernel's real GPIO driver
# (gpio-aspeed: /dev/gpiochip0, /dev/gpiochip1), real I2C adapter (i2c-aspeed + i2c-dev)
# and QEMU's AT24C-style EEPROM on that bus, backed by a raw image file on the host.
#
# Usage:
#   test/guest/run-guest.sh --setup              prepare the host and the guest assets (once;
#                                                later runs see the stamp and do nothing)
#   test/guest/run-guest.sh [-q] [-t SECS] [-f FILE]... [-e K=V]... PROGRAM [ARGS...]
#
#   PROGRAM  a 32-bit ARM ELF, or a busybox sh script (#!/bin/sh); it runs as /bin/NAME
#   -t SECS  wall-clock limit for the whole boot (default 180)
#   -f FILE  another file for the guest's /bin (repeatable)
#   -e K=V   environment variable for PROGRAM (repeatable)
#   -q       print the console only from the guest's init on (hide the kernel's boot log)
#
# Environment:
#   GUEST_ASSETS  asset folder (default /var/tmp/holdup-guest-assets; outside the repository)
#   EEPROM_FILE   raw image behind the EEPROM; created zero-filled when missing. QEMU writes it
#                 after every I2C transfer, so it outlives the guest, power cuts included.
#                 Without it the EEPROM lives in QEMU's memory only.
#   EEPROM_SIZE   bytes (default 32768: AT24C256, 2-byte word address; <= 256: 1-byte)
#   EEPROM_BUS    I2C bus of the EEPROM (default 5: /dev/i2c-5 in the guest)
#   EEPROM_ADDR   7-bit address (default 0x50)
#   GUEST_APPEND  more kernel command-line arguments (e.g. maxcpus=1: boot on one core)
#   QEMU_EXTRA    more qemu-system-arm arguments (split on white space)
#
# From inside the guest, a console line "@@HOST <QEMU monitor command>" is passed to QEMU's
# monitor, e.g. "@@HOST qom-set /machine/soc/gpio gpioA0 on" (off: low) drives gpiochip0
# line 0 (gpioA0; line 8 is gpioB0); "@@HOST quit" is an instant power cut: QEMU stops,
# nothing in the guest is flushed.
#
# Exit status: PROGRAM's; 0 after a power cut asked for with "@@HOST quit" (stderr says
# "power cut by guest request"); 124 when the time limit ran out; 125 when the guest ended
# without reporting a status (kernel panic, QEMU error); 2 for a usage or asset problem.
set -uo pipefail

readonly ASSET_FORMAT="holdup-guest-assets 1" # bump when what --setup builds changes
readonly DTB_NAME=aspeed-ast2600-evb.dtb
# Modules the kernel needs for the board's GPIO and I2C (copied with their dependencies);
# those in BOOT_MODULES are loaded by the guest's init, in this order.
readonly GUEST_MODULES=(configfs gpio-aspeed i2c-aspeed i2c-dev at24)
readonly BOOT_MODULES=(configfs gpio-aspeed i2c-aspeed i2c-dev)

assets=${GUEST_ASSETS:-/var/tmp/holdup-guest-assets}

say() { printf 'run-guest: %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2; }

# ---- setup ------------------------------------------------------------------------------

# host_tools installs QEMU and cpio through apt when either is missing.
host_tools() {
	command -v qemu-system-arm >/dev/null && command -v cpio >/dev/null && return 0
	if [[ $(id -u) != 0 ]]; then
		say "qemu-system-arm or cpio is missing; run --setup as root to install them"
		return 1
	fi
	echo "run-guest: apt-get install qemu-system-arm cpio"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			qemu-system-arm cpio >/dev/null || { say "apt-get install qemu-system-arm cpio failed"; return 1; }
}

assets_current() {
	[[ -f $assets/vmlinuz && -f $assets/$DTB_NAME && -f $assets/base.cpio.gz && -f $assets/STAMP ]] &&
		[[ $(head -1 "$assets/STAMP") == "$ASSET_FORMAT" ]]
}

# armhf_sources writes a sources.list for the host's own Debian archive at its own release,
# main only, as apt itself resolves the host's configuration.
armhf_sources() {
	local out=$1 codename keyring="" uris
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || { say "no VERSION_CODENAME in /etc/os-release"; return 1; }
	uris=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Identifier: Packages' 2>/dev/null | awk -v r="$codename" '$2 == r && $3 == "main" {print $1}' | sort -u)
	[[ -n $uris ]] || { say "the host's apt sources have no '$codename main' (is this Debian?)"; return 1; }
	[[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] &&
		keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
	local u
	for u in $uris; do echo "deb $keyring$u $codename main"; done >"$out"
}

# mod_depends prints the modules FILE depends on (the depends= entry of its .modinfo).
mod_depends() {
	tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -1 | tr ',' ' '
}

# add_module NAME copies a module and, first, the modules it depends on into
# $root/lib/modules (uncompressed, named as asked for).
add_module() {
	local name=$1 src dep f
	local alt=${name//-/_}
	for f in "${copied[@]}"; do [[ $f == "$name" ]] && return 0; done
	src=$(find "$moddir" \( -name "$name.ko*" -o -name "$alt.ko*" \) | head -1)
	[[ -n $src ]] || { say "module $name is not in the kernel package"; return 1; }
	local dst=$root/lib/modules/$name.ko
	case $src in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) say "module $src: unknown compression"; return 1 ;;
	esac || { say "cannot unpack $src"; return 1; }
	copied+=("$name")
	for dep in $(mod_depends "$dst"); do add_module "$dep" || return 1; done
}

# load_order NAME prints the modules to insmod for NAME, dependencies first.
load_order() {
	local dep
	for dep in $(mod_depends "$root/lib/modules/$1.ko"); do load_order "$dep"; done
	echo "$1"
}

# build_assets WORKDIR STAGE fetches the kernel and busybox for armhf into WORKDIR and
# builds vmlinuz, the DTB, the base initrd and STAMP in STAGE.
build_assets() {
	local w=$1 stage=$2
	mkdir -p "$w/lists/partial" "$w/cache/archives/partial" "$w/deb" "$stage" || return 1
	: >"$w/status"
	armhf_sources "$w/sources.list" || return 1
	# A private apt: its own lists, cache and (empty) dpkg status, armhf as the only
	# architecture; the host's package state is neither read nor changed.
	local apt=(-o Dir::Etc::SourceList="$w/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$w/lists" -o Dir::State::status="$w/status" -o Dir::Cache="$w/cache"
		-o APT::Architecture=armhf -o APT::Architectures::=armhf -o Acquire::Languages=none
		-o APT::Sandbox::User=root)
	echo "run-guest: fetching the armhf package lists for: $(sed 's/^deb \(\[[^]]*\] \)\{0,1\}//' "$w/sources.list" | paste -sd, -)"
	apt-get "${apt[@]}" -qq update || { say "apt-get update for armhf failed"; return 1; }
	# linux-image-armmp is a metapackage; the kernel is in the ABI package it depends on
	# (its name changes with the ABI).
	local kpkg
	kpkg=$(apt-cache "${apt[@]}" show --no-all-versions linux-image-armmp 2>/dev/null |
		sed -n 's/^Depends: //p' | grep -o 'linux-image-[0-9][^ ,]*' | head -1)
	[[ -n $kpkg ]] || { say "cannot resolve linux-image-armmp (armhf) to its kernel package"; return 1; }
	echo "run-guest: downloading $kpkg and busybox-static (armhf)"
	(cd "$w/deb" && apt-get "${apt[@]}" -qq download "$kpkg" busybox-static >/dev/null) ||
		{ say "apt-get download $kpkg busybox-static failed"; return 1; }
	local kdeb bdeb
	kdeb=$(ls "$w/deb/${kpkg}"_*.deb 2>/dev/null | head -1)
	bdeb=$(ls "$w/deb"/busybox-static_*.deb 2>/dev/null | head -1)
	[[ -f $kdeb && -f $bdeb ]] || { say "downloaded packages not found in $w/deb"; return 1; }
	dpkg-deb -x "$kdeb" "$w/kernel" && dpkg-deb -x "$bdeb" "$w/busybox" || { say "dpkg-deb -x failed"; return 1; }

	local kver dtb
	kver=$(ls "$w/kernel/lib/modules" | head -1)
	[[ -n $kver && -f $w/kernel/boot/vmlinuz-$kver ]] || { say "$kpkg has no boot/vmlinuz"; return 1; }
	dtb=$(find "$w/kernel" -name "$DTB_NAME" | head -1)
	[[ -n $dtb ]] || { say "$kpkg has no $DTB_NAME"; return 1; }
	[[ -x $w/busybox/bin/busybox ]] || { say "busybox-static has no bin/busybox"; return 1; }
	cp "$w/kernel/boot/vmlinuz-$kver" "$stage/vmlinuz" && cp "$dtb" "$stage/$DTB_NAME" || return 1

	# The base root file system: busybox, the modules, /init.
	root=$w/root moddir=$w/kernel/lib/modules/$kver
	copied=()
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules} || return 1
	cp "$w/busybox/bin/busybox" "$root/bin/busybox" || return 1
	local m
	for m in "${GUEST_MODULES[@]}"; do
		add_module "$m" || return 1
	done
	# each module once, dependencies before the modules that need them
	for m in "${BOOT_MODULES[@]}"; do load_order "$m"; done | awk '!seen[$0]++' >"$root/lib/modules/load"
	write_init >"$root/init" || return 1
	chmod 755 "$root/init" "$root/bin/busybox"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) >"$stage/base.cpio.gz" ||
		{ say "cannot pack the base initrd"; return 1; }
	{
		echo "$ASSET_FORMAT"
		echo "kernel: $kpkg $(dpkg-deb -f "$kdeb" Version) (armhf)"
		echo "busybox-static: $(dpkg-deb -f "$bdeb" Version) (armhf)"
		echo "modules: ${copied[*]}; loaded at boot: $(paste -sd' ' "$root/lib/modules/load")"
		echo "built with: $(qemu-system-arm --version | head -1)"
	} >"$stage/STAMP"
}

# write_init prints the guest's /init: mount the pseudo file systems, load the modules, run
# /run.sh (written per boot) and report its exit status on the console.
write_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
ifconfig lo 127.0.0.1 up
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "GUEST-INIT: insmod $m failed"
done </lib/modules/load
mount -t configfs configfs /sys/kernel/config
echo "GUEST-INIT-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
cd /tmp
sh /run.sh
echo "GUEST-EXIT-STATUS=$? uptime=$(cut -d' ' -f1 /proc/uptime)"
reboot -f
INIT
}

setup() {
	host_tools || return 1
	mkdir -p "$(dirname "$assets")" || return 1
	# one setup at a time per asset folder
	exec 9>"$assets.lock" && flock 9 || { say "cannot lock $assets.lock"; return 1; }
	if assets_current; then
		echo "run-guest: assets present in $assets ($(sed -n 2p "$assets/STAMP"))"
		return 0
	fi
	local w stage rc=0
	w=$(mktemp -d /tmp/holdup-guest-setup.XXXXXX) || return 1
	stage=$assets.new
	rm -rf "$stage"
	build_assets "$w" "$stage" || rc=1
	rm -rf "$w"
	if ((rc)); then rm -rf "$stage"; return 1; fi
	rm -rf "$assets" && mv "$stage" "$assets" || { say "cannot move the assets into $assets"; return 1; }
	echo "run-guest: assets ready in $assets:"
	sed 1d "$assets/STAMP" | sed 's/^/  /'
}

# ---- one boot ---------------------------------------------------------------------------

# is_arm32 FILE: an ELF of class 32-bit (1) for machine ARM (0x28).
is_arm32() {
	[[ $(od -An -tx1 -N5 "$1" | tr -d ' \n') == 7f454c4601 && $(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n') == 2800 ]]
}

shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# relay copies QEMU's console (stdin) to $run/console.log and to stdout (from the init's
# first line on with -q), and hands "@@HOST cmd" lines to the monitor (fd 3).
relay() {
	local line shown=$((!quiet))
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$run/console.log"
		if [[ $line == *'@@HOST '* ]]; then
			local cmd=${line#*@@HOST }
			[[ $cmd == quit ]] && : >"$run/cut"
			printf '%s\n' "$cmd" >&3
		fi
		[[ $line == *GUEST-INIT-DONE* ]] && shown=1
		((shown)) && printf '%s\n' "$line"
	done
}

boot() {
	local tmo=180 extra=() envs=() opt
	quiet=0
	while getopts ":t:f:e:q" opt; do
		case $opt in
		t) tmo=$OPTARG ;;
		f) extra+=("$OPTARG") ;;
		e) envs+=("$OPTARG") ;;
		q) quiet=1 ;;
		*) usage; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 1)) || { usage; exit 2; }
	[[ $tmo =~ ^[0-9]+$ ]] || { say "-t wants whole seconds, got $tmo"; exit 2; }
	local prog=$1; shift
	local f
	for f in "$prog" "${extra[@]}"; do [[ -f $f ]] || { say "$f: no such file"; exit 2; }; done
	if [[ $(head -c2 "$prog") != '#!' ]] && ! is_arm32 "$prog"; then
		say "$prog is not a 32-bit ARM ELF (build with CGO_ENABLED=0 GOARCH=arm GOARM=7) nor a script"
		exit 2
	fi
	for f in "${envs[@]}"; do
		[[ $f =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { say "-e $f: want NAME=VALUE"; exit 2; }
	done
	if ! assets_current; then
		say "no current guest assets in $assets; run $0 --setup"
		exit 2
	fi
	command -v qemu-system-arm >/dev/null || { say "qemu-system-arm is not installed; run $0 --setup"; exit 2; }
	local size=${EEPROM_SIZE:-32768} bus=${EEPROM_BUS:-5} addr=${EEPROM_ADDR:-0x50}
	[[ $size =~ ^[0-9]+$ && $bus =~ ^[0-9]+$ ]] || { say "EEPROM_SIZE and EEPROM_BUS must be numbers"; exit 2; }

	run=$(mktemp -d /tmp/holdup-guest.XXXXXX) || exit 2
	drain=""
	trap '[[ -n $drain ]] && kill "$drain" 2>/dev/null; rm -rf "$run"' EXIT

	# The initrd: the base archive (gzip), zero-padded to a 512-byte boundary, then an
	# uncompressed archive with this boot's program, files and /run.sh; the kernel unpacks
	# both into one root.
	mkdir -p "$run/root/bin"
	cp "$prog" "${extra[@]}" "$run/root/bin/" || exit 2
	chmod 755 "$run/root/bin/"*
	{
		for f in "${envs[@]}"; do echo "export ${f%%=*}=$(shquote "${f#*=}")"; done
		printf 'exec %s' "$(shquote "/bin/$(basename "$prog")")"
		for f in "$@"; do printf ' %s' "$(shquote "$f")"; done
		echo
	} >"$run/root/run.sh"
	cp "$assets/base.cpio.gz" "$run/initrd"
	truncate -s %512 "$run/initrd"
	(cd "$run/root" && find . -mindepth 1 | cpio -o -H newc --quiet) >>"$run/initrd" || { say "cpio failed"; exit 2; }

	local eeprom=(-device "at24c-eeprom,bus=aspeed.i2c.bus.$bus,address=$addr,rom-size=$size")
	if [[ -n ${EEPROM_FILE:-} ]]; then
		[[ -f $EEPROM_FILE ]] || head -c "$size" /dev/zero >"$EEPROM_FILE" || exit 2
		eeprom=(-drive "if=none,id=eeprom,format=raw,file=$EEPROM_FILE" -device "${eeprom[1]},drive=eeprom")
	fi

	# The monitor on a pipe pair (QEMU opens both ends read-write); its replies are drained
	# into a log so the pipe never fills.
	mkfifo "$run/mon.in" "$run/mon.out" || exit 2
	exec 3<>"$run/mon.in" 4<>"$run/mon.out"
	cat <&4 >"$run/monitor.log" &
	drain=$!
	exec 4<&-
	: >"$run/console.log"

	local t0 qrc ms status
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # QEMU_EXTRA is split on purpose
	timeout -k 5 "$tmo" qemu-system-arm -M ast2600-evb \
		-kernel "$assets/vmlinuz" -dtb "$assets/$DTB_NAME" -initrd "$run/initrd" \
		-append "console=ttyS4,115200 quiet panic=-1${GUEST_APPEND:+ $GUEST_APPEND}" \
		-display none -no-reboot \
		-chardev stdio,id=console,signal=off -serial chardev:console \
		-chardev pipe,id=hmp,path="$run/mon" -mon chardev=hmp,mode=readline \
		"${eeprom[@]}" ${QEMU_EXTRA:-} </dev/null 2>"$run/qemu.err" | relay
	qrc=${PIPESTATUS[0]}
	ms=$((($(date +%s%N) - t0) / 1000000))
	exec 3>&-

	status=$(sed -n 's/.*GUEST-EXIT-STATUS=\([0-9][0-9]*\).*/\1/p' "$run/console.log" | tail -1)
	if ((qrc == 124 || qrc == 137)); then
		say "TIMEOUT after ${tmo}s"
		exit 124
	fi
	if [[ -z $status && -f $run/cut ]]; then
		say "power cut by guest request (@@HOST quit), $ms ms wall"
		exit 0
	fi
	if [[ -z $status ]]; then
		say "guest gave no exit status (qemu exit status $qrc)"
		cat "$run/qemu.err" >&2
		exit 125
	fi
	say "guest exit status $status, $ms ms wall"
	exit "$status"
}

case ${1:-} in
--setup) setup; exit ;;
-h | --help) usage; exit 0 ;;
esac
boot "$@"
