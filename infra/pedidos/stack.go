// Package pedidos runs the whole of Pedidos in one process: for each of
// NATS_URL, MONGO_URI and REDIS_URL that is unset, the embedded server that
// stands in for it (NATS with JetStream, FerretDB, Redis), and the four
// services (control, generator, processor, api), wired once. The all-in-one
// binary of `make run` (cmd/pedidos) and the end-to-end tests both run
// Pedidos through it.
package pedidos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/infra/metrics"
	"github.com/pedidos/pedidos/infra/opsserver"
	"github.com/pedidos/pedidos/services/api"
	"github.com/pedidos/pedidos/services/control"
	"github.com/pedidos/pedidos/services/generator"
	"github.com/pedidos/pedidos/services/processor"
)

// Run starts the embedded servers getenv asks for and the four services,
// until ctx is cancelled or a service fails.
func Run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	embed, err := Embedded(getenv)
	if err != nil {
		return err
	}
	embed.Logger = log.With(slog.String("component", "devstack"))
	stack, err := devstack.Start(ctx, embed)
	if err != nil {
		return err
	}
	defer func() {
		if err := stack.Close(); err != nil {
			log.Error("stopping the embedded servers", slog.Any(logs.ErrorKey, err))
		}
	}()
	for _, s := range stack.Servers() {
		log.Info("embedded server", slog.String("name", s.Name), slog.String("kind", s.Kind),
			slog.String("url", s.URL), slog.Int("pid", s.PID))
	}
	services, err := Configure(ServersEnv(stack, getenv), log)
	if err != nil {
		return err
	}
	// The process's metrics: on the api's port (GET /metrics), and on
	// METRICS_ADDR when it is set.
	ops, err := opsserver.Start(ctx, opsserver.Config{Addr: getenv("METRICS_ADDR"), Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = ops.Stop(context.WithoutCancel(ctx)) }()
	ops.Handle("GET "+metrics.Path, metrics.Handler(services.Metrics))
	ops.SetReady()
	return services.Run(ctx)
}

// Embedded says which servers to embed, and where: each of NATS_URL,
// MONGO_URI and REDIS_URL that is unset is embedded under DATA_DIR, on the
// port EMBEDDED_NATS_PORT, EMBEDDED_MONGO_PORT or EMBEDDED_REDIS_PORT gives
// (4222, 27017 and 6379 by default; 0 picks a free one), and Redis is the
// one EMBEDDED_REDIS names (auto: redis-server from PATH, else miniredis).
func Embedded(getenv func(string) string) (devstack.Config, error) {
	cfg := devstack.Config{
		Dir:      getenv("DATA_DIR"),
		NATSURL:  getenv("NATS_URL"),
		MongoURI: getenv("MONGO_URI"),
		RedisURL: redisURL(getenv),
		Redis:    devstack.RedisMode(getenv("EMBEDDED_REDIS")),
	}
	if cfg.Dir == "" {
		cfg.Dir = "data"
	}
	switch cfg.Redis {
	case "auto":
		cfg.Redis = devstack.RedisAuto
	case devstack.RedisAuto, devstack.RedisServer, devstack.RedisMiniredis:
	default:
		return cfg, fmt.Errorf("EMBEDDED_REDIS=%q: want auto, redis-server or miniredis", cfg.Redis)
	}
	for _, p := range []struct {
		name string
		dst  *int
		def  int
	}{
		{"EMBEDDED_NATS_PORT", &cfg.NATSPort, 4222},
		{"EMBEDDED_MONGO_PORT", &cfg.MongoPort, 27017},
		{"EMBEDDED_REDIS_PORT", &cfg.RedisPort, 6379},
	} {
		*p.dst = p.def
		if s := getenv(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 65535 {
				return cfg, fmt.Errorf("%s=%q: want a port in [0, 65535]", p.name, s)
			}
			*p.dst = n
		}
	}
	return cfg, nil
}

// ServersEnv is getenv with the URLs of stack's servers (the embedded ones,
// or those getenv named): the environment the services read.
func ServersEnv(stack *devstack.Stack, getenv func(string) string) func(string) string {
	return func(key string) string {
		switch key {
		case "NATS_URL":
			return stack.NATSURL
		case "MONGO_URI":
			return stack.MongoURI
		case "REDIS_URL":
			return stack.RedisURL
		}
		return getenv(key)
	}
}

// Services are the configured services of one process: one control, and
// any number of generators, processors and apis (none runs with none).
type Services struct {
	Control    *control.Config
	Generators []generator.Config
	Processors []processor.Config
	APIs       []api.Config
	// Metrics is the process's Prometheus registry, which every service
	// registers its metrics in and the apis serve at GET /metrics.
	Metrics *prometheus.Registry
}

// Configure reads every service's configuration from env: one of each,
// logging to log with the service's name.
func Configure(env func(string) string, log *slog.Logger) (Services, error) {
	ctl, err := control.ConfigFromEnv(env)
	if err != nil {
		return Services{}, err
	}
	gen, err := generator.ConfigFromEnv(env)
	if err != nil {
		return Services{}, err
	}
	proc, err := processor.ConfigFromEnv(env)
	if err != nil {
		return Services{}, err
	}
	web, err := api.ConfigFromEnv(env)
	if err != nil {
		return Services{}, err
	}
	// One process, one METRICS_ADDR: the services' own ops servers would
	// all take it. Run serves the process's metrics there; the api's
	// health endpoints stand for the whole process.
	ctl.MetricsAddr, gen.MetricsAddr, proc.MetricsAddr = "", "", ""
	reg := metrics.NewRegistry()
	ctl.Metrics, gen.Metrics, proc.Metrics, web.Metrics = reg, reg, reg, reg
	ctl.Logger = log.With(slog.String("service", "control"))
	gen.Logger = log.With(slog.String("service", "generator"))
	proc.Logger = log.With(slog.String("service", "processor"))
	web.Logger = log.With(slog.String("service", "api"))
	log.Info("configuration", slog.Any("control", ctl), slog.Any("generator", gen),
		slog.Any("processor", proc), slog.Any("api", web))
	return Services{Control: &ctl, Generators: []generator.Config{gen}, Processors: []processor.Config{proc}, APIs: []api.Config{web}, Metrics: reg}, nil
}

// service is one service's Run with its configuration applied.
type service struct {
	name string
	run  func(context.Context) error
}

// list returns the services to run, named for the logs.
func (s Services) list() []service {
	var out []service
	if s.Control != nil {
		ctl := *s.Control
		out = append(out, service{"control", func(ctx context.Context) error { return control.Run(ctx, ctl) }})
	}
	for i, gen := range s.Generators {
		out = append(out, service{instanceName("generator", i, len(s.Generators)),
			func(ctx context.Context) error { return generator.Run(ctx, gen) }})
	}
	for i, proc := range s.Processors {
		out = append(out, service{instanceName("processor", i, len(s.Processors)),
			func(ctx context.Context) error { return processor.Run(ctx, proc) }})
	}
	for i, web := range s.APIs {
		out = append(out, service{instanceName("api", i, len(s.APIs)),
			func(ctx context.Context) error { return api.Run(ctx, web) }})
	}
	return out
}

// instanceName names instance i of n of a service.
func instanceName(name string, i, n int) string {
	if n == 1 {
		return name
	}
	return name + " " + strconv.Itoa(i)
}

// Run runs the services until ctx is cancelled or one of them fails, which
// stops the others, and returns every service's error.
func (s Services) Run(ctx context.Context) error {
	services := s.list()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(services))
	for _, svc := range services {
		go func() {
			err := svc.run(ctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", svc.name, err)
			} else if ctx.Err() == nil {
				err = fmt.Errorf("%s stopped on its own", svc.name)
			}
			errs <- err
			cancel()
		}()
	}
	var all []error
	for range services {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// WithProcessors returns s with n processors configured as its first. The
// first registers its metrics in the process's registry; the others, whose
// names would collide there, each in one of its own, which nothing serves.
func (s Services) WithProcessors(n int) Services {
	s.Processors = replicate(s.Processors[0], n, func(c *processor.Config, i int) {
		c.Logger = c.Logger.With(slog.Int("instance", i))
		if i > 0 {
			c.Metrics = metrics.NewRegistry()
		}
	})
	return s
}

// WithGenerators returns s with n generators configured as its first, their
// metrics registered as WithProcessors does.
func (s Services) WithGenerators(n int) Services {
	s.Generators = replicate(s.Generators[0], n, func(c *generator.Config, i int) {
		c.Logger = c.Logger.With(slog.Int("instance", i))
		if i > 0 {
			c.Metrics = metrics.NewRegistry()
		}
	})
	return s
}

// replicate returns n copies of first, each adapted to be instance i.
func replicate[C any](first C, n int, adapt func(c *C, i int)) []C {
	out := make([]C, n)
	for i := range out {
		out[i] = first
		adapt(&out[i], i)
	}
	return out
}

// redisURL returns REDIS_URL, or one built from REDIS_HOST/REDIS_PORT when
// either is set, or "" to embed Redis.
func redisURL(getenv func(string) string) string {
	if u := getenv("REDIS_URL"); u != "" {
		return u
	}
	host, port := getenv("REDIS_HOST"), getenv("REDIS_PORT")
	if host == "" && port == "" {
		return ""
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "6379"
	}
	return "redis://" + host + ":" + port
}
