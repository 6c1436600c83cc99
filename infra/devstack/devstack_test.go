package devstack_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/pedidos/pedidos/infra/devstack"
	"github.com/pedidos/pedidos/infra/devstack/devstacktest"
)

// childHelperEnv, when set, makes the test binary a helper process that
// starts a redis-server child, prints its pid and waits to be killed.
const childHelperEnv = "DEVSTACK_TEST_REDIS_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childHelperEnv); dir != "" {
		runChildHelper(dir)
		return
	}
	// No third-party goroutine needs ignoring: nats-server's
	// WaitForShutdown, FerretDB's Run and miniredis's Close wait for all of
	// theirs, provided clients disconnect before Close.
	goleak.VerifyTestMain(m)
}

// Fixed names used on every server: each test has its own stack.
const (
	testStream  = "DEVSTACK"
	testSubject = "devstack.test"
	testDB      = "devstack"
	testColl    = "docs"
)

func TestStartServesEachServer(t *testing.T) {
	t.Parallel()
	stack := devstacktest.Start(t)

	wantNames := []string{"nats", "mongo", "redis"}
	var names []string
	for _, s := range stack.Servers() {
		names = append(names, s.Name)
		if s.Name != "redis" && (s.Kind != devstack.KindInProcess || s.PID != os.Getpid()) {
			t.Errorf("%s: kind %q pid %d, want in-process in this process %d", s.Name, s.Kind, s.PID, os.Getpid())
		}
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("Servers() names = %v, want %v", names, wantNames)
	}

	t.Run("nats", func(t *testing.T) {
		t.Parallel()
		js := connectJetStream(t, stack.NATSURL)
		createStream(t, js)
		publish(t, js, "hello")
		if got := fetchAll(t, js); !slices.Equal(got, []string{"hello"}) {
			t.Errorf("fetched %q, want [hello]", got)
		}
	})
	t.Run("mongo", func(t *testing.T) {
		t.Parallel()
		coll := connectMongo(t, stack.MongoURI)
		insertDoc(t, coll, "order-1", 42)
		if n := findDoc(t, coll, "order-1"); n != 42 {
			t.Errorf("found n=%d, want 42", n)
		}
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		exerciseRedis(t, connectRedis(t, stack.RedisURL))
	})
}

func TestRedisModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode     devstack.RedisMode
		wantKind string
	}{
		{devstack.RedisMiniredis, devstack.KindInProcess},
		{devstack.RedisServer, devstack.KindChild},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			t.Parallel()
			if tc.mode == devstack.RedisServer {
				requireRedisServer(t)
			}
			stack := devstacktest.StartWith(t, redisOnly(tc.mode))
			servers := stack.Servers()
			if len(servers) != 1 || servers[0].Name != "redis" || servers[0].Kind != tc.wantKind {
				t.Fatalf("Servers() = %+v, want one redis of kind %s", servers, tc.wantKind)
			}
			if pid := servers[0].PID; tc.wantKind == devstack.KindChild && processName(pid) != "redis-server" {
				t.Errorf("pid %d is %q, want redis-server", pid, processName(pid))
			}
			exerciseRedis(t, connectRedis(t, stack.RedisURL))
		})
	}
}

func TestRedisServerExitingAtStartIsExplained(t *testing.T) {
	t.Parallel()
	requireRedisServer(t)
	cfg := redisOnly(devstack.RedisServer)
	cfg.Dir = t.TempDir()
	aofDir := filepath.Join(cfg.Dir, "redis", "appendonlydir")
	if err := os.MkdirAll(aofDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(aofDir, "appendonly.aof.manifest"), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	stack, err := devstack.Start(t.Context(), cfg)
	if err == nil {
		_ = stack.Close()
		t.Fatal("Start on a corrupt append-only file succeeded")
	}
	for _, want := range []string{"redis-server exited before accepting connections", "manifest"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestRedisAutoFallsBackToMiniredis(t *testing.T) { // not parallel: sets PATH
	t.Setenv("PATH", t.TempDir())

	stack := devstacktest.StartWith(t, redisOnly(devstack.RedisAuto))
	if kind := stack.Servers()[0].Kind; kind != devstack.KindInProcess {
		t.Errorf("without redis-server on PATH, redis kind = %q, want %q", kind, devstack.KindInProcess)
	}

	cfg := redisOnly(devstack.RedisServer)
	cfg.Dir = t.TempDir()
	_, err := devstack.Start(t.Context(), cfg)
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Start with RedisServer and no redis-server on PATH: error %v, want exec.ErrNotFound", err)
	}
}

func TestStartReportsPortInUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, wantURL string
		cfg           func(port int) devstack.Config
	}{
		{"nats", "NATS_URL=nats://127.0.0.1:%d", func(p int) devstack.Config {
			return devstack.Config{NATSPort: p, MongoURI: "mongodb://unused", RedisURL: "redis://unused"}
		}},
		{"mongo", "MONGO_URI=mongodb://127.0.0.1:%d/", func(p int) devstack.Config {
			return devstack.Config{MongoPort: p, NATSURL: "nats://unused", RedisURL: "redis://unused"}
		}},
		{"redis", "REDIS_URL=redis://127.0.0.1:%d", func(p int) devstack.Config {
			return devstack.Config{RedisPort: p, Redis: devstack.RedisMiniredis, NATSURL: "nats://unused", MongoURI: "mongodb://unused"}
		}},
		{"redis", "REDIS_URL=redis://127.0.0.1:%d", func(p int) devstack.Config {
			return devstack.Config{RedisPort: p, Redis: devstack.RedisServer, NATSURL: "nats://unused", MongoURI: "mongodb://unused"}
		}},
	} {
		cfg := tc.cfg(0)
		name := tc.name
		if cfg.Redis != devstack.RedisAuto {
			name += "/" + string(cfg.Redis)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if cfg.Redis == devstack.RedisServer {
				requireRedisServer(t)
			}
			port := occupyPort(t)
			cfg := tc.cfg(port)
			cfg.Dir = t.TempDir()

			stack, err := devstack.Start(t.Context(), cfg)
			if err == nil {
				_ = stack.Close()
				t.Fatal("Start on a port in use succeeded")
			}
			want := fmt.Sprintf("%s: port %d on 127.0.0.1 is already in use; stop what uses it or point Pedidos at that server with "+tc.wantURL,
				tc.name, port, port)
			if err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("errors.Is(%v, EADDRINUSE) = false", err)
			}
		})
	}
}

func TestStartStopsWhatItStartedOnError(t *testing.T) {
	t.Parallel()
	var logs logRecorder
	_, err := devstack.Start(t.Context(), devstack.Config{
		Dir:       t.TempDir(),
		MongoPort: occupyPort(t),
		RedisURL:  "redis://unused",
		Logger:    logs.logger(),
	})
	if err == nil || !strings.HasPrefix(err.Error(), "mongo: port") {
		t.Fatalf("Start with mongo's port in use: error %v, want mongo: port ...", err)
	}
	natsURL := logs.url("nats")
	if natsURL == "" {
		t.Fatal("nats was not started before mongo failed; the test proves nothing")
	}
	if nc, err := nats.Connect(natsURL, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Errorf("nats at %s still accepts connections after Start failed", natsURL)
	}
}

func TestCloseTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	stack, err := devstack.Start(t.Context(), devstack.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = stack.Close() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := stack.Close(); err != nil {
		t.Errorf("Close after Close: %v", err)
	}
	for _, s := range stack.Servers() {
		if isListening(t, s.URL) {
			t.Errorf("%s at %s still accepts connections after Close", s.Name, s.URL)
		}
		if s.Kind == devstack.KindChild && processName(s.PID) != "" {
			t.Errorf("%s child %d still running after Close", s.Name, s.PID)
		}
	}
}

func TestStartWithURLsStartsNothing(t *testing.T) {
	t.Parallel()
	cfg := devstack.Config{
		NATSURL:  "nats://nats.example:4222",
		MongoURI: "mongodb://mongo.example:27017/?replicaSet=rs0",
		RedisURL: "redis://redis.example:6379/2",
	}
	stack, err := devstack.Start(t.Context(), cfg) // no Dir: nothing to store
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if stack.NATSURL != cfg.NATSURL || stack.MongoURI != cfg.MongoURI || stack.RedisURL != cfg.RedisURL {
		t.Errorf("URLs = %q %q %q, want those of the config", stack.NATSURL, stack.MongoURI, stack.RedisURL)
	}
	if s := stack.Servers(); len(s) != 0 {
		t.Errorf("Servers() = %+v, want none", s)
	}
	if err := stack.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  devstack.Config
		want string
	}{
		{"no dir", devstack.Config{NATSURL: "nats://x", MongoURI: "mongodb://x"}, "config: Dir is required to embed redis"},
		{"redis mode", devstack.Config{Dir: "x", Redis: "valkey"}, `config: unknown redis mode "valkey"`},
		{"port", devstack.Config{Dir: "x", MongoPort: 70000}, "config: MongoPort 70000 out of [0, 65535]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := devstack.Start(t.Context(), tc.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	stack, err := devstack.Start(t.Context(), devstack.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	persistentRedis := stack.Servers()[2].Kind == devstack.KindChild
	js, nc := connectJetStreamConn(t, stack.NATSURL)
	createStream(t, js)
	publish(t, js, "kept")
	mc, coll := connectMongoClient(t, stack.MongoURI)
	insertDoc(t, coll, "kept", 7)
	rc := connectRedis(t, stack.RedisURL)
	if err := rc.HIncrBy(t.Context(), "pedidos:run:r1", "processed_vip", 3).Err(); err != nil {
		t.Fatalf("HINCRBY: %v", err)
	}
	// Clients go first: FerretDB waits up to 3 s for connected clients.
	nc.Close()
	if err := mc.Disconnect(t.Context()); err != nil {
		t.Fatalf("mongo Disconnect: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("redis Close: %v", err)
	}
	if err := stack.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	stack = devstacktest.StartWith(t, devstack.Config{Dir: dir})
	if got := fetchAll(t, connectJetStream(t, stack.NATSURL)); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("after restart, JetStream holds %q, want [kept]", got)
	}
	if n := findDoc(t, connectMongo(t, stack.MongoURI), "kept"); n != 7 {
		t.Errorf("after restart, document n=%d, want 7", n)
	}
	if !persistentRedis {
		t.Log("redis is miniredis, which keeps nothing: redis part skipped (install redis-server)")
		return
	}
	got, err := connectRedis(t, stack.RedisURL).HGet(t.Context(), "pedidos:run:r1", "processed_vip").Result()
	if err != nil || got != "3" {
		t.Errorf("after restart, HGET = %q, %v; want 3", got, err)
	}
}

// TestRedisChildDiesWithParent kills, with SIGKILL, a process that runs a
// stack, and checks that its redis-server child goes too.
func TestRedisChildDiesWithParent(t *testing.T) {
	t.Parallel()
	requireRedisServer(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childHelperEnv+"="+t.TempDir())
	stdin, err := cmd.StdinPipe() // held open: the helper waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close() }()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting helper: %v", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("reading the helper's redis pid: %v (got %q)", err, line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || processName(pid) != "redis-server" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper said %q: not the pid of a running redis-server", line)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("killing helper: %v", err)
	}
	_ = cmd.Wait() // killed: the error says so
	waitFor(t, 5*time.Second, func() bool { return processName(pid) == "" },
		"redis-server %d to die with its parent", pid)
}

// runChildHelper is the helper process of TestRedisChildDiesWithParent.
func runChildHelper(dir string) {
	stack, err := devstack.Start(context.Background(), devstack.Config{
		Dir: dir, NATSURL: "nats://unused", MongoURI: "mongodb://unused", Redis: devstack.RedisServer,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(stack.Servers()[0].PID)
	_, _ = io.Copy(io.Discard, os.Stdin) // until killed
	_ = stack.Close()
}

// BenchmarkMongoInsertMany measures FerretDB inserts the way processors
// write orders: unordered InsertMany of small documents, in batches of 1000.
func BenchmarkMongoInsertMany(b *testing.B) {
	const batch = 1000
	stack := devstacktest.StartWith(b, devstack.Config{Redis: devstack.RedisMiniredis})
	coll := connectMongo(b, stack.MongoURI)
	docs := make([]any, batch)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range docs {
			docs[i] = bson.D{
				{Key: "_id", Value: "order-" + strconv.Itoa(n)},
				{Key: "runId", Value: "bench"}, {Key: "valor", Value: 123.45},
				{Key: "status", Value: "processado"}, {Key: "processedAt", Value: time.Now()},
			}
			n++
		}
		if _, err := coll.InsertMany(b.Context(), docs, options.InsertMany().SetOrdered(false)); err != nil {
			b.Fatalf("InsertMany: %v", err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
}

// redisOnly is a Config that embeds Redis, in mode, and nothing else.
func redisOnly(mode devstack.RedisMode) devstack.Config {
	return devstack.Config{Redis: mode, NATSURL: "nats://unused", MongoURI: "mongodb://unused"}
}

func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH")
	}
}

// occupyPort listens on a random loopback port until the test ends.
func occupyPort(t *testing.T) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// isListening reports whether something accepts TCP connections at the
// host of rawURL.
func isListening(t *testing.T, rawURL string) bool {
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

// processName returns the command name of pid, or "" if no live process
// has it (a zombie counts as dead).
func processName(pid int) string {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	// pid (comm) state ...
	s := string(stat)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || strings.HasPrefix(s[closing+1:], " Z") {
		return ""
	}
	return s[open+1 : closing]
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for "+format, append([]any{d}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func connectJetStream(t testing.TB, natsURL string) jetstream.JetStream {
	t.Helper()
	js, nc := connectJetStreamConn(t, natsURL)
	t.Cleanup(nc.Close)
	return js
}

func connectJetStreamConn(t testing.TB, natsURL string) (jetstream.JetStream, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatalf("connecting to nats: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("jetstream: %v", err)
	}
	return js, nc
}

func createStream(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: testStream, Subjects: []string{testSubject}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		t.Fatalf("creating stream: %v", err)
	}
}

func publish(t testing.TB, js jetstream.JetStream, data string) {
	t.Helper()
	if _, err := js.Publish(t.Context(), testSubject, []byte(data)); err != nil {
		t.Fatalf("publishing: %v", err)
	}
}

// fetchAll fetches, through a fresh consumer, what the test stream holds.
func fetchAll(t testing.TB, js jetstream.JetStream) []string {
	t.Helper()
	cons, err := js.CreateOrUpdateConsumer(t.Context(), testStream, jetstream.ConsumerConfig{
		Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("creating consumer: %v", err)
	}
	batch, err := cons.FetchNoWait(10)
	if err != nil {
		t.Fatalf("fetching: %v", err)
	}
	var got []string
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data()))
		if err := msg.Ack(); err != nil {
			t.Errorf("ack: %v", err)
		}
	}
	if err := batch.Error(); err != nil {
		t.Fatalf("fetching: %v", err)
	}
	return got
}

func connectMongo(t testing.TB, uri string) *mongo.Collection {
	t.Helper()
	client, coll := connectMongoClient(t, uri)
	t.Cleanup(func() {
		if err := client.Disconnect(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("mongo Disconnect: %v", err)
		}
	})
	return coll
}

func connectMongoClient(t testing.TB, uri string) (*mongo.Client, *mongo.Collection) {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connecting to mongo: %v", err)
	}
	return client, client.Database(testDB).Collection(testColl)
}

func insertDoc(t testing.TB, coll *mongo.Collection, id string, n int) {
	t.Helper()
	if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: id}, {Key: "n", Value: n}}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
}

func findDoc(t testing.TB, coll *mongo.Collection, id string) int {
	t.Helper()
	var doc struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		t.Fatalf("FindOne %s: %v", id, err)
	}
	return doc.N
}

func connectRedis(t testing.TB, redisURL string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatalf("parsing %s: %v", redisURL, err)
	}
	// miniredis does not know CLIENT MAINT_NOTIFICATIONS; go-redis would log
	// its refusal.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// exerciseRedis checks SET/GET and a Lua script, what processors use.
func exerciseRedis(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("GET = %q, %v; want v", got, err)
	}
	const script = `redis.call('HINCRBY', KEYS[1], 'n', ARGV[1]); return redis.call('HGET', KEYS[1], 'n')`
	for _, want := range []string{"5", "10"} {
		got, err := c.Eval(ctx, script, []string{"h"}, 5).Text()
		if err != nil || got != want {
			t.Errorf("EVAL = %q, %v; want %s", got, err, want)
		}
	}
}

// logRecorder is a slog.Handler that remembers the URL of each embedded
// server Start reports as started.
type logRecorder struct {
	mu   sync.Mutex
	urls map[string]string
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(r) }

func (r *logRecorder) url(server string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.urls[server]
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	if attrs["server"] == "" || attrs["url"] == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.urls == nil {
		r.urls = map[string]string{}
	}
	r.urls[attrs["server"]] = attrs["url"]
	return nil
}
