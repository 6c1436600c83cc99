#!/usr/bin/env bash
# vulndb.sh DIR: make DIR a Go vulnerability database that govulncheck reads
# with -db file://DIR, from the latest golang.org/x/vulndb served by the Go
# module proxy (for machines that reach the proxy but not vuln.go.dev, as
# CI's does). The module holds the database's OSV entries; its own gendb
# command, run on a git snapshot of it, writes the database.
set -euo pipefail
out=${1:?usage: vulndb.sh DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

src=$(cd "$work" && go mod init vulndb >/dev/null 2>&1 &&
	go mod download -json golang.org/x/vulndb@latest | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ]; then
	echo "$0: could not download golang.org/x/vulndb" >&2
	exit 1
fi
cp -r "$src" "$work/repo"
chmod -R u+w "$work/repo"
git -C "$work/repo" init -q
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=vulndb -c user.email=vulndb@localhost commit -qm snapshot
(cd "$work/repo" && GOFLAGS=-mod=mod go run ./cmd/gendb -repo "$work/repo" -out "$work/db")
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/db" "$out"
echo "vulnerability database from $(basename "$src") in $out"
