package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pedidos/pedidos/events"
)

// apiClient talks to the HTTP API of the services under measurement.
type apiClient struct {
	base   string // http://127.0.0.1:port
	apiKey string // sent as X-API-Key on POSTs when set
	http   *http.Client
}

// apiRequestTimeout bounds one request of the harness.
const apiRequestTimeout = 30 * time.Second

func newAPIClient(base, apiKey string) *apiClient {
	return &apiClient{base: base, apiKey: apiKey, http: &http.Client{Timeout: apiRequestTimeout}}
}

// status is what the harness reads of GET /pedidos.
type status struct {
	Phase            events.Phase      `json:"phase"`
	RunID            *string           `json:"runId"`
	Counts           events.ByPriority `json:"counts"`
	Failed           events.ByPriority `json:"failed"`
	GenerationTimeMs *int64            `json:"generationTimeMs"`
	TotalTimeMs      *int64            `json:"totalTimeMs"`
	Processing       struct {
		VIP    windowStatus `json:"vip"`
		Normal windowStatus `json:"normal"`
	} `json:"processing"`
	Progress struct {
		Target         int64 `json:"target"`
		Generated      int64 `json:"generated"`
		ProcessedTotal int64 `json:"processedTotal"`
	} `json:"progress"`
	Reason string `json:"reason"`
}

// windowStatus is one priority's processing window in GET /pedidos.
type windowStatus struct {
	TimeMs *int64 `json:"timeMs"`
	Count  int64  `json:"count"`
}

// do sends a request with ctx and returns the status code and body.
func (c *apiClient) do(ctx context.Context, method, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, http.NoBody)
	if err != nil {
		return 0, nil, err
	}
	if method == http.MethodPost && c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return resp.StatusCode, body, nil
}

// status reads GET /pedidos; raw is the answer as sent.
func (c *apiClient) status(ctx context.Context) (st status, raw json.RawMessage, err error) {
	code, body, err := c.do(ctx, http.MethodGet, "/pedidos")
	if err != nil {
		return st, nil, err
	}
	if code != http.StatusOK {
		return st, nil, fmt.Errorf("GET /pedidos: %d %s", code, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, nil, fmt.Errorf("GET /pedidos: %w", err)
	}
	return st, body, nil
}

// generate starts a run of n orders and returns its id.
func (c *apiClient) generate(ctx context.Context, n int64) (string, error) {
	path := "/pedidos/generate?quantity=" + strconv.FormatInt(n, 10)
	code, body, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return "", err
	}
	if code != http.StatusAccepted {
		return "", fmt.Errorf("POST %s: %d %s", path, code, body)
	}
	var answer struct {
		RunID string `json:"runId"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.RunID == "" {
		return "", fmt.Errorf("POST %s: answer %s without a runId (%w)", path, body, err)
	}
	return answer.RunID, nil
}

// post sends POST path and expects want.
func (c *apiClient) post(ctx context.Context, path string, want int) error {
	code, body, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("POST %s: %d %s", path, code, body)
	}
	return nil
}

// reset wipes the previous runs, as POST /pedidos/reset?force=true does.
func (c *apiClient) reset(ctx context.Context) error {
	const path = "/pedidos/reset?force=true"
	code, body, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, code, body)
	}
	return nil
}

// waitReady polls GET /pedidos/health/ready until it answers 200, the
// process exits, or timeout.
func (c *apiClient) waitReady(ctx context.Context, proc *child, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		code, body, err := c.do(ctx, http.MethodGet, "/pedidos/health/ready")
		switch {
		case err != nil:
			last = err
		case code == http.StatusOK:
			return nil
		default:
			last = fmt.Errorf("%d %s", code, body)
		}
		select {
		case <-proc.exited:
			return errors.Join(errors.New("the services exited before they were ready"), proc.exitError())
		case <-ctx.Done():
			return fmt.Errorf("waiting for GET /pedidos/health/ready: %w (last answer: %w)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}
