#!/bin/sh
# Runs inside the freshly debootstrapped Debian rootfs (chroot) before it becomes the
# `debian` base image. It makes the rootfs behave like the official slim images:
# no docs, man pages or locales now or in any later `apt-get install`, no recommends,
# apt caches cleaned after every install, and no package lists left in the image.
set -eu

# Later `apt-get install`s in the base Dockerfiles skip these paths too (as debian:*-slim does).
cat > /etc/dpkg/dpkg.cfg.d/90-deployproof-slim <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/groff/*
CFG

cat > /etc/apt/apt.conf.d/90-deployproof-slim <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG

# A container has no init system: never start services from maintainer scripts.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian/* \
       /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/lib/dpkg/*-old \
       /var/log/* /tmp/* /root/.bash_history
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
