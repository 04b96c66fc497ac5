#!/usr/bin/env bash
# Vendor ECharts' built file into the dashboard's static files (no CDN at run time: air-gapped clusters).
#
# Downloads the pinned tarball with `npm pack`, checks it against the pinned sha512 integrity (the value
# `npm view echarts@VERSION dist.integrity` prints), and copies dist/echarts.min.js, LICENSE and NOTICE
# into sigopt_ai/dashboard/static/vendor/. To upgrade: change both pins, run this, commit the two files.
#
# Usage: scripts/vendor_echarts.sh
set -euo pipefail

VERSION="6.1.0"
INTEGRITY="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/sigopt_ai/dashboard/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "echarts@$VERSION")"
# The integrity is base64(sha512(tarball)), the Subresource Integrity format npm uses.
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$INTEGRITY" ]]; then
  echo "echarts@$VERSION: integrity mismatch: expected $INTEGRITY, got $actual" >&2
  exit 1
fi
tar -xzf "$tarball" package/dist/echarts.min.js package/LICENSE package/NOTICE

mkdir -p "$dest"
cp package/dist/echarts.min.js "$dest/echarts.min.js"
{
  echo "ECharts $VERSION (https://echarts.apache.org), vendored by scripts/vendor_echarts.sh"
  echo "from the npm tarball echarts@$VERSION ($INTEGRITY)."
  echo
  cat package/LICENSE
  echo
  echo "-------------------------------------------------------------------- NOTICE"
  echo
  cat package/NOTICE
} > "$dest/LICENSE"
echo "vendored echarts@$VERSION into $dest ($(wc -c < "$dest/echarts.min.js") bytes)"
