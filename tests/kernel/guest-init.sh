#!/bin/sh
# PID 1 of the test VM (busybox sh, inside the initramfs that run-in-kernel.sh builds).
# Mounts the host's / read-only over virtio-9p with a throw-away tmpfs overlay on top, runs
# the command file from the per-run share chrooted into that view, records its exit status
# in the share and powers off. Channels: ttyS0 = the command's output (host stdout),
# ttyS1 = kernel console (a log file on the host).
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

KVER=$(cat /etc/kver)
fatal() {
  echo "bulwark-guest: $*" >/dev/ttyS0
  echo 125 >/share/status 2>/dev/null
  sync
  poweroff -f
}

for m in $(cat /etc/bootmods); do insmod "/lib/modules/$KVER/$m" || fatal "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none share /share || fatal "cannot mount the run share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host || fatal "cannot mount the host root"
. /share/params  # MODULES_DIR RW_DIRS PRELOAD

# The full module tree (in the host's cache) for on-demand loading: request_module() runs
# /sbin/modprobe (busybox) in this initramfs, whatever root the command sees.
mount --bind "/host$MODULES_DIR" "/lib/modules/$KVER" || fatal "cannot bind the module tree"
echo /sbin/modprobe >/proc/sys/kernel/modprobe
for m in $PRELOAD; do modprobe -q "$m" || echo "bulwark-guest: modprobe $m failed" >/dev/ttyS1; done

# Writable view of the host root: writes land in guest memory and vanish at power-off.
mount -t tmpfs -o size=50% tmpfs /overlay
mkdir -p /overlay/upper /overlay/work
mount -t overlay -o lowerdir=/host,upperdir=/overlay/upper,workdir=/overlay/work,xino=off,index=off,metacopy=off,redirect_dir=off \
  overlay /root || fatal "cannot mount the overlay root"
R=/root
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mkdir -p $R/run/netns $R/run/lock $R/run/bulwark-share
mount --bind /share $R/run/bulwark-share
# /tmp stays the host's (through the overlay): build trees and test inputs there stay visible.
i=0
for d in $RW_DIRS; do
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none "rw$i" "$R$d" || fatal "cannot mount $d read-write"
  i=$((i + 1))
done
ip link set lo up
hostname bulwark-guest

stty -F /dev/ttyS0 raw -echo -onlcr 2>/dev/null
cut -d' ' -f1 /proc/uptime >/share/boot_seconds
chroot $R /bin/bash /run/bulwark-share/cmd.sh </dev/null >/dev/ttyS0 2>&1
echo $? >/share/status
cut -d' ' -f1 /proc/uptime >/share/end_seconds
sync
umount /share 2>/dev/null
poweroff -f
