package processor

import (
	"net"
	"testing"
	"time"

	"github.com/pedidos/pedidos/infra/opsserver"
)

func TestRunServesReadinessOnMetricsAddr(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.cfg.MetricsAddr = freeAddr(t)
	url, err := opsserver.ReadyURL(e.cfg.MetricsAddr)
	must(t, err)
	e.start(t)
	// Ready once its consumers are found and NATS, MongoDB and Redis answer.
	waitFor(t, 30*time.Second, func() bool { return opsserver.Probe(t.Context(), url) == nil })
}

// freeAddr is a loopback address free when it returns.
func freeAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	must(t, err)
	defer func() { must(t, ln.Close()) }()
	return ln.Addr().String()
}
