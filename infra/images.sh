#!/usr/bin/env bash
# Builds the images of infra/Dockerfile, one per target, named after their
# binaries: pedidos-api, pedidos-control, pedidos-generator,
# pedidos-processor and pedidos (the all-in-one). `make images` and
# `make images-host` run it.
#
#   infra/images.sh source   compile in the Dockerfile's golang stage
#   infra/images.sh host     compile here (static, CGO_ENABLED=0) into
#                            $IMAGE_CONTEXT/bin/image, then build from those
#                            binaries: no base image is pulled, so it works
#                            offline
#
# Environment: IMAGE_ENGINE (docker or podman; default docker when a daemon
# answers, else podman), IMAGE_REPO (prefix such as ghcr.io/you/, default
# none), IMAGE_TAG (default the git description), IMAGE_TARGETS (default all
# five), IMAGE_CONTEXT (build context, default the repository root),
# IMAGE_BUILD_FLAGS (more flags for the build command, split on spaces).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=${1:-source}
case $mode in
source | host) ;;
*)
	echo "usage: $0 [source|host]" >&2
	exit 2
	;;
esac

engine=${IMAGE_ENGINE:-}
if [ -z "$engine" ]; then
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		engine=docker
	elif command -v podman >/dev/null; then
		engine=podman
	else
		echo "$0: neither a Docker daemon nor podman is available" >&2
		exit 1
	fi
fi
repo=${IMAGE_REPO:-}
tag=${IMAGE_TAG:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
targets=${IMAGE_TARGETS:-api control generator processor pedidos}
context=${IMAGE_CONTEXT:-$root}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

flags=(-f "$root/infra/Dockerfile" --build-arg "BINARIES=$mode"
	--build-arg "VERSION=$tag" --build-arg "REVISION=$revision" --build-arg "CREATED=$created")
# Podman drops HEALTHCHECK from images in its default OCI format.
if [ "$engine" = podman ]; then flags+=(--format docker); fi
# shellcheck disable=SC2206 # split on spaces, as documented
flags+=(${IMAGE_BUILD_FLAGS:-})

if [ "$mode" = host ]; then
	out=$context/bin/image
	rm -rf "$out"
	mkdir -p "$out/bin" "$out/rootfs/data" "$out/rootfs/etc/ssl/certs"
	echo "building static binaries into $out/bin"
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$out/bin/" \
		./infra/pedidos/cmd/pedidos \
		./services/api/cmd/pedidos-api \
		./services/control/cmd/pedidos-control \
		./services/generator/cmd/pedidos-generator \
		./services/processor/cmd/pedidos-processor
	ca=/etc/ssl/certs/ca-certificates.crt
	if [ ! -f "$ca" ]; then
		echo "$0: $ca is missing (apt-get install ca-certificates)" >&2
		exit 1
	fi
	cp "$ca" "$out/rootfs/etc/ssl/certs/"
	flags+=(--build-arg HOST_DIR=bin/image)
fi

for target in $targets; do
	name=pedidos-$target
	if [ "$target" = pedidos ]; then name=pedidos; fi
	echo "$engine build --target $target -t $repo$name:$tag"
	"$engine" build "${flags[@]}" --target "$target" -t "$repo$name:$tag" "$context"
done
