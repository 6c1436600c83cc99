package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultClusterNodes is the size of a NATSCluster when its config says 0:
// the smallest cluster that keeps a replicated stream writable with one
// server down.
const DefaultClusterNodes = 3

// NATSClusterConfig says how StartNATSCluster builds a cluster.
type NATSClusterConfig struct {
	// Dir is the data directory; node i stores its JetStream data under
	// Dir/nats-<i>. Required.
	Dir string
	// Host is the listen host of every node; "" means "127.0.0.1".
	Host string
	// Nodes is the number of servers; 0 means DefaultClusterNodes.
	Nodes int
	// Name is the cluster's name; "" means "pedidos".
	Name string
	// Logger receives the servers' logs, each with its server name; nil
	// discards them.
	Logger *slog.Logger
}

// NATSCluster is a JetStream cluster of in-process nats-servers on
// loopback, each routed to every other, on ports fixed at start so that a
// stopped node restarts where it was. It is what a test needs to create
// replicated streams and to lose and regain a server. Its methods may be
// called from any goroutine.
type NATSCluster struct {
	cfg         NATSClusterConfig
	clientPorts []int
	routePorts  []int

	mu      sync.Mutex
	servers []*server.Server // nil while stopped
}

// StartNATSCluster starts cfg.Nodes nats-servers with JetStream, routed to
// each other, and waits until the cluster has a JetStream meta leader that
// every node follows. ctx bounds the start-up only; the servers run until
// Close. On error, it stops what it started.
func StartNATSCluster(ctx context.Context, cfg NATSClusterConfig) (*NATSCluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("nats cluster: Dir is required")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = DefaultClusterNodes
	}
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("nats cluster: %d nodes", cfg.Nodes)
	}
	if cfg.Name == "" {
		cfg.Name = "pedidos"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	ports, err := freePorts(ctx, cfg.Host, 2*cfg.Nodes)
	if err != nil {
		return nil, fmt.Errorf("nats cluster: %w", err)
	}
	c := &NATSCluster{
		cfg:         cfg,
		clientPorts: ports[:cfg.Nodes],
		routePorts:  ports[cfg.Nodes:],
		servers:     make([]*server.Server, cfg.Nodes),
	}
	for i := range cfg.Nodes {
		if err := c.start(i); err != nil {
			return nil, errors.Join(err, c.Close())
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// URL is the client URL of every node, comma-separated, as NATS_URL takes
// them.
func (c *NATSCluster) URL() string { return strings.Join(c.URLs(), ",") }

// URLs are the client URLs of the nodes, in node order.
func (c *NATSCluster) URLs() []string {
	urls := make([]string, len(c.clientPorts))
	for i, p := range c.clientPorts {
		urls[i] = "nats://" + net.JoinHostPort(c.cfg.Host, strconv.Itoa(p))
	}
	return urls
}

// ServerName is the server name of node i, as stream info reports it.
func (c *NATSCluster) ServerName(i int) string { return c.cfg.Name + "-" + strconv.Itoa(i) }

// Stop shuts node i down, as a crash would for its clients; its data stays
// for Restart. Stopping a stopped node does nothing.
func (c *NATSCluster) Stop(i int) {
	c.mu.Lock()
	ns := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Restart starts node i again, on its ports and with its data, if it is
// stopped, and waits until it accepts clients. It does not wait for the
// node to catch up with its streams: see WaitReady.
func (c *NATSCluster) Restart(i int) error {
	c.mu.Lock()
	running := c.servers[i] != nil
	c.mu.Unlock()
	if running {
		return nil
	}
	return c.start(i)
}

// WaitReady waits until a JetStream meta leader is elected and every
// running node is current with it.
func (c *NATSCluster) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats cluster: no JetStream meta leader followed by every node: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Close stops every node. It is safe to call more than once.
func (c *NATSCluster) Close() error {
	for i := range c.servers {
		c.Stop(i)
	}
	return nil
}

// ready reports whether one running node leads the JetStream meta group
// and every running node is current.
func (c *NATSCluster) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	leader := false
	for _, ns := range c.servers {
		if ns == nil {
			continue
		}
		if !ns.JetStreamIsCurrent() {
			return false
		}
		leader = leader || ns.JetStreamIsLeader()
	}
	return leader
}

// start starts node i and waits until it accepts clients.
func (c *NATSCluster) start(i int) error {
	routes := make([]string, 0, len(c.routePorts)-1)
	for j, p := range c.routePorts {
		if j != i {
			routes = append(routes, "nats://"+net.JoinHostPort(c.cfg.Host, strconv.Itoa(p)))
		}
	}
	name := c.ServerName(i)
	opts := &server.Options{
		ServerName: name,
		Host:       c.cfg.Host,
		Port:       c.clientPorts[i],
		JetStream:  true,
		StoreDir:   filepath.Join(c.cfg.Dir, "nats-"+strconv.Itoa(i)),
		NoSigs:     true,
		Cluster: server.ClusterOpts{
			Name: c.cfg.Name,
			Host: c.cfg.Host,
			Port: c.routePorts[i],
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("starting nats %s: %w", name, err)
	}
	ns.SetLogger(natsLogger{c.cfg.Logger.With(slog.String("server", name))}, false, false)
	ns.Start()
	if !ns.ReadyForConnections(natsReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("starting nats %s: not ready for connections after %s", name, natsReadyTimeout)
	}
	c.mu.Lock()
	c.servers[i] = ns
	c.mu.Unlock()
	return nil
}

// freePorts returns n distinct TCP ports free on host now. They are held
// together while picked, then released for the servers to take: another
// process could take one in between, which a test on loopback does not
// expect.
func freePorts(ctx context.Context, host string, n int) ([]int, error) {
	var lc net.ListenConfig
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
