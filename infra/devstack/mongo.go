package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ferretdbNewMu serialises ferretdb.New, which writes a process-wide
// variable (version.Get().Package) without a lock: two stacks started at
// once, as parallel tests do, are a data race. The variable being global,
// so is its lock; it is the only package-level state of devstack.
var ferretdbNewMu sync.Mutex

// startMongo runs FerretDB in-process with its SQLite backend under
// cfg.Dir/mongo, and waits until a MongoDB client can ping it.
func startMongo(ctx context.Context, cfg Config) (embedded, error) {
	if err := checkPort(ctx, "mongo", cfg.Host, cfg.MongoPort, "MONGO_URI", "mongodb", "/"); err != nil {
		return embedded{}, err
	}
	dir, err := filepath.Abs(filepath.Join(cfg.Dir, "mongo"))
	if err != nil {
		return embedded{}, fmt.Errorf("starting mongo: %w", err)
	}
	// FerretDB logs every connection at info, and every failed command at
	// warn with a dump of the response (endSessions, which it lacks, at each
	// client disconnect; every duplicate key): keep its errors only.
	logger := slog.New(minLevelHandler{min: slog.LevelError, inner: cfg.Logger.Handler()}).With(slog.String("server", "mongo"))
	// New listens right away, so with port 0 MongoDBURI knows the real port
	// once New returns; connections are served once Run runs.
	ferretdbNewMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.MongoPort))},
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: dir + "/"}).String(),
		Logger:    logger,
	})
	ferretdbNewMu.Unlock()
	if err != nil {
		return embedded{}, fmt.Errorf("starting mongo: %w", err)
	}

	// FerretDB runs until its ctx is cancelled; that ctx is cut from
	// Start's ctx so that only Close ends it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(runCtx); err != nil {
			logger.ErrorContext(runCtx, "ferretdb stopped", slog.Any("error", err))
		}
	}()
	stop := func() error {
		cancel()
		<-done
		return nil
	}

	uri := f.MongoDBURI()
	if err := pingMongo(ctx, uri); err != nil {
		return embedded{}, errors.Join(fmt.Errorf("starting mongo: %w", err), stop())
	}
	return embedded{
		Server: Server{Name: "mongo", Kind: KindInProcess, URL: uri, PID: os.Getpid()},
		stop:   stop,
	}, nil
}

// pingMongo connects to uri and pings it; the driver retries until ctx is
// done.
func pingMongo(ctx context.Context, uri string) (err error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", uri, err)
	}
	defer func() {
		if derr := client.Disconnect(context.WithoutCancel(ctx)); derr != nil && err == nil {
			err = fmt.Errorf("disconnecting from %s: %w", uri, derr)
		}
	}()
	if err := client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("pinging %s: %w", uri, err)
	}
	return nil
}
