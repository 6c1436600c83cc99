package devstacktest_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartEmbedsEveryServer(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)

	servers := stack.Servers()
	if len(servers) != 3 {
		t.Fatalf("Servers() = %+v, want nats, mongo and redis", servers)
	}
	for _, s := range servers {
		if !accepts(t, s.URL) {
			t.Errorf("%s at %s does not accept connections", s.Name, s.URL)
		}
	}
}

func TestStartWithKeepsGivenURLs(t *testing.T) {
	t.Parallel()
	first := devstacktest.StartWith(t, devstack.Config{Redis: devstack.RedisMiniredis})
	second := devstacktest.StartWith(t, devstack.Config{NATSURL: first.NATSURL, MongoURI: first.MongoURI})

	if second.NATSURL != first.NATSURL || second.MongoURI != first.MongoURI {
		t.Errorf("StartWith replaced given URLs: got %s %s, want %s %s",
			second.NATSURL, second.MongoURI, first.NATSURL, first.MongoURI)
	}
	if s := second.Servers(); len(s) != 1 || s[0].Name != "redis" {
		t.Errorf("Servers() = %+v, want redis only", s)
	}
}

// accepts reports whether a TCP connection to the host of rawURL succeeds.
func accepts(t *testing.T, rawURL string) bool {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parsing %s: %v", rawURL, err)
	}
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(t.Context(), "tcp", u.Host)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
