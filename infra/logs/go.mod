module github.com/pedidos/pedidos/infra/logs

go 1.26.0

require (
	github.com/lmittmann/tint v1.2.1
	go.uber.org/goleak v1.3.0
	gopkg.in/natefinch/lumberjack.v2 v2.2.1
)
