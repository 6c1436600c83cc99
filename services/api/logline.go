package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/pedidos/pedidos/infra/logs"
)

// formatLine formats a log line as one line of text, the way GET
// /pedidos/logs lists them for the original's clients:
//
//	2026-11-27T12:00:00.123Z WARN processor slow write orders=500 err="i/o timeout"
//
// time (ISO-8601 UTC, milliseconds), level, process, message, then the
// attributes as key=value sorted by key, a group's as group.key=value. A
// string that is empty or holds a space, a quote, an equals sign or a
// control character is quoted; a list is JSON.
func formatLine(l logs.Line) string {
	var b strings.Builder
	b.WriteString(l.Time.UTC().Format(timeLayout))
	b.WriteByte(' ')
	b.WriteString(l.Level.String())
	b.WriteByte(' ')
	b.WriteString(l.Process)
	b.WriteByte(' ')
	b.WriteString(l.Msg)
	appendAttrs(&b, "", l.Attrs)
	return b.String()
}

// appendAttrs writes the attributes of attrs, under prefix, sorted by key.
func appendAttrs(b *strings.Builder, prefix string, attrs map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if group, ok := attrs[k].(map[string]any); ok {
			appendAttrs(b, prefix+k+".", group)
			continue
		}
		b.WriteByte(' ')
		b.WriteString(prefix)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(formatValue(attrs[k]))
	}
}

// formatValue formats one attribute value as decoded from JSON.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if needsQuote(v) {
			return strconv.Quote(v)
		}
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// needsQuote reports whether s must be quoted to read as one value.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
