package generator

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
)

// Config configures the generator.
type Config struct {
	// NATSURL is the NATS server to publish to (NATS_URL).
	NATSURL string
	// PublishWindow bounds the asynchronous publishes awaiting their
	// JetStream ack (GENERATOR_PUBLISH_WINDOW).
	PublishWindow int
	// Logger receives the generator's logs; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv reads the generator's configuration from the environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{NATSURL: getenv("NATS_URL"), PublishWindow: 8192}
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
	return cfg, nil
}

// LogValue logs the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("nats_url", redactURL(c.NATSURL)),
		slog.Int("publish_window", c.PublishWindow),
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
