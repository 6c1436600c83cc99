package generator

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pedidos/pedidos/infra/opsserver"
)

// Config configures the generator.
type Config struct {
	// NATSURL is the NATS server to publish to (NATS_URL), or several
	// servers of a cluster, comma-separated.
	NATSURL string
	// RedisURL is the Redis server of the Bull view (REDIS_URL or
	// REDIS_HOST/REDIS_PORT).
	RedisURL string
	// BullState adds every order to the Bull 4 view of the queue in Redis
	// (BULL_STATE).
	BullState bool
	// PublishWindow bounds the asynchronous publishes awaiting their
	// JetStream ack (GENERATOR_PUBLISH_WINDOW).
	PublishWindow int
	// MetricsAddr is where the service serves its ops endpoints, the
	// /health/live and /health/ready probes (METRICS_ADDR, e.g. ":9090");
	// "" serves none. The program's -healthcheck probes it.
	MetricsAddr string
	// Metrics is where the generator registers its Prometheus metrics: nil
	// for a registry of its own, served on MetricsAddr; services run in one
	// process share the process's, which its owner serves.
	Metrics *prometheus.Registry
	// Logger receives the generator's logs; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv reads the generator's configuration from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{NATSURL: getenv("NATS_URL"), RedisURL: redisURL(getenv), BullState: true, PublishWindow: 8192}
	if cfg.NATSURL == "" {
		cfg.NATSURL = "nats://127.0.0.1:4222"
	}
	if s := getenv("GENERATOR_PUBLISH_WINDOW"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1<<20 {
			return cfg, fmt.Errorf("GENERATOR_PUBLISH_WINDOW=%q: want an integer in [1, 1048576]", s)
		}
		cfg.PublishWindow = n
	}
	if s := getenv("METRICS_ADDR"); s != "" {
		if err := opsserver.CheckAddr(s); err != nil {
			return cfg, fmt.Errorf("METRICS_ADDR=%q: %w", s, err)
		}
		cfg.MetricsAddr = s
	}
	switch s := getenv("BULL_STATE"); s {
	case "", "true", "1":
	case "false", "0":
		cfg.BullState = false
	default:
		return cfg, fmt.Errorf("BULL_STATE=%q: want true or false", s)
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
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Bool("bull_state", c.BullState),
		slog.Int("publish_window", c.PublishWindow),
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
