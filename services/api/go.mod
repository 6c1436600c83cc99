module github.com/pedidos/pedidos/services/api

go 1.26

require (
	github.com/pedidos/pedidos/events v0.0.0
	github.com/pedidos/pedidos/infra/devstack v0.0.0
)

replace (
	github.com/pedidos/pedidos/events => ../../events
	github.com/pedidos/pedidos/infra/devstack => ../../infra/devstack
)
