package control

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"
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

// Config configures the control service.
type Config struct {
	// NATSURL, MongoURI and RedisURL locate the servers (NATS_URL,
	// MONGO_URI, REDIS_URL or REDIS_HOST/REDIS_PORT).
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
	// Tick is how often the phase machine looks at a running run.
	Tick time.Duration
	// ReconcileAfter is how long the queues may be empty while the counters
	// still fall short before control recounts from MongoDB.
	ReconcileAfter time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv reads the control service's configuration from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		NATSURL:        getenv("NATS_URL"),
		MongoURI:       getenv("MONGO_URI"),
		RedisURL:       redisURL(getenv),
		MaxOrders:      1_500_000,
		ChunkSize:      10_000,
		Indexes:        IndexAuto,
		Tick:           50 * time.Millisecond,
		ReconcileAfter: 5 * time.Second,
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
		slog.String("nats_url", redactURL(c.NATSURL)),
		slog.String("mongo_uri", redactURL(c.MongoURI)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.Int64("max_orders", c.MaxOrders),
		slog.Int("chunk_size", c.ChunkSize),
		slog.String("mongo_indexes", string(c.Indexes)),
	)
}

// redactURL hides the password of a URL for logging.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
