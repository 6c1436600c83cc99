package processor

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/infra/opsserver"
)

// Config configures a processor instance.
type Config struct {
	// NATSURL, MongoURI and RedisURL locate the servers (NATS_URL,
	// MONGO_URI, REDIS_URL or REDIS_HOST/REDIS_PORT). NATSURL may list
	// several servers of a cluster, comma-separated.
	NATSURL  string
	MongoURI string
	RedisURL string
	// Concurrency is the number of batches in flight per priority, fetched
	// and waiting or being written (ORDERS_QUEUE_CONCURRENCY).
	Concurrency int
	// Writers bounds the batches written to MongoDB at once
	// (MONGO_WRITE_CONCURRENCY); the others wait, fetched, and can still be
	// handed back when control quiesces the processors.
	Writers int
	// BatchSize is the most orders fetched, written and acked together
	// (ORDERS_BATCH_SIZE).
	BatchSize int
	// MaxAttempts is how many deliveries an order gets before it is
	// recorded as failed (ORDERS_MAX_ATTEMPTS).
	MaxAttempts int
	// BullState keeps the Bull 4 view of the queue in Redis (BULL_STATE).
	BullState bool
	// KeepCompleted and KeepFailed bound the completed and failed jobs the
	// Bull view keeps, newest first (BULL_KEEP_COMPLETED, BULL_KEEP_FAILED).
	KeepCompleted int
	KeepFailed    int
	// MetricsAddr is where the service serves its ops endpoints, the
	// /health/live and /health/ready probes (METRICS_ADDR, e.g. ":9090");
	// "" serves none. The program's -healthcheck probes it.
	MetricsAddr string
	// Metrics is where the processor registers its Prometheus metrics:
	// nil for a registry of its own, served on MetricsAddr; services run in
	// one process share the process's, which its owner serves.
	Metrics *prometheus.Registry
	// FetchWait bounds how long one fetch waits for a full batch.
	FetchWait time.Duration
	// ShutdownTimeout bounds how long in-flight batches may take to finish
	// once Run's context is cancelled.
	ShutdownTimeout time.Duration
	// Logger receives the processor's logs; nil discards them.
	Logger *slog.Logger

	// discardWrites replaces MongoDB with a sink that drops every batch, to
	// measure the queue layer alone. Only a binary built with the
	// pedidosbench tag can set it (BENCH_DISCARD_WRITES); the product never
	// does this.
	discardWrites bool
}

// ConfigFromEnv reads the processor's configuration from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		NATSURL:         getenv("NATS_URL"),
		MongoURI:        getenv("MONGO_URI"),
		RedisURL:        redisURL(getenv),
		BullState:       true,
		FetchWait:       250 * time.Millisecond,
		ShutdownTimeout: 10 * time.Second,
	}
	if cfg.NATSURL == "" {
		cfg.NATSURL = "nats://127.0.0.1:4222"
	}
	if cfg.MongoURI == "" {
		cfg.MongoURI = "mongodb://127.0.0.1:27017/"
	}
	ints := []struct {
		name     string
		dst      *int
		def, max int
	}{
		{"ORDERS_QUEUE_CONCURRENCY", &cfg.Concurrency, 25, 1024},
		{"ORDERS_BATCH_SIZE", &cfg.BatchSize, 1000, 10000},
		{"MONGO_WRITE_CONCURRENCY", &cfg.Writers, 2, 256},
		{"ORDERS_MAX_ATTEMPTS", &cfg.MaxAttempts, 5, 100},
	}
	keeps := []struct {
		name string
		dst  *int
		def  int
	}{
		{"BULL_KEEP_COMPLETED", &cfg.KeepCompleted, 100},
		{"BULL_KEEP_FAILED", &cfg.KeepFailed, 10000},
	}
	for _, v := range keeps {
		*v.dst = v.def
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 10_000_000 {
				return cfg, fmt.Errorf("%s=%q: want an integer in [0, 10000000]", v.name, s)
			}
			*v.dst = n
		}
	}
	if s := getenv("METRICS_ADDR"); s != "" {
		if err := opsserver.CheckAddr(s); err != nil {
			return cfg, fmt.Errorf("METRICS_ADDR=%q: %w", s, err)
		}
		cfg.MetricsAddr = s
	}
	cfg.discardWrites = benchDiscardWrites(getenv)
	switch s := getenv("BULL_STATE"); s {
	case "", "true", "1":
	case "false", "0":
		cfg.BullState = false
	default:
		return cfg, fmt.Errorf("BULL_STATE=%q: want true or false", s)
	}
	for _, v := range ints {
		*v.dst = v.def
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > v.max {
			return cfg, fmt.Errorf("%s=%q: want an integer in [1, %d]", v.name, s, v.max)
		}
		*v.dst = n
	}
	return cfg, nil
}

// redisURL returns REDIS_URL, or a URL built from REDIS_HOST and REDIS_PORT.
func redisURL(getenv func(string) string) string {
	if u := getenv("REDIS_URL"); u != "" {
		return u
	}
	host, port := getenv("REDIS_HOST"), getenv("REDIS_PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "6379"
	}
	return "redis://" + host + ":" + port
}

// LogValue logs the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("nats_url", redactURLs(c.NATSURL)),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("mongo_uri", redactURL(c.MongoURI)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Int("concurrency", c.Concurrency),
		slog.Int("batch_size", c.BatchSize),
		slog.Int("writers", c.Writers),
		slog.Int("max_attempts", c.MaxAttempts),
		slog.Bool("bull_state", c.BullState),
		slog.Int("keep_completed", c.KeepCompleted),
		slog.Int("keep_failed", c.KeepFailed),
	)
}

// redactURLs hides the passwords of a comma-separated list of URLs, as
// NATS_URL may be, for logging.
func redactURLs(list string) string {
	urls := strings.Split(list, ",")
	for i, u := range urls {
		urls[i] = redactURL(strings.TrimSpace(u))
	}
	return strings.Join(urls, ",")
}

// redactURL hides the password of a URL for logging.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
