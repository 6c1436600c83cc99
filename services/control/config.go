package control

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

// IndexMode says whether control creates MongoDB's secondary indexes.
type IndexMode string

// Index modes (MONGO_INDEXES).
const (
	// IndexAuto creates them on MongoDB and skips them on FerretDB, whose
	// queries do not use them and whose inserts they slow down.
	IndexAuto IndexMode = "auto"
	// IndexAlways creates them whatever the server.
	IndexAlways IndexMode = "always"
	// IndexNever creates none.
	IndexNever IndexMode = "never"
)

// MaxReplicas is the largest NATS_REPLICAS: JetStream replicates a stream
// on at most five servers.
const MaxReplicas = 5

// Config configures the control service.
type Config struct {
	// NATSURL, MongoURI and RedisURL locate the servers (NATS_URL,
	// MONGO_URI, REDIS_URL or REDIS_HOST/REDIS_PORT). NATSURL may list
	// several servers of a cluster, comma-separated.
	NATSURL  string
	MongoURI string
	RedisURL string
	// MaxOrders is the largest run accepted (MAX_ORDERS).
	MaxOrders int64
	// ChunkSize is how many orders the generator builds and publishes at a
	// time (GENERATION_CHUNK_SIZE).
	ChunkSize int
	// Indexes says whether to create MongoDB secondary indexes (MONGO_INDEXES).
	Indexes IndexMode
	// BullState keeps the Bull 4 view of the queue in Redis, rebuilding it
	// when it is lost (BULL_STATE).
	BullState bool
	// Replicas is how many NATS servers hold each stream and the state
	// bucket (NATS_REPLICAS, 1 to MaxReplicas; 0 means 1). More than one
	// needs a JetStream cluster of at least that many servers. Control
	// applies it at start-up to existing streams too, so changing it and
	// restarting control scales them.
	Replicas int
	// MetricsAddr is where the service serves its ops endpoints, the
	// /health/live and /health/ready probes (METRICS_ADDR, e.g. ":9090");
	// "" serves none. The program's -healthcheck probes it.
	MetricsAddr string
	// Metrics is where control registers its Prometheus metrics: nil for a
	// registry of its own, served on MetricsAddr; services run in one
	// process share the process's, which its owner serves.
	Metrics *prometheus.Registry
	// Tick is how often the phase machine looks at a running run.
	Tick time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv reads the control service's configuration from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		NATSURL:   getenv("NATS_URL"),
		MongoURI:  getenv("MONGO_URI"),
		RedisURL:  redisURL(getenv),
		MaxOrders: 1_500_000,
		ChunkSize: 10_000,
		Indexes:   IndexAuto,
		BullState: true,
		Replicas:  1,
		Tick:      50 * time.Millisecond,
	}
	if cfg.NATSURL == "" {
		cfg.NATSURL = "nats://127.0.0.1:4222"
	}
	if cfg.MongoURI == "" {
		cfg.MongoURI = "mongodb://127.0.0.1:27017/"
	}
	if s := getenv("MAX_ORDERS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > 100_000_000 {
			return cfg, fmt.Errorf("MAX_ORDERS=%q: want an integer in [1, 100000000]", s)
		}
		cfg.MaxOrders = n
	}
	if s := getenv("GENERATION_CHUNK_SIZE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100_000 {
			return cfg, fmt.Errorf("GENERATION_CHUNK_SIZE=%q: want an integer in [1, 100000]", s)
		}
		cfg.ChunkSize = n
	}
	switch s := getenv("BULL_STATE"); s {
	case "", "true", "1":
	case "false", "0":
		cfg.BullState = false
	default:
		return cfg, fmt.Errorf("BULL_STATE=%q: want true or false", s)
	}
	if s := getenv("NATS_REPLICAS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxReplicas {
			return cfg, fmt.Errorf("NATS_REPLICAS=%q: want an integer in [1, %d]", s, MaxReplicas)
		}
		cfg.Replicas = n
	}
	if s := getenv("METRICS_ADDR"); s != "" {
		if err := opsserver.CheckAddr(s); err != nil {
			return cfg, fmt.Errorf("METRICS_ADDR=%q: %w", s, err)
		}
		cfg.MetricsAddr = s
	}
	switch m := IndexMode(getenv("MONGO_INDEXES")); m {
	case "":
	case IndexAuto, IndexAlways, IndexNever:
		cfg.Indexes = m
	default:
		return cfg, fmt.Errorf("MONGO_INDEXES=%q: want auto, always or never", m)
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
		slog.Int("nats_replicas", c.Replicas),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("mongo_uri", redactURL(c.MongoURI)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Int64("max_orders", c.MaxOrders),
		slog.Int("chunk_size", c.ChunkSize),
		slog.String("mongo_indexes", string(c.Indexes)),
		slog.Bool("bull_state", c.BullState),
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
