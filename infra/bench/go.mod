module github.com/pedidos/pedidos/infra/bench

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	github.com/lmittmann/tint v1.2.1
	github.com/pedidos/pedidos/events v0.0.0
	github.com/pedidos/pedidos/services/processor v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	go.mongodb.org/mongo-driver/v2 v2.10.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/pedidos/pedidos/infra/fleet v0.0.0 // indirect
	github.com/pedidos/pedidos/infra/logs v0.0.0 // indirect
	github.com/pedidos/pedidos/infra/metrics v0.0.0 // indirect
	github.com/pedidos/pedidos/infra/opsserver v0.0.0 // indirect
	github.com/pedidos/pedidos/infra/redisstate v0.0.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/synadia-io/orbit.go/natsext v0.1.3 // indirect
	github.com/xdg-go/scram v1.4.0 // indirect
	github.com/xdg-go/stringprep v1.0.4 // indirect
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)

replace (
	github.com/pedidos/pedidos/events => ../../events
	github.com/pedidos/pedidos/infra/devstack => ../devstack
	github.com/pedidos/pedidos/infra/fleet => ../fleet
	github.com/pedidos/pedidos/infra/logs => ../logs
	github.com/pedidos/pedidos/infra/opsserver => ../opsserver
	github.com/pedidos/pedidos/infra/redisstate => ../redisstate
	github.com/pedidos/pedidos/services/api => ../../services/api
	github.com/pedidos/pedidos/services/control => ../../services/control
	github.com/pedidos/pedidos/services/generator => ../../services/generator
	github.com/pedidos/pedidos/services/processor => ../../services/processor
)

replace github.com/pedidos/pedidos/infra/metrics => ../metrics
