module github.com/pedidos/pedidos/services/generator

go 1.26.0

require (
	github.com/nats-io/nats.go v1.55.0
	github.com/pedidos/pedidos/events v0.0.0
	github.com/pedidos/pedidos/infra/logs v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/lmittmann/tint v1.2.1 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)

replace (
	github.com/pedidos/pedidos/events => ../../events
	github.com/pedidos/pedidos/infra/devstack => ../../infra/devstack
	github.com/pedidos/pedidos/infra/logs => ../../infra/logs
)
