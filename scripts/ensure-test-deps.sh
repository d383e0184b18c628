#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (compressors for
# patchset fixtures, slapd for LDAP, nginx for the shipped config, Chromium for
# the console). Only installs what is missing; needs root and apt-get.
set -euo pipefail
# command -> package
declare -A NEED=(
  [zstd]=zstd
  [bzip2]=bzip2
  [slapd]=slapd
  [ldapadd]=ldap-utils
  [nginx]=nginx
  [chromium]=chromium
)
missing=()
for cmd in "${!NEED[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then missing+=("${NEED[$cmd]}"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing test dependencies (install them with apt-get): ${missing[*]}" >&2
  exit 1
fi
echo "installing test dependencies: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# slapd asks questions and starts a system instance; the tests run their own.
echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services are not used by the tests (they start their own on 127.0.0.1).
for svc in nginx slapd; do service "$svc" stop >/dev/null 2>&1 || true; done
