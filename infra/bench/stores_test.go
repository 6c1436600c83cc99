package main

import "testing"

func TestParseRedisMemory(t *testing.T) {
	t.Parallel()
	info := "# Memory\r\nused_memory:2655208\r\nused_memory_human:2.53M\r\nused_memory_peak:19268336\r\nused_memory_peak_human:18.38M\r\n"
	got := parseRedisMemory(info)
	want := redisMemory{Peak: 19268336, PeakHuman: "18.38M", Used: 2655208}
	if got != want {
		t.Errorf("parseRedisMemory = %+v, want %+v", got, want)
	}
	if got := parseRedisMemory("# Memory\r\n"); got.Error == "" {
		t.Errorf("parseRedisMemory of an answer without used_memory_peak = %+v, want an error", got)
	}
}
