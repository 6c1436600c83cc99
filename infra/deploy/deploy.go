// Package deploy checks, in its tests, what deploys Pedidos: the stack of
// infra/compose.yaml, loaded and validated by compose-go (the library
// docker compose loads files with) against the Compose Specification's
// schema, and the images of infra/Dockerfile, built from binaries compiled
// on the host and run with podman, when podman is installed. It has no
// code of its own.
package deploy
