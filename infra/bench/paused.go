package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// pausedResult is generation and publish measured alone: the queue paused
// before the run, so that nothing is processed meanwhile.
type pausedResult struct {
	RunID string `json:"runId"`
	// GenerationMs is the run's generationTimeMs: from its start until
	// every order is published and acknowledged, the Bull view included.
	GenerationMs int64       `json:"generationMs"`
	PerSec       float64     `json:"perSec"`
	Sampled      sampled     `json:"sampled"`
	Redis        redisMemory `json:"redis"`
}

// measurePaused generates n orders with the queue paused, on fresh servers
// under dir, and cancels the run once generation is done.
func (h *harness) measurePaused(ctx context.Context, n int64, dir string) (_ *pausedResult, err error) {
	servers, err := h.startServers(ctx, dir, "", serverNATS, serverMongo, serverRedis)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, servers.stop()) }()
	svc, api, err := h.startServices(ctx, kindProduct, servers, dir)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, svc.stop(servicesStopGrace)) }()
	if err := api.waitReady(ctx, svc, readyTimeout); err != nil {
		return nil, err
	}
	if err := api.post(ctx, "/pedidos/queue/pause", http.StatusOK); err != nil {
		return nil, err
	}
	smp := startSampler(withPID(servers.pids, "services", svc.pid()), sampleInterval)
	res := &pausedResult{}
	if res.RunID, err = api.generate(ctx, n); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.runTimeout(n))
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		st, _, err := api.status(ctx)
		if err == nil && st.GenerationTimeMs != nil && st.Progress.Generated == n {
			res.GenerationMs = *st.GenerationTimeMs
			break
		}
		select {
		case <-svc.exited:
			return res, errors.Join(errors.New("the services exited during generation"), svc.exitError())
		case <-ctx.Done():
			return res, fmt.Errorf("waiting for generation of run %s: %w", res.RunID, ctx.Err())
		case <-tick.C:
		}
	}
	res.Sampled = smp.finish()
	if res.GenerationMs > 0 {
		res.PerSec = float64(n) / (float64(res.GenerationMs) / 1000)
	}
	res.Redis = readRedisMemory(ctx, servers.urls[serverRedis])
	return res, api.post(ctx, "/pedidos/cancel?purge=true&removePending=true", http.StatusOK)
}
