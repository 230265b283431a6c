#!/usr/bin/env bash
# Installs dokku-rs on this host and deploys the sample app.
#
#   sudo ./install.sh                 install everything, then run the sample job
#   sudo ./install.sh --no-sample     install only
#   sudo ./install.sh --deps-only     only the system packages (and a running dockerd)
#   sudo ./install.sh --service-images  also make local images for Dokku's postgres and
#                                     redis plugins (no registry needed) and select them
#   sudo ./install.sh --registry=ADDRESS:PORT  also run a docker registry on this host at
#                                     that address, where every app's releases go (for
#                                     swarm nodes to pull them)
#
# Idempotent: a second run changes nothing and succeeds.
#
# Hermetic mode, for tests: DOKKU_INSTALL_SYSTEM=0 skips apt, users, ownership and dockerd,
# and the roots come from the environment:
#   DOKKU_ROOT (default ~dokku), DOKKU_LIB_PATH (default /var/lib/dokku),
#   DOKKU_LOGS_DIR (default /var/log/dokku), DOKKU_PREFIX (default /usr/local),
#   DOKKU_BIN_SOURCE: a directory of already built binaries (skips the release build).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SYSTEM=${DOKKU_INSTALL_SYSTEM:-1}
SAMPLE=1
DEPS_ONLY=0
SERVICE_IMAGES=0
REGISTRY=
for arg in "$@"; do
  case "$arg" in
    --no-sample) SAMPLE=0 ;;
    --deps-only) DEPS_ONLY=1 ;;
    --service-images) SERVICE_IMAGES=1 ;;
    --registry=*) REGISTRY=${arg#--registry=} ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo " !     Unknown option: $arg" >&2; exit 1 ;;
  esac
done

log() { echo "-----> $*"; }
fail() { echo " !     $*" >&2; exit 1; }

if [[ -n $REGISTRY ]] && ! [[ $REGISTRY =~ ^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$ ]]; then
  fail "Invalid registry address $REGISTRY: use HOST:PORT (this host's address on the swarm's network)"
fi

APT_PACKAGES=(git openssh-server openssh-client nginx docker.io ca-certificates procps curl tar sudo debootstrap cron openssl lego pebble iproute2 util-linux)

install_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Debian's docker registry, without starting the package's own service (it would listen
# on every address, with the package's configuration): ensure_registry runs it.
install_registry_package() {
  dpkg-query -W -f='${Status}' docker-registry 2>/dev/null | grep -q "install ok installed" && return 0
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  log "Installing docker-registry"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  [[ -n $made_policy ]] && rm -f "$policy"
  return 0
}

# No init system runs dockerd on these machines: start it when the engine does not answer.
ensure_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null || fail "dockerd is not installed (apt-get install docker.io)"
  log "Starting dockerd"
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  fail "dockerd did not start; see /var/log/dockerd.log"
}

# Every container starts with the engine's default log driver. journald and syslog need a
# daemon this host may not run (no systemd here): then no app could start, so say why once.
check_log_driver() {
  local driver
  driver=$(docker info --format '{{.LoggingDriver}}' 2>/dev/null) || return 0
  case $driver in
    journald) [[ -S /run/systemd/journal/socket ]] ;;
    syslog) [[ -S /dev/log ]] ;;
    *) true ;;
  esac || fail "dockerd logs containers to $driver, which does not run on this host: set \"log-driver\" in /etc/docker/daemon.json to json-file (or start $driver), then restart dockerd"
}

# cron runs the apps' scheduled tasks from the dokku user's crontab; started here when no
# init system runs it.
ensure_cron() {
  pgrep -x cron >/dev/null && return 0
  command -v cron >/dev/null || fail "cron is not installed (apt-get install cron)"
  log "Starting cron"
  cron
}

# BuildKit keeps builds fast and cached. The first `docker` on PATH may be a client without
# it (a newer CLI missing its buildx plugin) while Debian's own /usr/bin/docker has it built
# in: then /etc/default/dokku names the one to use (DOCKER_BIN), as Dokku reads it, and
# DOCKER_BUILDKIT=1 saves every build from asking the client again.
has_buildkit() {
  "$1" buildx version >/dev/null 2>&1 && return 0
  local major
  major=$("$1" --version 2>/dev/null | awk '{print $3}' | cut -d. -f1)
  [[ $major =~ ^[0-9]+$ ]] && ((major >= 19 && major < 23))
}

set_default() {
  local key=$1 value=$2 defaults=/etc/default/dokku
  grep -qx "$key=$value" "$defaults" 2>/dev/null && return 0
  { grep -v "^$key=" "$defaults" 2>/dev/null || true; echo "$key=$value"; } >"$defaults.new"
  chmod 0644 "$defaults.new"
  mv -f "$defaults.new" "$defaults"
}

choose_docker_bin() {
  local first candidate
  first=$(command -v docker) || fail "docker is not installed (apt-get install docker.io)"
  if has_buildkit "$first"; then
    set_default DOCKER_BUILDKIT 1
    return 0
  fi
  for candidate in /usr/bin/docker /bin/docker; do
    [[ $candidate != "$first" && -x $candidate ]] && has_buildkit "$candidate" || continue
    grep -qx "DOCKER_BIN=$candidate" /etc/default/dokku 2>/dev/null ||
      log "Using $candidate (it has BuildKit; $first does not)"
    set_default DOCKER_BIN "$candidate"
    set_default DOCKER_BUILDKIT 1
    return 0
  done
}

find_cargo() {
  local candidate
  for candidate in "$(command -v cargo || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /root/.cargo/bin/cargo \
    ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo"}; do
    [[ -n "$candidate" && -x "$candidate" ]] && { echo "$candidate"; return 0; }
  done
  fail "cargo (Rust 1.89 or newer) is required to build dokku-rs: install it with rustup"
}

build_binaries() {
  if [[ -n "${DOKKU_BIN_SOURCE:-}" ]]; then
    echo "$DOKKU_BIN_SOURCE"
    return 0
  fi
  local cargo
  cargo=$(find_cargo)
  log "Building release binaries" >&2
  (cd "$SRC" && "$cargo" build --release --workspace --bins --quiet) >&2
  echo "$SRC/target/release"
}

# Copies a binary only when it changed, through a temp file and rename (a running
# binary is never overwritten in place).
install_binary() {
  local from=$1 to=$2
  if [[ -f "$to" ]] && cmp -s "$from" "$to"; then
    return 0
  fi
  install -m 0755 "$from" "$to.new.$$"
  mv -f "$to.new.$$" "$to"
}

if [[ $SYSTEM == 1 ]]; then
  [[ $(id -u) == 0 ]] || fail "install.sh must run as root (or with DOKKU_INSTALL_SYSTEM=0 for a hermetic install)"
  install_packages
  ensure_dockerd
  check_log_driver
  ensure_cron
  choose_docker_bin
fi
((DEPS_ONLY)) && exit 0

DOKKU_SYSTEM_USER=${DOKKU_SYSTEM_USER:-dokku}
if [[ $SYSTEM == 1 ]] && ! id "$DOKKU_SYSTEM_USER" >/dev/null 2>&1; then
  log "Creating user $DOKKU_SYSTEM_USER"
  # A group of that name may already exist (made by a package or a plugin): the user joins it.
  group_flag=()
  getent group "$DOKKU_SYSTEM_USER" >/dev/null && group_flag=(-g "$DOKKU_SYSTEM_USER")
  useradd --system "${group_flag[@]}" --create-home --home-dir "${DOKKU_ROOT:-/home/$DOKKU_SYSTEM_USER}" --shell /bin/bash "$DOKKU_SYSTEM_USER"
fi
if [[ $SYSTEM == 1 ]]; then
  # sshd refuses key logins to a locked account when PAM is off: '*' is unusable but unlocked.
  [[ $(getent shadow "$DOKKU_SYSTEM_USER" | cut -d: -f2) == "*" ]] || usermod -p '*' "$DOKKU_SYSTEM_USER"
  getent group docker >/dev/null && ! id -nG "$DOKKU_SYSTEM_USER" | grep -qw docker && usermod -aG docker "$DOKKU_SYSTEM_USER"
fi

export DOKKU_ROOT=${DOKKU_ROOT:-$(getent passwd "$DOKKU_SYSTEM_USER" | cut -d: -f6)}
export DOKKU_LIB_PATH=${DOKKU_LIB_PATH:-/var/lib/dokku}
export DOKKU_LOGS_DIR=${DOKKU_LOGS_DIR:-/var/log/dokku}
export DOKKU_SYSTEM_USER
PREFIX=${DOKKU_PREFIX:-/usr/local}
BIN_DIR=$PREFIX/lib/dokku-rs/bin
[[ -n "$DOKKU_ROOT" ]] || fail "Cannot determine DOKKU_ROOT"

BUILT=$(build_binaries)
[[ -x "$BUILT/dokku" ]] || fail "$BUILT/dokku is missing: build the workspace first"

mkdir -p "$BIN_DIR" "$PREFIX/bin" "$DOKKU_ROOT/.ssh" "$DOKKU_LIB_PATH/data" "$DOKKU_LIB_PATH/config" "$DOKKU_LOGS_DIR"
for binary in "$BUILT"/dokku "$BUILT"/dokku-*; do
  [[ -f "$binary" && -x "$binary" ]] || continue
  name=$(basename "$binary")
  [[ $name == *.d || $name == dokku-bench* || $name == dokku-hello-rust ]] && continue
  install_binary "$binary" "$BIN_DIR/$name"
done
# dokku, and the tools Dokku's bash plugins run by name.
for tool in dokku plugn sigil; do
  install_binary "$BUILT/$tool" "$BIN_DIR/$tool"
  [[ "$(readlink "$PREFIX/bin/$tool" 2>/dev/null)" == "$BIN_DIR/$tool" ]] || ln -sfn "$BIN_DIR/$tool" "$PREFIX/bin/$tool"
done
[[ -f "$DOKKU_ROOT/.ssh/authorized_keys" ]] || install -m 0600 /dev/null "$DOKKU_ROOT/.ssh/authorized_keys"
chmod 0700 "$DOKKU_ROOT/.ssh"

# The plugin tree belongs to root (plugin:* is root-only); app state to the dokku user.
"$BIN_DIR/dokku-plugin" plugin:install-core "$SRC/plugins" "$BIN_DIR"
if [[ $SYSTEM == 1 ]]; then
  for dir in "$DOKKU_ROOT" "$DOKKU_LIB_PATH/data" "$DOKKU_LIB_PATH/config" "$DOKKU_LOGS_DIR"; do
    [[ $(stat -c %U "$dir") == "$DOKKU_SYSTEM_USER" ]] || chown "$DOKKU_SYSTEM_USER:$DOKKU_SYSTEM_USER" "$dir"
  done
  # What apps keep in storage and volumes belongs to the users their containers run as.
  find "$DOKKU_ROOT" "$DOKKU_LIB_PATH/data" "$DOKKU_LIB_PATH/config" "$DOKKU_LOGS_DIR" \
    \( -path "$DOKKU_LIB_PATH/data/storage/*" -o -path "$DOKKU_LIB_PATH/data/volume/*" \) -prune -o \
    ! -user "$DOKKU_SYSTEM_USER" -exec chown -h "$DOKKU_SYSTEM_USER:$DOKKU_SYSTEM_USER" {} +
fi
"$PREFIX/bin/dokku" plugin:install --core

# What the dokku user may ask root for: the root helper (storage directories' owner, mode
# and removal; nginx's test, reload and root's copies of app configs), a fixed root-owned
# binary that validates its arguments, and the storage plugin's bin/ scripts that plugins
# written for Dokku run through sudo (they end in the same helper). Each file is checked
# by visudo before it counts.
write_sudoers() {
  local file=$1 rule=$2
  [[ -f $file && "$(cat "$file")" == "$rule" ]] && return 0
  printf '%s\n' "$rule" >"$file.new"
  chmod 0440 "$file.new"
  visudo -c -q -f "$file.new" || { rm -f "$file.new"; fail "visudo refused $file"; }
  mv -f "$file.new" "$file"
}
install_sudoers() {
  local bin="$DOKKU_LIB_PATH/plugins/available/storage/bin"
  write_sudoers /etc/sudoers.d/dokku-rs "$DOKKU_SYSTEM_USER ALL=(root) NOPASSWD: $BIN_DIR/dokku-root-helper"
  write_sudoers /etc/sudoers.d/dokku-storage "$DOKKU_SYSTEM_USER ALL=(root) NOPASSWD: $bin/chown-storage-dir, $bin/chmod-storage-dir, $bin/destroy-storage-dir"
}
# The event log (events:on) and dokku's other logs are rotated daily, a week kept, where
# logrotate is installed; where rsyslog is, events plugins send with `logger -t
# dokku-event` land in the same log.
install_log_rules() {
  local rotate=/etc/logrotate.d/dokku filter=/etc/rsyslog.d/99-dokku.conf
  if [[ -d /etc/logrotate.d && ! -f $rotate ]]; then
    printf '%s\n' "$DOKKU_LOGS_DIR/*.log {" "        daily" "        missingok" "        rotate 7" \
      "        compress" "        delaycompress" "        notifempty" "        copytruncate" "}" >"$rotate"
  fi
  if [[ -d /etc/rsyslog.d && ! -f $filter ]]; then
    printf ':syslogtag, contains, "dokku-event" %s\n' "$DOKKU_LOGS_DIR/events.log" >"$filter"
  fi
}
# At boot, once docker runs, every app that was running comes back (ps:restore): a
# systemd unit where systemd is the init system. Without one nothing starts at boot, and
# this script, run again, restores them (see below).
install_restore_unit() {
  [[ -d /run/systemd/system ]] || return 0
  local unit=/etc/systemd/system/dokku-restore.service text
  text="[Unit]
Description=Start the dokku apps that were running
After=docker.service
Requires=docker.service

[Service]
Type=oneshot
ExecStart=$PREFIX/bin/dokku ps:restore

[Install]
WantedBy=multi-user.target"
  [[ -f $unit && "$(cat "$unit")" == "$text" ]] && return 0
  printf '%s\n' "$text" >"$unit.new"
  mv -f "$unit.new" "$unit"
  systemctl daemon-reload
  systemctl enable dokku-restore.service >/dev/null 2>&1
}
# nginx serves root's copy of every app's config (/etc/nginx/dokku-rs/apps/<app>.conf:
# the nginx-vhosts plugin's $DOKKU_ROOT/<app>/nginx.conf once the root helper has judged
# it; root's nginx never reads a file the dokku user can write), and a host name no app
# claims gets 404, never another app or the distribution's welcome page. Started here
# when no init system runs it.
install_nginx_include() {
  local conf=/etc/nginx/conf.d/dokku.conf text
  mkdir -p /etc/nginx/dokku-rs/apps
  text="# dokku-rs: every app's nginx config, and 404 for host names no app claims; nginx does
# not say its version.
include /etc/nginx/dokku-rs/apps/*.conf;
server_names_hash_bucket_size 128;
server_tokens off;
server {
  listen 80 default_server;
  server_name _;
  return 404;
}"
  if [[ ! -f $conf || "$(cat "$conf")" != "$text" ]]; then
    printf '%s\n' "$text" >"$conf.new"
    mv -f "$conf.new" "$conf"
  fi
  # The distribution's own default site would answer unknown host names instead.
  rm -f /etc/nginx/sites-enabled/default
  nginx -t -q || fail "nginx refuses its configuration (nginx -t)"
  if pgrep -x nginx >/dev/null; then
    nginx -s reload
  else
    log "Starting nginx"
    nginx
  fi
}
# Routing follows the engine's containers: dokku-event-listener rebuilds an app's proxy
# config when its containers start or stop (they come back with new addresses after an
# engine restart). systemd keeps it running where it is the init system; elsewhere a cron
# line starts it every minute, a no-op while one runs (it holds a lock). DOKKU_BIN names
# the dispatcher itself, beside the root helper sudo allows.
install_event_listener() {
  local bin=$BIN_DIR/dokku-event-listener log=$DOKKU_LOGS_DIR/event-listener.log
  if [[ -d /run/systemd/system ]]; then
    local unit=/etc/systemd/system/dokku-event-listener.service text
    text="[Unit]
Description=dokku-rs: routing follows the docker engine's containers
After=docker.service nginx.service

[Service]
User=$DOKKU_SYSTEM_USER
Environment=DOKKU_ROOT=$DOKKU_ROOT DOKKU_LIB_PATH=$DOKKU_LIB_PATH DOKKU_BIN=$BIN_DIR/dokku
ExecStart=$bin
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target"
    if [[ ! -f $unit || "$(cat "$unit")" != "$text" ]]; then
      printf '%s\n' "$text" >"$unit.new"
      mv -f "$unit.new" "$unit"
      systemctl daemon-reload
    fi
    systemctl enable --now dokku-event-listener.service >/dev/null 2>&1
    systemctl restart dokku-event-listener.service
    return 0
  fi
  local cron=/etc/cron.d/dokku-rs-event-listener text
  text="# dokku-rs: keeps the event listener running (it exits at once while one runs).
* * * * * $DOKKU_SYSTEM_USER DOKKU_ROOT=$DOKKU_ROOT DOKKU_LIB_PATH=$DOKKU_LIB_PATH DOKKU_BIN=$BIN_DIR/dokku $bin >>$log 2>&1"
  if [[ ! -f $cron || "$(cat "$cron")" != "$text" ]]; then
    printf '%s\n' "$text" >"$cron.new"
    chmod 0644 "$cron.new"
    mv -f "$cron.new" "$cron"
  fi
  # A listener of an earlier build makes way for this one.
  pkill -f -x "$bin" >/dev/null 2>&1 || true
  DOKKU_BIN=$BIN_DIR/dokku setsid "$bin" >>"$log" 2>&1 </dev/null &
}
# The builder image for apps without a Dockerfile: Heroku's when this host can pull it,
# else one made here (debootstrap, a few minutes the first time), named in DOKKU_IMAGE.
ensure_builder_image() {
  local docker heroku=gliderlabs/herokuish:latest-24 ours
  docker=$(grep -s '^DOCKER_BIN=' /etc/default/dokku | cut -d= -f2 || true)
  docker=${docker:-docker}
  if "$docker" image inspect "$heroku" >/dev/null 2>&1 ||
    timeout 120 "$docker" pull --quiet "$heroku" >/dev/null 2>&1; then
    set_default DOKKU_IMAGE "$heroku"
    return 0
  fi
  CARGO=$(find_cargo) DOCKER_BIN=$docker "$SRC/crates/buildstep/image/make-image" ||
    fail "the builder image for apps without a Dockerfile could not be made"
  ours=$("$SRC/crates/buildstep/image/make-image" --name)
  set_default DOKKU_IMAGE "$ours"
}

# Stand-ins for the images of Dokku's service plugins, chosen through the plugins' own
# settings in /etc/default/dokku; a host with a registry keeps the official ones.
ensure_service_images() {
  local docker setting
  docker=$(grep -s '^DOCKER_BIN=' /etc/default/dokku | cut -d= -f2 || true)
  DOCKER_BIN=${docker:-docker} "$SRC/tests/service-images" || fail "the service images could not be made"
  while IFS= read -r setting; do
    set_default "${setting%%=*}" "${setting#*=}"
  done < <("$SRC/tests/service-images" --settings)
}

# A docker registry on this host (Debian's package) for swarm nodes to pull the apps'
# releases from: it listens only at the address given, which must be on the swarm's private
# network (it asks for no credentials), keeps images in the package's directory, and
# becomes the registry every app pushes its releases to, with swarm apps pulling from it.
# The engine here is told it speaks plain HTTP; each node's engine must be told too. A
# hermetic install keeps it under DOKKU_LIB_PATH. Started here when no init system runs it.
ensure_registry() {
  local address=$1 bin config storage pidfile logfile text changed=0 pid
  bin=$(command -v docker-registry) || fail "docker-registry is not installed (apt-get install docker-registry)"
  if [[ $SYSTEM == 1 ]]; then
    config=/etc/docker/registry/config.yml storage=/var/lib/docker-registry
    pidfile=/run/dokku-rs-registry.pid logfile=/var/log/docker-registry.log
  else
    config=$DOKKU_LIB_PATH/registry/config.yml storage=$DOKKU_LIB_PATH/registry/data
    pidfile=$DOKKU_LIB_PATH/registry/registry.pid logfile=$DOKKU_LOGS_DIR/registry.log
  fi
  mkdir -p "$(dirname "$config")" "$storage" "$(dirname "$logfile")"
  text="# dokku-rs: the registry swarm nodes pull the apps' releases from (install.sh --registry).
version: 0.1
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $address
  headers:
    X-Content-Type-Options: [nosniff]"
  if [[ ! -f $config || "$(cat "$config")" != "$text" ]]; then
    printf '%s\n' "$text" >"$config.new"
    mv -f "$config.new" "$config"
    changed=1
  fi
  if [[ $SYSTEM == 1 && -d /run/systemd/system ]]; then
    systemctl enable docker-registry >/dev/null 2>&1
    if ((changed)); then systemctl restart docker-registry; else systemctl start docker-registry; fi
  else
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ -n $pid ]] && grep -qa docker-registry "/proc/$pid/cmdline" 2>/dev/null; then
      if ((changed)); then
        kill "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        pid=
      fi
    else
      pid=
    fi
    if [[ -z $pid ]]; then
      log "Starting the docker registry at $address"
      local as=()
      if [[ $SYSTEM == 1 ]] && id docker-registry >/dev/null 2>&1; then
        chown -R docker-registry:docker-registry "$storage"
        as=(setpriv --reuid docker-registry --regid docker-registry --init-groups)
      fi
      setsid "${as[@]}" "$bin" serve "$config" >>"$logfile" 2>&1 </dev/null &
      echo $! >"$pidfile"
    fi
  fi
  local answered=
  for _ in $(seq 1 80); do
    curl -fsS -o /dev/null "http://$address/v2/" 2>/dev/null && answered=1 && break
    sleep 0.25
  done
  [[ -n $answered ]] || fail "the registry does not answer at http://$address/v2/; see $logfile"
  if [[ $SYSTEM == 1 ]]; then
    local daemon=/etc/docker/daemon.json
    if [[ ! -s $daemon ]]; then
      printf '{\n  "insecure-registries": ["%s"]\n}\n' "$address" >"$daemon.new"
      mv -f "$daemon.new" "$daemon"
      # The engine takes a new list of insecure registries on SIGHUP, without a restart.
      pkill -HUP -x dockerd || true
    elif ! grep -qF "\"$address\"" "$daemon"; then
      echo " !     Add \"$address\" to \"insecure-registries\" in $daemon, then: pkill -HUP dockerd" >&2
    fi
  fi
  "$PREFIX/bin/dokku" registry:set --global server "$address" >/dev/null
  "$PREFIX/bin/dokku" registry:set --global push-on-release true >/dev/null
  "$PREFIX/bin/dokku" scheduler-swarm:set --global image-distribution registry >/dev/null
  log "Every app's releases go to the registry at $address"
}

# sshd from Debian's package: started here when nothing answers on port 22 (no init system).
ensure_sshd() {
  (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && return 0
  log "Starting sshd"
  mkdir -p /run/sshd
  ssh-keygen -A >/dev/null
  /usr/sbin/sshd
  for _ in $(seq 1 40); do
    (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && return 0
    sleep 0.25
  done
  fail "sshd did not start on port 22"
}

if [[ $SYSTEM == 1 ]]; then
  # git push reaches the host over SSH.
  ensure_sshd
  ((SERVICE_IMAGES)) && ensure_service_images
  install_sudoers
  install_nginx_include
  install_log_rules
  install_restore_unit
  ensure_builder_image
  "$PREFIX/bin/dokku" ps:restore >/dev/null || echo " !     Some apps did not start again: see dokku ps:report" >&2
  # Root's copies of configs written before this version (nginx included them from the
  # dokku user's tree then).
  "$PREFIX/bin/dokku" proxy:build-config --all >/dev/null || echo " !     Some apps' nginx configs were refused: see dokku nginx:validate-config" >&2
  install_event_listener
fi

log "dokku-rs $("$PREFIX/bin/dokku" version | awk '{print $3}') is installed: $PREFIX/bin/dokku"
if [[ -n $REGISTRY ]]; then
  [[ $SYSTEM == 1 ]] && install_registry_package
  ensure_registry "$REGISTRY"
fi


# The sample job: the sample app's source, committed with a fixed date (so a second run
# pushes nothing new), goes to the app `sample` by `git push` over SSH, as a user would.
# Forced: the sample of an earlier version of this installer is simply replaced.
push_sample() {
  local key=${DOKKU_SAMPLE_KEY:-$HOME/.ssh/dokku-sample_ed25519} work fingerprint
  mkdir -p "$(dirname "$key")"
  [[ -f $key ]] || ssh-keygen -q -t ed25519 -N "" -C "dokku-sample@$(hostname)" -f "$key"
  fingerprint=$(ssh-keygen -E sha256 -lf "$key.pub" | awk '{print $2}')
  # The sample key is this machine's; one left from an earlier install is replaced.
  if ! "$PREFIX/bin/dokku" ssh-keys:list --format json | grep -qF "\"$fingerprint\""; then
    "$PREFIX/bin/dokku" ssh-keys:remove sample-admin >/dev/null 2>&1 || true
    "$PREFIX/bin/dokku" ssh-keys:add sample-admin "$key.pub" >/dev/null
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  cp -R "$SRC/tests/fixtures/sample-app/." "$work"
  export GIT_AUTHOR_NAME=dokku-rs GIT_AUTHOR_EMAIL=sample@dokku-rs GIT_AUTHOR_DATE="2026-01-01T00:00:00Z"
  export GIT_COMMITTER_NAME=dokku-rs GIT_COMMITTER_EMAIL=sample@dokku-rs GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
  git -C "$work" init -q -b main
  git -C "$work" add -A
  git -C "$work" commit -q -m "dokku-rs sample app"
  GIT_SSH_COMMAND="ssh -i $key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new" \
    git -C "$work" push --force "$DOKKU_SYSTEM_USER@127.0.0.1:sample" main
  log "Pushed the sample app: git remote $DOKKU_SYSTEM_USER@$(hostname):sample, revision $(git -C "$work" rev-parse HEAD)"
  local ip port
  ip=$(cat "$DOKKU_ROOT/sample/IP.web.1" 2>/dev/null || true)
  port=$(cat "$DOKKU_ROOT/sample/PORT.web.1" 2>/dev/null || true)
  [[ -n $ip && -n $port ]] || fail "the sample app is not running"
  curl -fsS -o /dev/null "http://$ip:$port/" || fail "the sample app does not answer on http://$ip:$port/"
  log "The sample app answers: http://$ip:$port/"
  # Through nginx, at the app's URL (its domain, or this host when there is no global
  # domain), asked of nginx on this host.
  local url host port_part
  url=$("$PREFIX/bin/dokku" url sample)
  [[ $url =~ ^http://([^/:]+)(:([0-9]+))?/?$ ]] || fail "the sample app has no http URL (dokku url sample: '$url')"
  host=${BASH_REMATCH[1]}
  port_part=${BASH_REMATCH[3]:-80}
  curl -fsS -o /dev/null -H "Host: $host" "http://127.0.0.1:$port_part/" ||
    fail "the sample app does not answer through nginx at $url (asked as Host: $host on 127.0.0.1:$port_part)"
  log "The sample app answers through nginx: $url"
  if [[ -z $("$PREFIX/bin/dokku" domains:report --global --domains-global-vhosts) ]]; then
    echo "       This host has no global domain, so apps answer on its name and their ports."
    echo "       For a domain per app: dokku domains:set-global example.com (its DNS pointing here)"
  fi
}

if ((SAMPLE)); then
  if [[ $SYSTEM == 1 ]]; then
    log "Sample job: git push of the sample app over SSH"
    # The sample's Dockerfile builds FROM a local base image: no registry is needed.
    DOCKER_BIN=$(grep -s '^DOCKER_BIN=' /etc/default/dokku | cut -d= -f2 || true) "$SRC/tests/base-image"
    push_sample
  else
    log "Sample job: an app named sample"
    "$PREFIX/bin/dokku" apps:exists sample 2>/dev/null || "$PREFIX/bin/dokku" apps:create sample
  fi
  "$PREFIX/bin/dokku" apps:list
fi
