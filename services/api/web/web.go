// Package web is the dashboard of Pedidos: a page, its stylesheet, its
// JavaScript modules (no build step) and the chart library it uses, uPlot,
// vendored from npm (vendor/README.md). The api embeds and serves them.
package web

import "embed"

// FS holds the dashboard's files: index.html and favicon.svg at its root,
// css/, js/ and vendor/uplot/. The api serves each file at its path below
// the dashboard's URL.
//
//go:embed index.html favicon.svg css js vendor/uplot
var FS embed.FS
