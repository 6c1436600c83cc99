package api

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/pedidos/pedidos/infra/logs"
)

func TestFormatLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
	for _, tt := range []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"no attributes", nil, "2026-11-27T12:00:00.123Z WARN processor slow write"},
		{"sorted by key", map[string]any{"orders": json.Number("500"), "attempt": json.Number("2")},
			"2026-11-27T12:00:00.123Z WARN processor slow write attempt=2 orders=500"},
		{"quoted strings", map[string]any{"err": "i/o timeout", "empty": "", "q": `say "hi"`, "eq": "a=b", "nl": "a\nb", "plain": "ok"},
			`2026-11-27T12:00:00.123Z WARN processor slow write empty="" eq="a=b" err="i/o timeout" nl="a\nb" plain=ok q="say \"hi\""`},
		{"groups", map[string]any{"run": map[string]any{"id": "r1", "phase": "DONE"}, "z": true},
			"2026-11-27T12:00:00.123Z WARN processor slow write run.id=r1 run.phase=DONE z=true"},
		{"null and lists", map[string]any{"none": nil, "ids": []any{"a", json.Number("1")}},
			`2026-11-27T12:00:00.123Z WARN processor slow write ids=["a",1] none=null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := logs.Line{Time: at, Level: slog.LevelWarn, Process: "processor", Msg: "slow write", Attrs: tt.attrs}
			if got := formatLine(l); got != tt.want {
				t.Errorf("formatLine = %q\n           want %q", got, tt.want)
			}
		})
	}
}
