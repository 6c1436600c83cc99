module github.com/pedidos/pedidos/infra/pedidos

go 1.26

require (
	github.com/pedidos/pedidos/events v0.0.0
	github.com/pedidos/pedidos/infra/devstack v0.0.0
	github.com/pedidos/pedidos/services/api v0.0.0
	github.com/pedidos/pedidos/services/control v0.0.0
	github.com/pedidos/pedidos/services/generator v0.0.0
	github.com/pedidos/pedidos/services/processor v0.0.0
)

replace (
	github.com/pedidos/pedidos/events => ../../events
	github.com/pedidos/pedidos/infra/devstack => ../devstack
	github.com/pedidos/pedidos/services/api => ../../services/api
	github.com/pedidos/pedidos/services/control => ../../services/control
	github.com/pedidos/pedidos/services/generator => ../../services/generator
	github.com/pedidos/pedidos/services/processor => ../../services/processor
)
