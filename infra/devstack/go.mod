module github.com/pedidos/pedidos/infra/devstack

go 1.26
