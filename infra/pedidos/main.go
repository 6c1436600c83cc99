// Command pedidos runs the whole of Pedidos in one process, as `make run`
// does: the four services (control, generator, processor, api) and, for each
// of NATS_URL, MONGO_URI and REDIS_URL that is unset, the embedded server
// that stands in for it (NATS with JetStream, FerretDB, Redis) on its usual
// loopback port with its data under DATA_DIR.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/logs"
	"github.com/pedidos/pedidos/services/api"
	"github.com/pedidos/pedidos/services/control"
	"github.com/pedidos/pedidos/services/generator"
	"github.com/pedidos/pedidos/services/processor"
)

func main() {
	// The services' configuration depends on the embedded servers' URLs:
	// it is read and checked once they run.
	logs.Main("pedidos", func(getenv func(string) string) (func(context.Context, *slog.Logger) error, error) {
		return func(ctx context.Context, log *slog.Logger) error {
			if procs, changed := oversubscribe(getenv); changed {
				log.Info("GOMAXPROCS doubled, so that API requests do not wait behind batch work (set GOMAXPROCS to choose)", "gomaxprocs", procs)
			}
			return run(ctx, getenv, log)
		}, nil
	})
}

// run starts the embedded servers that getenv asks for and the four
// services, until ctx is cancelled or a service fails.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	if addr := getenv("PPROF_ADDR"); addr != "" {
		stop, err := servePprof(ctx, addr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	dir := getenv("DATA_DIR")
	if dir == "" {
		dir = "data"
	}
	stack, err := devstack.Start(ctx, devstack.Config{
		Dir:      dir,
		NATSPort: 4222, MongoPort: 27017, RedisPort: 6379,
		NATSURL:  getenv("NATS_URL"),
		MongoURI: getenv("MONGO_URI"),
		RedisURL: redisURL(getenv),
		Logger:   log.With("component", "devstack"),
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := stack.Close(); err != nil {
			log.Error("stopping the embedded servers", "err", err)
		}
	}()
	for _, s := range stack.Servers() {
		log.Info("embedded server", "name", s.Name, "kind", s.Kind, "url", s.URL, "pid", s.PID)
	}
	services, err := configure(serversEnv(stack, getenv), log)
	if err != nil {
		return err
	}
	return runAll(ctx, services, log)
}

// serversEnv is getenv with the URLs of stack's servers (the embedded ones,
// or those getenv named).
func serversEnv(stack *devstack.Stack, getenv func(string) string) func(string) string {
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

// service is one service's Run with its configuration applied.
type service struct {
	name string
	run  func(context.Context) error
}

// configure reads every service's configuration from env.
func configure(env func(string) string, log *slog.Logger) ([]service, error) {
	ctl, err := control.ConfigFromEnv(env)
	if err != nil {
		return nil, err
	}
	gen, err := generator.ConfigFromEnv(env)
	if err != nil {
		return nil, err
	}
	proc, err := processor.ConfigFromEnv(env)
	if err != nil {
		return nil, err
	}
	web, err := api.ConfigFromEnv(env)
	if err != nil {
		return nil, err
	}
	ctl.Logger = log.With("service", "control")
	gen.Logger = log.With("service", "generator")
	proc.Logger = log.With("service", "processor")
	web.Logger = log.With("service", "api")
	log.Info("configuration", "control", ctl, "generator", gen, "processor", proc, "api", web)
	return []service{
		{"control", func(ctx context.Context) error { return control.Run(ctx, ctl) }},
		{"generator", func(ctx context.Context) error { return generator.Run(ctx, gen) }},
		{"processor", func(ctx context.Context) error { return processor.Run(ctx, proc) }},
		{"api", func(ctx context.Context) error { return api.Run(ctx, web) }},
	}, nil
}

// runAll runs the services until ctx is cancelled or one of them fails,
// which stops the others.
func runAll(ctx context.Context, services []service, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(services))
	for _, s := range services {
		go func() {
			err := s.run(ctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", s.name, err)
			} else if ctx.Err() == nil {
				err = fmt.Errorf("%s stopped on its own", s.name)
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
	if len(all) > 0 {
		log.Error("stopped on an error", "err", all[0])
	}
	return errors.Join(all...)
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
