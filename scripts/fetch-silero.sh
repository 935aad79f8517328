#!/usr/bin/env bash
# fetch-silero.sh installs what agent/vad needs for the Silero VAD into
# "${XDG_DATA_HOME:-$HOME/.local/share}/parley/silero/":
#
#   libonnxruntime.so.1  ONNX Runtime 1.24.1 (MIT), from the npm package
#                        onnxruntime-node@1.24.1, bin/napi-v6/linux/<arch>/
#   silero_vad_v5.onnx   Silero VAD v5 (MIT, github.com/snakers4/silero-vad),
#                        from the npm package @ricky0123/vad-web@0.0.31, dist/
#
# A file is fetched only when it is missing or its SHA-256 differs from the
# pinned digest below. Tarballs come from the npm registry with `npm pack` when
# npm is installed, else with curl ($NPM_CONFIG_REGISTRY, default
# https://registry.npmjs.org). Each file is unpacked into a temporary
# directory beside its destination, checked against its digest, then renamed
# into place, so an interrupted run never leaves a partial file. Linux x86_64
# and arm64 only. Called by `make deps`; safe to run again.
set -euo pipefail

ORT_PKG=onnxruntime-node
ORT_VERSION=1.24.1
VAD_PKG=@ricky0123/vad-web
VAD_VERSION=0.0.31

LIB_FILE=libonnxruntime.so.1
MODEL_FILE=silero_vad_v5.onnx
MODEL_SHA256=2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f
LIB_SHA256_X64=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
LIB_SHA256_ARM64=7954e8bdedb497f830c6a679e818d98399b7f4d81ade1126c3e0be74d28111ab

DEST="${XDG_DATA_HOME:-$HOME/.local/share}/parley/silero"
REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
REGISTRY="${REGISTRY%/}"

die() { echo "fetch-silero: $*" >&2; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) ARCH=x64 LIB_SHA256=$LIB_SHA256_X64 ;;
  Linux/aarch64 | Linux/arm64) ARCH=arm64 LIB_SHA256=$LIB_SHA256_ARM64 ;;
  *) die "no pinned ONNX Runtime for $(uname -s)/$(uname -m); install ONNX Runtime $ORT_VERSION and the Silero v5 model yourself and set PARLEY_ONNXRUNTIME_LIB and PARLEY_SILERO_MODEL" ;;
esac

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# ok FILE DIGEST: FILE exists and has DIGEST.
ok() { [ -f "$1" ] && [ "$(sha256 "$1")" = "$2" ]; }

# fetch_tgz PKG VERSION DIR: download the npm tarball of PKG@VERSION into DIR
# and print its path.
fetch_tgz() {
  local pkg=$1 ver=$2 dir=$3 base tgz
  base=${pkg#@}          # @scope/name -> scope/name
  tgz="$dir/${base//\//-}-$ver.tgz"   # npm pack's file name: scope-name-ver.tgz
  if command -v npm >/dev/null &&
     npm pack "$pkg@$ver" --pack-destination "$dir" --silent >/dev/null 2>"$dir/npm.log" &&
     [ -f "$tgz" ]; then
    echo "$tgz"; return 0
  fi
  if command -v curl >/dev/null &&
     curl -fsSL --retry 3 -o "$tgz" "$REGISTRY/$pkg/-/${pkg##*/}-$ver.tgz"; then
    echo "$tgz"; return 0
  fi
  if ! command -v npm >/dev/null && ! command -v curl >/dev/null; then
    die "neither npm nor curl is installed: install one (apt-get install curl) and run again"
  fi
  die "cannot download $pkg@$ver from $REGISTRY with npm or curl (network, proxy or registry down?); $(tail -n 3 "$dir/npm.log" 2>/dev/null | tr '\n' ' ')"
}

# install_file PKG VERSION MEMBER FILE DIGEST: put MEMBER of the tarball of
# PKG@VERSION into $DEST/FILE unless a file with DIGEST is already there.
install_file() {
  local pkg=$1 ver=$2 member=$3 file=$4 want=$5 tmp tgz got
  if ok "$DEST/$file" "$want"; then
    echo "fetch-silero: $DEST/$file is up to date"
    return 0
  fi
  [ -e "$DEST/$file" ] && echo "fetch-silero: $DEST/$file has the wrong digest; replacing it"
  echo "fetch-silero: fetching $file from $pkg@$ver"
  tmp=$(mktemp -d "$DEST/.fetch.XXXXXX")
  # shellcheck disable=SC2064  # expand $tmp now: it is local
  trap "rm -rf '$tmp'" EXIT
  tgz=$(fetch_tgz "$pkg" "$ver" "$tmp")
  tar -xzf "$tgz" -C "$tmp" "$member" || die "$pkg@$ver has no $member"
  got=$(sha256 "$tmp/$member")
  [ "$got" = "$want" ] || die "$member of $pkg@$ver has SHA-256 $got, want $want; not installed"
  chmod 0644 "$tmp/$member"
  mv -f "$tmp/$member" "$DEST/$file"
  rm -rf "$tmp"
  trap - EXIT
  echo "fetch-silero: installed $DEST/$file"
}

mkdir -p "$DEST"
install_file "$ORT_PKG" "$ORT_VERSION" "package/bin/napi-v6/linux/$ARCH/libonnxruntime.so.1" "$LIB_FILE" "$LIB_SHA256"
install_file "$VAD_PKG" "$VAD_VERSION" "package/dist/silero_vad_v5.onnx" "$MODEL_FILE" "$MODEL_SHA256"
