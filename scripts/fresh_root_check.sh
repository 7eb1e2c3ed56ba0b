#!/usr/bin/env bash
# Proves that the README's first command works on a fresh Debian 12 machine.
#
# A developer machine has packages installed for other reasons, which hides any package that
# scripts/setup.sh forgets to install. This script builds a fresh minimal Debian 12 root with Debian's
# own `debootstrap --variant=minbase bookworm` (nothing but the essential packages and apt), puts the
# repository's committed tree (HEAD, via `git archive`; no build folders, no uncommitted changes) in
# /root/sdfast, chroots into it and runs the first command of README.md's first ```sh block, exactly
# as written there (read from the README, so this check follows it). It then checks that outputs/
# holds the four images and the grid, each a PNG file.
#
# It prints one PASS or FAIL line with the time of each phase (debootstrap, setup, generate). Any error
# exits non-zero with a message naming the phase.
#
# Usage: scripts/fresh_root_check.sh [--keep] [--mirror URL]
#   --keep        keep the work directory (the root, logs) for debugging; its path is printed
#   --mirror URL  the Debian mirror for debootstrap (default: the first one that this machine's apt
#                 sources use for bookworm)
# Needs root (debootstrap, mount, chroot); installs debootstrap with apt-get when it is missing. The work
# directory is a new one under ${TMPDIR:-/var/tmp}; it is removed at the end, after everything mounted
# in it has been unmounted. Needs about 3 GiB of disk and the mirror; takes ~6 minutes on 2 idle cores.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

PHASE="preflight"
KEEP=0
MIRROR=""
WORK=""
T_START=$(date +%s.%N)
declare -A TIMES=()  # phase -> seconds
# Seconds from time stamp $1 to $2 (default: now), one decimal.
seconds() { awk -v a="$1" -v b="${2:-$(date +%s.%N)}" 'BEGIN { printf "%.1f", b - a }'; }

say() { echo "fresh_root_check: $*"; }
fail() {
  say "error in phase $PHASE: $*" >&2
  exit 1
}
# "debootstrap 95 s, setup 800 s, ..." for the phases done so far.
phase_times() {
  local p out=""
  for p in debootstrap setup generate; do
    if [ -n "${TIMES[$p]:-}" ]; then out+="${out:+, }$p ${TIMES[$p]} s"; fi
  done
  echo "$out"
}

# ---- cleanup: unmount, then remove the work directory -----------------------------------------------
# Mount points under $WORK, deepest first (/proc/self/mounts writes a space in a path as \040; $WORK
# has none, see below).
mounts_under_work() {
  awk -v w="$WORK/" 'index($2 "/", w) == 1 { print $2 }' /proc/self/mounts | sort -r
}

cleanup() {
  local rc=$?
  trap - EXIT ERR
  set +e
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    local m
    for m in $(mounts_under_work); do
      umount "$m" 2>/dev/null || umount -l "$m" || say "could not unmount $m" >&2
    done
    if [ -n "$(mounts_under_work)" ]; then
      say "still mounted under $WORK, NOT removing it:" >&2
      mounts_under_work >&2
      [ "$rc" != 0 ] || rc=1
    elif ((KEEP)); then
      say "kept $WORK (root: $WORK/root; enter with: mount -t proc proc $WORK/root/proc &&" \
        "chroot $WORK/root /bin/bash)"
    else
      # Only ever the directory mktemp made for this run, and never across a file system boundary.
      case "$WORK" in
        */sdfast-fresh-root.??????) rm -rf --one-file-system -- "$WORK" ;;
        *) say "unexpected work directory '$WORK', not removing it" >&2 ;;
      esac
    fi
  fi
  if [ "$rc" != 0 ]; then
    say "FAIL in phase $PHASE (exit status $rc) after $(seconds "$T_START") s${TIMES[*]:+ ($(phase_times))}" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'say "command failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

usage() { sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --keep) KEEP=1 ;;
    --mirror) [ $# -ge 2 ] || fail "--mirror needs a URL"; MIRROR="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || fail "must be run as root: debootstrap, mount and chroot need it (try: sudo $0)"

PARENT="${TMPDIR:-/var/tmp}"
[ -d "$PARENT" ] || fail "the work directory's parent $PARENT does not exist"
WORK=$(realpath "$(mktemp -d "$PARENT/sdfast-fresh-root.XXXXXX")")
case "$WORK" in
  *[[:space:]]*) fail "the work directory '$WORK' contains white space; set TMPDIR elsewhere" ;;
esac
ROOT="$WORK/root"
say "work directory $WORK"
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
((free_kib > 3 * 1024 * 1024)) || fail "less than 3 GiB free in $WORK"

git -C "$REPO" rev-parse --verify -q HEAD >/dev/null || fail "$REPO is not a git repository with a commit"

# ---- the README's first command --------------------------------------------------------------------
# The first command line of the first ```sh block of the committed README.md (a line ending in \
# continues on the next one).
README_COMMAND=$(awk '
  !inblock { if ($0 ~ /^```sh[[:space:]]*$/) inblock = 1; next }
  /^```/ { exit }
  cmd == "" && /^[[:space:]]*(#.*)?$/ { next }
  { line = $0; if (sub(/\\$/, "", line)) { cmd = cmd line; next } print cmd line; exit }
' < <(git -C "$REPO" show HEAD:README.md))
[ -n "$README_COMMAND" ] || fail "found no command in README.md's first \`\`\`sh block"
say "README's first command: $README_COMMAND"

if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
  say "note: the working tree has uncommitted changes; this checks the committed tree (HEAD) only"
fi

# ---- the mirror ------------------------------------------------------------------------------------
# The first URI that this machine's apt sources (one-line .list or deb822 .sources) use for the suite
# bookworm.
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                       if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() { if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ / bookworm /)
                              { split(uris, u, " "); print u[1]; found = 1; exit }
                            types = uris = suites = ""; enabled = "yes" }
         BEGIN { enabled = "yes" }
         /^[[:space:]]*$/ { flush(); next }
         /^#/ { next }
         { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ /, "")
           if (key == "types") types = $0; else if (key == "uris") uris = $0;
           else if (key == "suites") suites = $0; else if (key == "enabled") enabled = tolower($0) }
         END { if (!found) flush() }' "$f"
  done
}
if [ -z "$MIRROR" ]; then
  MIRROR=$(find_mirror | head -n1)
  [ -n "$MIRROR" ] || fail "no apt source for bookworm in /etc/apt/sources.list{,.d}; pass --mirror URL"
fi
say "mirror $MIRROR"

# ---- debootstrap -----------------------------------------------------------------------------------
PHASE="debootstrap"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      debootstrap debian-archive-keyring >/dev/null
  }
  install || { apt-get update -qq && install; } || fail "could not install debootstrap with apt-get"
fi
keyring=()
if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi
say "debootstrap --variant=minbase bookworm (log: $WORK/debootstrap.log)"
t=$(date +%s.%N)
if ! debootstrap --variant=minbase "${keyring[@]}" bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  if [ -f "$ROOT/debootstrap/debootstrap.log" ]; then tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2; fi
  fail "debootstrap failed (see the log above)"
fi
TIMES[debootstrap]=$(seconds "$t")
# debootstrap's sources.list has bookworm main only. Every package that scripts/setup.sh installs is in
# bookworm main, so nothing else is added: a fresh machine with bookworm-updates and -security only has
# newer versions of the same packages.
say "chroot's apt sources: $(grep -v '^#' "$ROOT/etc/apt/sources.list" | tr '\n' ' ')"

# ---- the tree and the mounts -----------------------------------------------------------------------
PHASE="copy"
mkdir -p "$ROOT/root/sdfast"
git -C "$REPO" archive --format=tar HEAD | tar -x -C "$ROOT/root/sdfast"
say "copied $(git -C "$REPO" rev-parse --short HEAD) into /root/sdfast"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"  # name resolution for apt, as the machine's own
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"  # dpkg's terminal log wants a pty, as on a real machine

# The README command runs in bash as typed at a prompt (no set -e), traced with a time stamp to a
# separate file: the time of `build/sdfast ...` splits the setup and generate phases.
cat >"$ROOT/root/readme-command.sh" <<'EOF'
cd /root/sdfast || exit 1
exec 3>/root/readme-command.trace
BASH_XTRACEFD=3
PS4='+ $EPOCHREALTIME '
set -x
EOF
printf '%s\n' "$README_COMMAND" >>"$ROOT/root/readme-command.sh"

chroot_env=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [ -n "${!v:-}" ]; then chroot_env+=("$v=${!v}"); fi
done

# ---- setup and generate: the README's command ------------------------------------------------------
PHASE="setup"
say "running the README's first command in the chroot"
t_begin=$(date +%s.%N)
rc=0
env -i "${chroot_env[@]}" chroot "$ROOT" /bin/bash /root/readme-command.sh || rc=$?
t_end=$(date +%s.%N)
trace="$ROOT/root/readme-command.trace"
# Top-level traced commands only ("+ TIME command"; deeper levels start with "++").
t_generate=$(awk '/^\+ [0-9.]+ build\/sdfast / { print $2; exit }' "$trace" 2>/dev/null || true)
if [ -n "$t_generate" ]; then
  TIMES[setup]=$(seconds "$t_begin" "$t_generate")
  TIMES[generate]=$(seconds "$t_generate" "$t_end")
  PHASE="generate"
else
  TIMES[setup]=$(seconds "$t_begin" "$t_end")
fi
((rc == 0)) || fail "the README's first command exited with status $rc"
[ -n "$t_generate" ] || fail "the README's first command never ran build/sdfast"

# ---- the outputs -----------------------------------------------------------------------------------
PHASE="check outputs"
out="$ROOT/root/sdfast/outputs"
[ -d "$out" ] || fail "no outputs/ folder"
shopt -s nullglob
images=("$out"/*-[0-9]*.png)
grids=("$out"/*-grid.png)
all=("$out"/*)
shopt -u nullglob
((${#images[@]} == 4)) || fail "expected 4 images in outputs/, found ${#images[@]}: ${all[*]##*/}"
((${#grids[@]} == 1)) || fail "expected 1 grid in outputs/, found ${#grids[@]}: ${all[*]##*/}"
((${#all[@]} == 5)) || fail "expected 5 files in outputs/, found ${#all[@]}: ${all[*]##*/}"
for f in "${images[@]}" "${grids[@]}"; do
  # The PNG signature, then the IHDR chunk: width and height are bytes 16..23, big-endian.
  sig=$(od -An -tx1 -N8 "$f" | tr -d ' \n')
  [ "$sig" = 89504e470d0a1a0a ] || fail "${f##*/} is not a PNG file (starts with $sig)"
  read -r w h < <(od -An -tu1 -j16 -N8 "$f" |
    awk '{ print ($1 * 2^24 + $2 * 2^16 + $3 * 2^8 + $4), ($5 * 2^24 + $6 * 2^16 + $7 * 2^8 + $8) }')
  say "  outputs/${f##*/}: PNG ${w}x${h}, $(stat -c %s "$f") bytes"
done

PHASE="cleanup"
total=$(seconds "$T_START")
say "PASS on a fresh Debian 12 minbase root: debootstrap ${TIMES[debootstrap]} s, setup ${TIMES[setup]} s," \
  "generate ${TIMES[generate]} s, total $total s ($(nproc) CPUs)"
