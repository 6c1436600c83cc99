package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pedidos/pedidos/events"
)

// startNATS starts a NATS server with JetStream for one test, and returns
// a connection to it and its JetStream with the LOGS stream created, as
// control creates it.
func startNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	nc := connect(t, s.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: events.StreamLogs, Subjects: []string{events.SubjectLogs}, MaxMsgsPerSubject: events.LogsPerSubject,
	})
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// streamLogger returns a logger of process that publishes on nc.
func streamLogger(t *testing.T, process string, nc *nats.Conn) *slog.Logger {
	t.Helper()
	log, closer, err := New(Config{Format: "json", Stream: true, Process: process}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	t.Cleanup(Publish(log, nc))
	return log
}

// following is a book that Follow fills until the test ends, and the
// lines Follow announced.
type following struct {
	*Book
	mu        sync.Mutex
	announced []Line
	stop      func()
}

func follow(t *testing.T, js jetstream.JetStream, size int) *following {
	t.Helper()
	f := &following{Book: NewBook(js, size)}
	f.start(t, js)
	return f
}

// start runs Follow, and waits until its consumer exists: Follow
// announces what is published from then on.
func (f *following) start(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	consumers := func() int {
		s, err := js.Stream(t.Context(), events.StreamLogs)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Consumers
	}
	before := consumers()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- f.Follow(ctx, func(l Line) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.announced = append(f.announced, l)
		})
	}()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Follow = %v", err)
			}
		})
	}
	t.Cleanup(f.stop)
	waitFor(t, "the book's consumer", func() bool { return consumers() > before })
}

func (f *following) announcedMsgs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var msgs []string
	for _, l := range f.announced {
		msgs = append(msgs, l.Process+":"+l.Msg)
	}
	return msgs
}

// tailMsgs returns process:msg of Tail's lines.
func tailMsgs(t *testing.T, b *Book, level slog.Level, n int) []string {
	t.Helper()
	lines, err := b.Tail(t.Context(), level, n)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range lines {
		msgs = append(msgs, l.Process+":"+l.Msg)
	}
	return msgs
}

func TestStreamCarriesRecordsToTheBook(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	book := follow(t, js, 3)
	control := streamLogger(t, "control", nc).With(slog.String("service", "control"))
	processor := streamLogger(t, "processor", nc)

	control.Debug("not kept anywhere but stdout")
	control.Info("run started", slog.Int("quantity", 10))
	processor.WithGroup("batch").Warn("slow write", slog.Int("ms", 1500))
	for i := range 4 {
		processor.Error(fmt.Sprintf("write failed %d", i))
	}
	control.Warn("slow advance")
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the records in the stream", func() bool { // core publishes reach the stream a moment later
		s, err := js.Stream(t.Context(), events.StreamLogs)
		return err == nil && s.CachedInfo().State.Msgs == 7
	})

	// Tail waits for the book to read what the stream holds.
	lines, err := book.Tail(t.Context(), slog.LevelInfo, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Process != "control" || lines[0].Msg != "run started" || lines[0].Level != slog.LevelInfo ||
		fmt.Sprint(lines[0].Attrs) != "map[quantity:10 service:control]" || time.Since(lines[0].Time) > time.Minute {
		t.Errorf("info lines = %+v", lines)
	}
	if got, want := tailMsgs(t, book.Book, slog.LevelWarn, 10), []string{"processor:slow write", "control:slow advance"}; !slices.Equal(got, want) {
		t.Errorf("warn lines = %q, want %q", got, want)
	}
	warns, _ := book.Tail(t.Context(), slog.LevelWarn, 1)
	if len(warns) != 1 || fmt.Sprint(warns[0].Attrs) != "map[batch:map[ms:1500]]" && warns[0].Msg != "slow advance" {
		t.Errorf("the last warn line = %+v", warns)
	}
	// The book keeps 3 lines per level.
	if got, want := tailMsgs(t, book.Book, slog.LevelError, 10), []string{"processor:write failed 1", "processor:write failed 2", "processor:write failed 3"}; !slices.Equal(got, want) {
		t.Errorf("error lines = %q, want the last 3: %q", got, want)
	}
	// Warnings and errors are announced as they come; info lines are not.
	want := []string{"processor:slow write", "processor:write failed 0", "processor:write failed 1", "processor:write failed 2",
		"processor:write failed 3", "control:slow advance"}
	if got := book.announcedMsgs(); !slices.Equal(got, want) {
		t.Errorf("announced %q, want %q", got, want)
	}
}

func TestBookSkipsWhatIsNoLogLine(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	book := follow(t, js, 10)
	for _, m := range []struct{ subject, data string }{
		{events.LogSubject("warn", "control"), "not json"},
		{events.LogSubject("warn", "control"), `{"time":"yesterday","level":"WARN","msg":"x"}`},
		{events.SubjectLogsPrefix + "warn", `{"time":"2026-12-08T01:00:00Z","level":"WARN","msg":"no process"}`},
		{events.LogSubject("warn", "control"), `{"time":"2026-12-08T01:00:00Z","level":"WARN","msg":"kept"}`},
	} {
		if err := nc.Publish(m.subject, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the records in the stream", func() bool {
		s, err := js.Stream(t.Context(), events.StreamLogs)
		return err == nil && s.CachedInfo().State.Msgs == 4
	})
	if got := tailMsgs(t, book.Book, slog.LevelWarn, 10); !slices.Equal(got, []string{"control:kept"}) {
		t.Errorf("warn lines = %q, want only the log line", got)
	}
}

func TestTruncateEmptiesEveryBook(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	log := streamLogger(t, "api", nc)
	one, other := follow(t, js, 10), follow(t, js, 10)
	log.Warn("before")
	waitFor(t, "the line in both books", func() bool {
		return len(tailMsgs(t, one.Book, slog.LevelWarn, 10)) == 1 && len(tailMsgs(t, other.Book, slog.LevelWarn, 10)) == 1
	})
	if err := one.Truncate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := tailMsgs(t, other.Book, slog.LevelWarn, 10); len(got) != 0 {
		t.Errorf("after another book truncated the stream, Tail = %q, want nothing", got)
	}
	log.Warn("after")
	waitFor(t, "the new line", func() bool {
		return slices.Equal(tailMsgs(t, other.Book, slog.LevelWarn, 10), []string{"api:after"})
	})
}

func TestFollowAgainAnnouncesOnlyNewLines(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	log := streamLogger(t, "api", nc)
	log.Warn("before the book")
	book := follow(t, js, 10)
	log.Warn("first")
	waitFor(t, "the first line", func() bool { return slices.Equal(book.announcedMsgs(), []string{"api:first"}) })
	book.stop()
	log.Warn("while stopped")
	book.start(t, js)
	log.Warn("second")
	waitFor(t, "the second line", func() bool { return len(book.announcedMsgs()) == 3 })
	if got, want := book.announcedMsgs(), []string{"api:first", "api:while stopped", "api:second"}; !slices.Equal(got, want) {
		t.Errorf("announced %q, want %q: each line once, none from before the book", got, want)
	}
	if got := tailMsgs(t, book.Book, slog.LevelWarn, 10); len(got) != 4 {
		t.Errorf("Tail = %q, want the 4 lines", got)
	}
}

func TestPublishOnTheFirstOpenConnection(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	book := follow(t, js, 10)
	first, second := connect(t, nc.ConnectedUrl()), connect(t, nc.ConnectedUrl())
	log := streamLogger(t, "pedidos", first)
	log.Warn("on the first connection")
	waitFor(t, "the line on the first connection", func() bool { return len(book.announcedMsgs()) == 1 })
	detach := Publish(log, second)
	first.Close() // the records go out on the next one attached
	log.Warn("on the second connection")
	waitFor(t, "the line on the second connection", func() bool { return len(book.announcedMsgs()) == 2 })
	detach()
	log.Warn("nowhere")
	log.Warn("nowhere either")
	Publish(log, second) // attached again: the next record goes out
	log.Warn("on the second connection again")
	waitFor(t, "the last line", func() bool { return len(book.announcedMsgs()) >= 3 })
	want := []string{"pedidos:on the first connection", "pedidos:on the second connection", "pedidos:on the second connection again"}
	if got := book.announcedMsgs(); !slices.Equal(got, want) {
		t.Errorf("announced %q, want %q", got, want)
	}
}
