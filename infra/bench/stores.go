package main

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// redisMemory is what Redis's INFO memory says at the end of a run.
type redisMemory struct {
	// Peak is used_memory_peak: since the server started, so it covers
	// earlier runs on a server given on the command line.
	Peak      int64  `json:"usedMemoryPeakBytes"`
	PeakHuman string `json:"usedMemoryPeakHuman"`
	Used      int64  `json:"usedMemoryBytes"`
	Error     string `json:"error,omitempty"`
}

// readRedisMemory reads INFO memory from the Redis at url. A server that
// has no INFO (miniredis) leaves Error set.
func readRedisMemory(ctx context.Context, url string) redisMemory {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return redisMemory{Error: err.Error()}
	}
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	rdb := redis.NewClient(opts)
	defer func() { _ = rdb.Close() }() // nothing to flush after a read
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return redisMemory{Error: fmt.Sprintf("INFO memory: %v", err)}
	}
	return parseRedisMemory(info)
}

// parseRedisMemory reads the answer of INFO memory.
func parseRedisMemory(info string) redisMemory {
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	var m redisMemory
	var err error
	if m.Peak, err = strconv.ParseInt(fields["used_memory_peak"], 10, 64); err != nil {
		m.Error = "INFO memory: no used_memory_peak"
	}
	m.Used, _ = strconv.ParseInt(fields["used_memory"], 10, 64) // 0 if missing
	m.PeakHuman = fields["used_memory_peak_human"]
	return m
}

// mongoSize is the size of the database of Pedidos at the end of a run.
type mongoSize struct {
	// DataSize, StorageSize and TotalSize are dbStats's (0 if it failed).
	DataSize    int64 `json:"dataSizeBytes"`
	StorageSize int64 `json:"storageSizeBytes"`
	TotalSize   int64 `json:"totalSizeBytes"`
	// Disk is the size of the embedded server's data directory, or 0.
	Disk  int64  `json:"diskBytes"`
	Error string `json:"error,omitempty"`
}

// readMongoSize asks db for dbStats and measures dir, if any.
func readMongoSize(ctx context.Context, db *mongo.Database, dir string) mongoSize {
	var m mongoSize
	var stats bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "dbStats", Value: 1}}).Decode(&stats); err != nil {
		m.Error = fmt.Sprintf("dbStats: %v", err)
	} else {
		m.DataSize, m.StorageSize, m.TotalSize = number(stats["dataSize"]), number(stats["storageSize"]), number(stats["totalSize"])
	}
	if dir != "" {
		var err error
		if m.Disk, err = dirSize(dir); err != nil {
			m.Error = strings.TrimPrefix(m.Error+"; ", "; ") + err.Error()
		}
	}
	return m
}

// number converts a BSON number to an int64; anything else is 0.
func number(v any) int64 {
	switch n := v.(type) {
	case int32:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

// dirSize returns the bytes the regular files under dir take.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", dir, err)
	}
	return total, nil
}
