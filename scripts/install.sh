#!/usr/bin/env bash
# Installs a built checkout of inspectd on a plant box as a systemd service (docs/install.md):
#   the build        → PREFIX (/opt/inspectd): dist/, node_modules/, models/, config/, docs/, package files
#   the system user  → /usr/lib/sysusers.d/inspectd.conf, then systemd-sysusers (user inspectd, in video)
#   the unit         → /etc/systemd/system/inspectd.service (paths rewritten when PREFIX or node differ), enabled
#   the config       → /etc/inspectd/inspectd.yaml from config/production.yaml, only when there is none;
#                      the example always as inspectd.yaml.example; a command token when there is none
#   the state folder → /var/lib/inspectd (0750, inspectd)
# Idempotent: run it again to upgrade (the build is replaced, a config or token already there is kept).
# Run it from a checkout where `scripts/setup.sh` has built everything; it downloads nothing.
#
# Options:
#   --destdir DIR  install under DIR as if it were / (packaging, tests); the unit is enabled there with
#                  `systemctl --root`, the user created with `systemd-sysusers --root`; nothing is started
#   --prefix DIR   where the build goes (default /opt/inspectd)
#   --node PATH    the node binary the unit runs (default: `command -v node`, else /usr/bin/node)
#   --dry-run      print what would be done, change nothing
#   --no-enable    install the unit but do not enable it
#   --hardlink     hard-link the build instead of copying it (same filesystem only; for tests)
set -euo pipefail
cd "$(dirname "$0")/.."
src="$(pwd)"

destdir=""
prefix="/opt/inspectd"
node_bin=""
dry_run=0
enable=1
copy=(cp -a)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 64; }
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) destdir="${2:?--destdir needs a folder}"; shift 2 ;;
    --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
    --node) node_bin="${2:?--node needs a path}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --no-enable) enable=0; shift ;;
    --hardlink) copy=(cp -al); shift ;;
    -h|--help) usage ;;
    *) printf 'install: unknown option %s\n' "$1" >&2; usage ;;
  esac
done
case "$prefix" in /*) ;; *) printf 'install: --prefix must be absolute, got %s\n' "$prefix" >&2; exit 64 ;; esac
if [ -n "$destdir" ]; then
  case "$destdir" in /*) ;; *) destdir="$src/$destdir" ;; esac
  destdir="${destdir%/}"
fi
if [ -z "$node_bin" ]; then node_bin="$(command -v node || echo /usr/bin/node)"; fi

say() { printf 'install: %s\n' "$*" >&2; }
# Every change goes through run: --dry-run prints it instead.
run() {
  if [ "$dry_run" -eq 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}

for f in dist/src/cli/main.js node_modules package.json systemd/inspectd.service systemd/inspectd.sysusers.conf config/production.yaml; do
  if [ ! -e "$src/$f" ]; then
    say "$f is missing: run scripts/setup.sh in this checkout first (it builds everything; install.sh only copies)"
    exit 66
  fi
done
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ] && [ "$dry_run" -eq 0 ]; then
  say "run as root (or with --destdir DIR, or --dry-run)"
  exit 77
fi

root="$destdir"
app="$root$prefix"
unit_dir="$root/etc/systemd/system"
conf_dir="$root/etc/inspectd"
state_dir="$root/var/lib/inspectd"

# 1. The system user, first: the config and state folder below belong to its group.
say "system user inspectd (sysusers.d)"
run install -D -m 0644 "$src/systemd/inspectd.sysusers.conf" "$root/usr/lib/sysusers.d/inspectd.conf"
if [ -n "$root" ]; then
  # --root reads and writes DIR/etc/passwd and DIR/etc/group; it needs them to exist.
  run mkdir -p "$root/etc"
  for f in passwd group shadow gshadow; do [ -e "$root/etc/$f" ] || run touch "$root/etc/$f"; done
  # sysusers adds inspectd to video only when video exists (on a real box it always does).
  if ! grep -q '^video:' "$root/etc/group" 2>/dev/null; then run sh -c "echo 'video:x:44:' >> '$root/etc/group'"; fi
  run systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/inspectd.conf"
else
  run systemd-sysusers /usr/lib/sysusers.d/inspectd.conf
fi
# The group's number as the target system knows it (under --destdir, not the build machine's).
gid() { awk -F: '$1 == "inspectd" { print $3 }' "$root/etc/group" 2>/dev/null; }
own() { # own MODE FILE: root-owned, readable by the inspectd group (chown only as root, and only once the group exists)
  run chmod "$1" "$2"
  if [ "$(id -u)" -eq 0 ] && [ -n "$(gid)" ]; then run chown "0:$(gid)" "$2"; fi
}

# 2. The build: copied beside the old one, then swapped in, so an interrupted upgrade leaves a working install.
say "the build → $app"
run mkdir -p "$(dirname "$app")"
run rm -rf "$app.new"
run mkdir -p "$app.new"
for part in dist node_modules models config docs systemd package.json package-lock.json README.md; do
  if [ -e "$src/$part" ]; then run "${copy[@]}" "$src/$part" "$app.new/"; fi
done
if [ -e "$app" ]; then run rm -rf "$app.old"; run mv "$app" "$app.old"; fi
run mv "$app.new" "$app"
run rm -rf "$app.old"

# 3. The unit: the paths it names follow --prefix and --node.
say "the unit → $unit_dir/inspectd.service"
run mkdir -p "$unit_dir"
if [ "$dry_run" -eq 1 ]; then
  printf '+ sed (prefix %s, node %s) systemd/inspectd.service > %s\n' "$prefix" "$node_bin" "$unit_dir/inspectd.service"
else
  sed -e "s|/opt/inspectd|$prefix|g" -e "s|/usr/bin/node |$node_bin |g" "$src/systemd/inspectd.service" > "$unit_dir/inspectd.service.tmp"
  chmod 0644 "$unit_dir/inspectd.service.tmp"
  mv "$unit_dir/inspectd.service.tmp" "$unit_dir/inspectd.service"
fi

# 4. Config: the plant's own is never overwritten.
say "config → $conf_dir"
run mkdir -p "$conf_dir"
run chmod 0755 "$conf_dir"
# The example names its model under /opt/inspectd: it follows --prefix.
example() {
  if [ "$dry_run" -eq 1 ]; then printf '+ sed (prefix %s) config/production.yaml > %s\n' "$prefix" "$1"; return; fi
  sed -e "s|/opt/inspectd|$prefix|g" "$src/config/production.yaml" > "$1"
}
example "$conf_dir/inspectd.yaml.example"
run chmod 0644 "$conf_dir/inspectd.yaml.example"
if [ ! -e "$conf_dir/inspectd.yaml" ]; then
  example "$conf_dir/inspectd.yaml"
  own 0640 "$conf_dir/inspectd.yaml"
  say "edit $conf_dir/inspectd.yaml for this line (cameras, broker; storage.path under /var/lib/inspectd), then: inspectd check-config"
else
  say "$conf_dir/inspectd.yaml exists: kept (compare with inspectd.yaml.example after an upgrade)"
fi
# The token remote commands need (http.tokenFile; src/http/auth.ts): 32 random bytes, made once.
if [ ! -e "$conf_dir/command-token" ]; then
  if [ "$dry_run" -eq 1 ]; then
    printf '+ od -An -tx1 -N32 /dev/urandom > %s\n' "$conf_dir/command-token"
  else
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$conf_dir/command-token" && echo >> "$conf_dir/command-token")
  fi
  own 0640 "$conf_dir/command-token"
fi

# 5. The state folder (systemd's StateDirectory= would make it too; made here so it exists before the first start).
run mkdir -p "$state_dir"
run chmod 0750 "$state_dir"
if [ "$(id -u)" -eq 0 ] && [ -n "$(gid)" ]; then
  uid="$(awk -F: '$1 == "inspectd" { print $3 }' "$root/etc/passwd")"
  run chown "$uid:$(gid)" "$state_dir"
fi

# 6. Enable: under --destdir offline (the symlink only); on the box itself systemd is told, not started.
if [ "$enable" -eq 1 ]; then
  say "enabling inspectd.service"
  if [ -n "$root" ]; then
    run systemctl --root="$root" enable inspectd.service
  elif [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    run systemctl enable inspectd.service
  else
    say "systemd is not running here: enable it later with systemctl enable inspectd"
  fi
fi
say "done. Start: systemctl start inspectd; logs: journalctl -u inspectd -f"
