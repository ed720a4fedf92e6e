#!/bin/bash
# Build the test bed: a Debian trixie root filesystem with HTCondor (trixie) and Apptainer (sid),
# two test images under a CVMFS-like path, a fake NVIDIA driver and an unprivileged test user.
#
# Usage: build-bed.sh DIR MIRROR
# Run as root inside a private mount namespace (tests/testbed/build.py does `unshare --mount`),
# so the bind mounts made here vanish with the process. Everything in this file is part of the
# cache key: change it and the bed is rebuilt.
set -euo pipefail

dir=$1
mirror=$2
here=$(cd "$(dirname "$0")" && pwd)
cvmfs=$dir/cvmfs/singularity.opensciencegrid.org/gs-test

log() { printf '[testbed] %s\n' "$*" >&2; }

in_bed() { chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

# Apptainer needs a real root (its mount table must make sense), so run it after pivot_root, not chroot.
in_bed_pivot() {
    # shellcheck disable=SC2016  # the inner script expands its own positional parameters
    unshare --mount --propagation private --fork /bin/sh -c '
        set -e
        dir=$1; shift
        mount --rbind "$dir" "$dir"
        cd "$dir"
        mkdir -p .oldroot
        pivot_root . .oldroot
        umount -l /.oldroot
        rmdir /.oldroot
        cd /
        exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
    ' pivot "$dir" "$@"
}

log "debootstrap trixie from $mirror"
debootstrap --variant=minbase --include=python3,ca-certificates trixie "$dir" "$mirror" >/dev/null

mount -t proc proc "$dir/proc"
mount --rbind /dev "$dir/dev"
mount --make-rslave "$dir/dev"
cp /etc/resolv.conf "$dir/etc/resolv.conf"

# No service may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"

log "apt sources: trixie, and sid pinned low (only what is asked for comes from sid)"
rm -f "$dir/etc/apt/sources.list"
cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main

Types: deb
URIs: $mirror
Suites: sid
Components: main
EOF
cat >"$dir/etc/apt/preferences.d/50-sid-low" <<'EOF'
Package: *
Pin: release n=sid
Pin-Priority: 100
EOF
# The mirror is a dated snapshot: sid's Release file reads as expired.
echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99no-check-valid-until"
echo 'APT::Install-Recommends "false";' >"$dir/etc/apt/apt.conf.d/99no-recommends"

log "install htcondor (trixie), apptainer (sid), busybox-static, procps, openssh (condor_ssh_to_job), the admin side's python libraries"
in_bed apt-get -qq update
# python3-yaml and python3-jinja2: the guides' admin commands (lint, render, import) run in the bed too.
# openssh-server and openssh-client: condor_ssh_to_job (the default /usr/sbin/sshd).
# curl: GlideinWMS's glidein_startup.sh downloads its files with curl or wget.
in_bed apt-get -qq install -y htcondor busybox-static procps util-linux python3-yaml python3-jinja2 \
    openssh-server openssh-client curl >/dev/null
in_bed apt-get -qq install -y -t sid apptainer >/dev/null
# Image fetching (#16): a loopback OCI registry, tools to build and push images offline, and
# squashfuse so SIF images run unprivileged (the session makes /dev/fuse in its private /dev).
in_bed apt-get -qq install -y docker-registry skopeo umoci squashfuse >/dev/null
in_bed apt-get -qq clean
rm -f "$dir/usr/sbin/policy-rc.d"

log "unprivileged test users"
in_bed useradd -m -u 1000 -s /bin/sh tuser
in_bed useradd -m -u 1001 -s /bin/sh tuser2

log "images under $cvmfs"
# 1. busybox: only /bin/sh and busybox applets; no bash, no python.
bb=$cvmfs/.images/busybox-1
mkdir -p "$bb/bin" "$bb/etc" "$bb/proc" "$bb/dev" "$bb/sys" "$bb/tmp" "$bb/var/tmp" "$bb/srv" \
    "$bb/cvmfs" "$bb/home" "$bb/etc/OpenCL/vendors"
cp "$dir/usr/bin/busybox" "$bb/bin/busybox"
for applet in $(chroot "$dir" /usr/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$bb/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$bb/etc/passwd"
printf 'root:x:0:\n' >"$bb/etc/group"
printf 'NAME="gs-test busybox"\nID=busybox\nVERSION_ID=1\n' >"$bb/etc/os-release"
chmod 1777 "$bb/tmp" "$bb/var/tmp"

# 2. a second, fuller OS image: trixie minbase copied from the bed itself (bash, coreutils, os-release).
el=$cvmfs/.images/debian-13
mkdir -p "$el"
tar -C "$dir" --exclude=./proc --exclude=./dev --exclude=./sys --exclude=./cvmfs --exclude=./usr/lib/condor \
    --exclude=./usr/libexec/condor --exclude=./usr/lib/x86_64-linux-gnu/condor --exclude=./var/lib/condor \
    --exclude=./usr/libexec/apptainer --exclude=./usr/lib/apptainer --exclude=./usr/share/doc \
    --exclude=./usr/share/man --exclude=./usr/share/locale --exclude=./var/cache/apt --exclude=./var/lib/apt \
    --exclude=./home --exclude=./usr/share/perl --exclude=./usr/lib/x86_64-linux-gnu/perl \
    -cf - . | tar -C "$el" -xf -
mkdir -p "$el/proc" "$el/dev" "$el/sys" "$el/srv" "$el/cvmfs" "$el/home" "$el/etc/OpenCL/vendors"

# Give both images the standard /.singularity.d (actions, env scripts, libs dir for --nv).
for img in "$bb" "$el"; do
    name=$(basename "$img")
    in_bed_pivot apptainer -s build --force --sandbox "/cvmfs/singularity.opensciencegrid.org/gs-test/.images/$name.new" \
        "/cvmfs/singularity.opensciencegrid.org/gs-test/.images/$name" >/dev/null
    rm -rf "$img"
    mv "$img.new" "$img"
    mkdir -p "$img/.singularity.d/libs"
done
# CVMFS-style tags are symlinks to a versioned directory (the wrapper pins the resolved path).
ln -sfn .images/busybox-1 "$cvmfs/busybox:latest"
ln -sfn .images/debian-13 "$cvmfs/debian:13"
ln -sfn .images/debian-13 "$cvmfs/el9:latest"
mkdir -p "$dir/cvmfs/oasis.opensciencegrid.org/mis" "$dir/cvmfs/cms.cern.ch"
echo "cvmfs stand-in" >"$dir/cvmfs/cms.cern.ch/README"

log "fake NVIDIA driver: libcuda.so.1, libnvidia-ml.so.1, nvidia-smi"
libdir=$dir/usr/lib/x86_64-linux-gnu
work=$(mktemp -d)
printf 'int gs_fake_nvidia_driver(void) { return 0; }\n' >"$work/fake.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$libdir/libcuda.so.1" "$work/fake.c"
gcc -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 -o "$libdir/libnvidia-ml.so.1" "$work/fake.c"
rm -rf "$work"
install -m 755 "$here/fake-nvidia-smi" "$dir/usr/bin/nvidia-smi"
in_bed ldconfig

log "done"
