package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pedidos/pedidos/events"
)

// ordersContractVersion is the version of GET /orders, as the original
// numbered it.
const ordersContractVersion = 2

// ordersAnswer is the answer of GET /orders, the original's "contract v2"
// status: GET /pedidos's fields, flattened as the original had them, with
// the state of this instance and the time of the answer. Durations are
// null until measured, as in GET /pedidos.
type ordersAnswer struct {
	ContractVersion     int               `json:"contractVersion"`
	Phase               events.Phase      `json:"phase"`
	RunID               *string           `json:"runId"`
	Target              int64             `json:"target"`
	Generated           int64             `json:"generated"`
	GenerationTimeMs    *int64            `json:"generationTimeMs"`
	EnqueueVIPTimeMs    *int64            `json:"enqueueVipTimeMs"`
	EnqueueNormalTimeMs *int64            `json:"enqueueNormalTimeMs"`
	Processing          ProcessingWindows `json:"processing"`
	// TotalTimeMs and WallClockElapsedMs are both the run's wall clock
	// (the original's totalTimeMs added up the phases).
	TotalTimeMs        *int64      `json:"totalTimeMs"`
	WallClockElapsedMs *int64      `json:"wallClockElapsedMs"`
	Counts             orderCounts `json:"counts"`
	Progress           Progress    `json:"progress"`
	Throughput         Throughput  `json:"throughput"`
	ETA                ETA         `json:"eta"`
	HighRes            highRes     `json:"highRes"`
	State              ordersState `json:"state"`
	// Timestamp is when the answer was made, in Unix milliseconds.
	Timestamp int64 `json:"timestamp"`
}

// orderCounts are the processed orders by priority, and both.
type orderCounts struct {
	VIP    int64 `json:"vip"`
	Normal int64 `json:"normal"`
	Total  int64 `json:"total"`
}

// highRes stands in for the original's TimingService snapshot, whose code
// was never published: the run's timeline, and the milliseconds it spent in
// each phase it went through before its end.
type highRes struct {
	Timeline []Mark                 `json:"timeline"`
	PhaseMs  map[events.Phase]int64 `json:"phaseMs"`
}

// ordersState is the original's view of its own process; here, of this
// api instance.
type ordersState struct {
	// MemoryPhase is the phase of the run, as this instance sees it.
	MemoryPhase events.Phase `json:"memoryPhase"`
	// Aborting: a cancel sent through this instance awaits control's
	// answer.
	Aborting bool `json:"aborting"`
	// HasActiveGeneration: a run is going.
	HasActiveGeneration bool `json:"hasActiveGeneration"`
}

// getOrders handles GET /orders (not under /pedidos, as in the original).
func (s *server) getOrders(c echo.Context) error {
	st, err := s.status(c.Request().Context())
	if err != nil {
		return err
	}
	now := time.Now()
	return c.JSON(http.StatusOK, ordersAnswer{
		ContractVersion:     ordersContractVersion,
		Phase:               st.Phase,
		RunID:               st.RunID,
		Target:              st.Progress.Target,
		Generated:           st.Progress.Generated,
		GenerationTimeMs:    st.GenerationTimeMs,
		EnqueueVIPTimeMs:    st.EnqueueVIPTimeMs,
		EnqueueNormalTimeMs: st.EnqueueNormalTimeMs,
		Processing:          st.Processing,
		TotalTimeMs:         st.TotalTimeMs,
		WallClockElapsedMs:  st.TotalTimeMs,
		Counts:              orderCounts{VIP: st.Counts.VIP, Normal: st.Counts.Normal, Total: st.Counts.Total()},
		Progress:            st.Progress,
		Throughput:          st.Throughput,
		ETA:                 st.ETA,
		HighRes:             highRes{Timeline: st.Timeline, PhaseMs: phaseMs(st.Timeline, now)},
		State: ordersState{
			MemoryPhase:         st.Phase,
			Aborting:            s.aborting.Load() > 0,
			HasActiveGeneration: st.Phase.Active(),
		},
		Timestamp: now.UnixMilli(),
	})
}

// phaseMs returns how long a timeline spent in each phase: until the next
// mark, or until now for the current phase of a run still going. A phase
// that ends a run has no duration.
func phaseMs(timeline []Mark, now time.Time) map[events.Phase]int64 {
	out := map[events.Phase]int64{}
	for i, m := range timeline {
		if m.Phase.Terminal() {
			continue
		}
		end := now
		if i+1 < len(timeline) {
			end = timeline[i+1].At.Time
		}
		out[m.Phase] = max(end.Sub(m.At.Time).Milliseconds(), 0)
	}
	return out
}
