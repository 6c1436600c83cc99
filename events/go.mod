module github.com/pedidos/pedidos/events

go 1.26
