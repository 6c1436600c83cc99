package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redis/go-redis/v9"
)

// Defaults of the configuration.
const (
	DefaultPort      = 3000
	DefaultNATSURL   = "nats://127.0.0.1:4222"
	DefaultMongoURI  = "mongodb://127.0.0.1:27017/"
	DefaultRedisHost = "127.0.0.1"
	DefaultRedisPort = 6379
	DefaultMaxOrders = 1_500_000
)

// Config is the configuration of the api service.
type Config struct {
	// Port is the HTTP port (PORT), used when Listener is nil.
	Port int
	// Listener, when set, is where Run serves instead of :Port. Tests and
	// the all-in-one binary pass one.
	Listener net.Listener
	// Metrics is the registry the api registers its Prometheus metrics in
	// and serves at GET /metrics: nil for a registry of its own; in the
	// all-in-one binary, the process's, which every service shares.
	Metrics *prometheus.Registry
	// NATSURL is the NATS server list, comma-separated (NATS_URL).
	NATSURL string
	// MongoURI is the MongoDB connection string (MONGO_URI).
	MongoURI string
	// RedisURL is the Redis URL (REDIS_URL, else built from REDIS_HOST and
	// REDIS_PORT).
	RedisURL string
	// MaxOrders is the largest quantity a run may ask for (MAX_ORDERS).
	MaxOrders int64
	// CORSOrigins are the origins allowed by CORS (CORS_ORIGINS,
	// comma-separated); "*" allows any.
	CORSOrigins []string
	// Logs says that the services publish their log lines on the LOGS
	// stream (BACKEND_LOGS, default true; see infra/logs): GET
	// /pedidos/logs serves them, the event streams send their warnings,
	// cancel and reset remove them. False serves none.
	Logs bool
	// APIKey, when set, is the key every mutating request must carry in
	// its X-API-Key header (API_KEY).
	APIKey string
	// PathPrefix, when set, is the path every route is served under, the
	// dashboard (PathPrefix + "/") and the API (PathPrefix + "/pedidos")
	// alike, for a reverse proxy that forwards a sub-path such as /ops
	// without stripping it (PATH_PREFIX). It starts with a slash and does
	// not end with one; "" serves from the root.
	PathPrefix string
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv reads the configuration from getenv, fills in defaults and
// validates it. Every invalid variable is reported, each by name.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Port:        DefaultPort,
		NATSURL:     DefaultNATSURL,
		MongoURI:    DefaultMongoURI,
		MaxOrders:   DefaultMaxOrders,
		CORSOrigins: []string{"*"},
	}
	var errs []error
	fail := func(name, value, why string) {
		errs = append(errs, fmt.Errorf("%s=%q: %s", name, value, why))
	}

	if v := getenv("PORT"); v != "" {
		p, err := parsePort(v)
		if err != nil {
			fail("PORT", v, err.Error())
		}
		cfg.Port = p
	}
	if v := getenv("NATS_URL"); v != "" {
		cfg.NATSURL = v
	}
	if err := checkURLs(cfg.NATSURL, "nats", "tls", "ws", "wss"); err != nil {
		fail("NATS_URL", redactURLs(cfg.NATSURL), err.Error())
	}
	if v := getenv("MONGO_URI"); v != "" {
		cfg.MongoURI = v
	}
	if err := checkURL(cfg.MongoURI, "mongodb", "mongodb+srv"); err != nil {
		fail("MONGO_URI", redactURLs(cfg.MongoURI), err.Error())
	}
	redisURL, name, err := redisURLFromEnv(getenv)
	cfg.RedisURL = redisURL
	if err != nil {
		fail(name, redactURLs(getenv(name)), err.Error())
	}
	if v := getenv("MAX_ORDERS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			fail("MAX_ORDERS", v, "want a positive integer")
		}
		cfg.MaxOrders = n
	}
	if v := getenv("CORS_ORIGINS"); v != "" {
		origins, err := parseOrigins(v)
		if err != nil {
			fail("CORS_ORIGINS", v, err.Error())
		}
		cfg.CORSOrigins = origins
	}
	switch v := getenv("BACKEND_LOGS"); v {
	case "", "true", "1":
		cfg.Logs = true
	case "false", "0":
	default:
		fail("BACKEND_LOGS", v, "want true or false")
	}
	cfg.APIKey = getenv("API_KEY")
	if v := getenv("PATH_PREFIX"); v != "" {
		prefix, err := parsePathPrefix(v)
		if err != nil {
			fail("PATH_PREFIX", v, err.Error())
		}
		cfg.PathPrefix = prefix
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// ReadyPath is the path of the readiness probe, GET /pedidos/health/ready
// under PathPrefix: what the program's -healthcheck asks.
func (c Config) ReadyPath() string { return c.PathPrefix + "/pedidos/health/ready" }

// LogValue logs c with the credentials of its URLs masked.
func (c Config) LogValue() slog.Value {
	addr := ":" + strconv.Itoa(c.Port)
	if c.Listener != nil {
		addr = c.Listener.Addr().String()
	}
	return slog.GroupValue(
		slog.String("addr", addr),
		slog.String("nats_url", redactURLs(c.NATSURL)),
		slog.String("mongo_uri", redactURLs(c.MongoURI)),
		slog.String("redis_url", redactURLs(c.RedisURL)),
		slog.Int64("max_orders", c.MaxOrders),
		slog.String("cors_origins", strings.Join(c.CORSOrigins, ",")),
		slog.Bool("logs", c.Logs),
		slog.String("api_key", mask(c.APIKey)),
		slog.String("path_prefix", c.PathPrefix),
	)
}

// mask hides a secret, saying only whether it is set.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "xxxxx"
}

// withDefaults fills in what a Config built by hand may leave out.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxOrders <= 0 {
		c.MaxOrders = DefaultMaxOrders
	}
	if len(c.CORSOrigins) == 0 {
		c.CORSOrigins = []string{"*"}
	}
	c.PathPrefix = strings.TrimRight(c.PathPrefix, "/")
	return c
}

// parsePathPrefix checks a path prefix and returns it without its trailing
// slash: "/" is no prefix, "/ops/" is "/ops". Each segment is made of
// letters, digits and -._~ (no "." or ".." segment), so that the prefix
// needs no escaping in a URL or a route.
func parsePathPrefix(s string) (string, error) {
	const want = "want a path such as /ops: segments of letters, digits and -._~"
	if !strings.HasPrefix(s, "/") {
		return "", errors.New(want)
	}
	prefix := strings.TrimSuffix(s, "/")
	if prefix == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(prefix[1:], "/") {
		if seg == "" || seg == "." || seg == ".." || strings.TrimFunc(seg, isPathChar) != "" {
			return "", errors.New(want)
		}
	}
	return prefix, nil
}

// isPathChar reports whether r may appear in a path segment unescaped
// (RFC 3986 unreserved characters).
func isPathChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, errors.New("want a port number in [1, 65535]")
	}
	return p, nil
}

// redisURLFromEnv returns REDIS_URL, or the URL built from REDIS_HOST and
// REDIS_PORT, and the name of the variable an error is about.
func redisURLFromEnv(getenv func(string) string) (u, name string, err error) {
	if v := getenv("REDIS_URL"); v != "" {
		if _, err := redis.ParseURL(v); err != nil {
			return v, "REDIS_URL", errors.New("want redis://[user:password@]host:port[/db], rediss://… or unix://…")
		}
		return v, "", nil
	}
	host := getenv("REDIS_HOST")
	if host == "" {
		host = DefaultRedisHost
	}
	port := DefaultRedisPort
	if v := getenv("REDIS_PORT"); v != "" {
		p, err := parsePort(v)
		if err != nil {
			return "", "REDIS_PORT", err
		}
		port = p
	}
	u = "redis://" + net.JoinHostPort(host, strconv.Itoa(port))
	if _, err := redis.ParseURL(u); err != nil {
		return "", "REDIS_HOST", errors.New("want a host name or IP address")
	}
	return u, "", nil
}

// checkURLs checks that list is a comma-separated list of URLs, each with one
// of the given schemes and a host.
func checkURLs(list string, schemes ...string) error {
	for u := range strings.SplitSeq(list, ",") {
		if err := checkURL(strings.TrimSpace(u), schemes...); err != nil {
			return err
		}
	}
	return nil
}

// checkURL checks that u has one of the given schemes and a host. Multi-host
// MongoDB URIs are not URLs url.Parse accepts: it checks only that hosts
// follow the credentials.
func checkURL(u string, schemes ...string) error {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || !containsFold(schemes, scheme) {
		return fmt.Errorf("want a URL with scheme %s", strings.Join(schemes, " or "))
	}
	authority, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if authority == "" {
		return errors.New("want a host")
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// parseOrigins splits a comma-separated origin list; each is "*" or a
// scheme://host[:port] origin (echo also accepts wildcards in the host).
func parseOrigins(s string) ([]string, error) {
	var origins []string
	for o := range strings.SplitSeq(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			return nil, errors.New("empty origin in list")
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return nil, fmt.Errorf("origin %q: want * or scheme://host[:port]", o)
			}
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// redactURLs masks the credentials of every URL of a comma-separated list:
// the password of user:password, or the whole user info when it is a bare
// token (NATS token authentication).
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = redactURL(p)
	}
	return strings.Join(parts, ",")
}

func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return u
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	masked := "xxxxx"
	if hasPassword {
		masked = user + ":xxxxx"
	}
	out := scheme + "://" + masked + authority[at:]
	if hasPath {
		out += "/" + path
	}
	return out
}
