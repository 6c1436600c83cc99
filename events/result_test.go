package events

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestBatchResultRoundTrip(t *testing.T) {
	in := BatchResult{
		RunID: "r1", Priority: PriorityVIP, Processor: "p1",
		ProcessedAt: time.UnixMilli(1_700_000_000_000).UTC(), WrittenAt: time.UnixMilli(1_700_000_000_050).UTC(),
		Processed:  OrderKeys{OrderKey("a"), OrderKey("b"), 0, ^uint64(0)},
		Failed:     OrderKeys{OrderKey("c")},
		Duplicates: 1, Redelivered: 2,
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out BatchResult
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Processed, in.Processed) || !slices.Equal(out.Failed, in.Failed) || out.Retried != nil ||
		out.RunID != in.RunID || !out.ProcessedAt.Equal(in.ProcessedAt) || out.Duplicates != 1 || out.Redelivered != 2 {
		t.Errorf("round trip: %+v, want %+v (json %s)", out, in, data)
	}
	if err := out.Validate(); err != nil {
		t.Error(err)
	}
}

func TestOrderKeysRejectBadInput(t *testing.T) {
	for _, in := range []string{`"AAAA"`, `"!!"`, `12`} {
		var k OrderKeys
		if err := json.Unmarshal([]byte(in), &k); err == nil {
			t.Errorf("OrderKeys decoded %s: %v", in, k)
		}
	}
	for _, r := range []BatchResult{{Priority: PriorityVIP}, {RunID: "r", Priority: "X"}} {
		if r.Validate() == nil {
			t.Errorf("%+v validated", r)
		}
	}
}

func TestOrderKeyIsStable(t *testing.T) {
	// FNV-1a of "a": a change of hash would mismatch keys across versions.
	if got := OrderKey("a"); got != 0xaf63dc4c8601ec8c {
		t.Errorf("OrderKey(a) = %#x", got)
	}
}

func FuzzOrderKeys(f *testing.F) {
	f.Add([]byte(`"AAAAAAAAAAA="`))
	f.Add([]byte(`""`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var k OrderKeys
		if err := json.Unmarshal(data, &k); err != nil {
			return
		}
		again, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var k2 OrderKeys
		if err := json.Unmarshal(again, &k2); err != nil || !slices.Equal(k, k2) {
			t.Fatalf("re-decoding %s: %v %v", again, k2, err)
		}
	})
}

func TestGenerationRecordsEachChunkOnce(t *testing.T) {
	g := Generation{RunID: "r", Quantity: 25, ChunkSize: 10}
	tasks := g.Tasks()
	if len(tasks) != 3 || tasks[2].First() != 20 || tasks[2].N() != 5 || tasks[2].Validate() != nil {
		t.Fatalf("tasks = %+v", tasks)
	}
	now := time.Now()
	if !g.Record(2, ByPriority{VIP: 1, Normal: 4}, now) || g.Record(2, ByPriority{VIP: 1, Normal: 4}, now) {
		t.Fatal("chunk 2 recorded twice, or not at all")
	}
	g.Record(0, ByPriority{VIP: 3, Normal: 7}, now)
	if g.Done() || g.ChunksDone != 2 {
		t.Fatalf("after two chunks of three: %+v", g)
	}
	g.Record(1, ByPriority{VIP: 2, Normal: 8}, now)
	if !g.Done() || g.Published != (ByPriority{VIP: 6, Normal: 19}) {
		t.Fatalf("after every chunk: %+v", g)
	}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var back Generation
	if err := json.Unmarshal(data, &back); err != nil || !back.DoneChunks.Has(1) || back.DoneChunks.Has(3) || back.DoneChunks.Len() != 3 {
		t.Fatalf("round trip %s: %+v, %v", data, back, err)
	}
	if (ChunkTask{RunID: "r", Chunk: 3, Quantity: 25, ChunkSize: 10}).Validate() == nil {
		t.Error("a chunk past the run validated")
	}
}
