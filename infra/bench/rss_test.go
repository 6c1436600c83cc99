package main

import (
	"os"
	"testing"
	"time"
)

// statusSample is an excerpt of a real /proc/<pid>/status.
const statusSample = `Name:	nats-server
Umask:	0022
State:	S (sleeping)
Tgid:	4242
VmPeak:	 1275340 kB
VmSize:	 1275340 kB
VmLck:	       0 kB
VmHWM:	  183412 kB
VmRSS:	  120004 kB
RssAnon:	   90000 kB
Threads:	12
`

func TestParseStatus(t *testing.T) {
	t.Parallel()
	m, err := parseStatus([]byte(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	if want := (procMem{RSS: 120004 << 10, HWM: 183412 << 10}); m != want {
		t.Errorf("parseStatus = %+v, want %+v", m, want)
	}
	for name, bad := range map[string]string{
		"kernel thread": "Name:\tkthreadd\nState:\tS (sleeping)\n",
		"no unit":       "VmHWM:\t12\nVmRSS:\t10\n",
		"not a number":  "VmHWM:\tlots kB\nVmRSS:\t10 kB\n",
	} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("%s: parseStatus(%q) succeeded", name, bad)
		}
	}
}

func TestParseCPUTime(t *testing.T) {
	t.Parallel()
	// utime 250 and stime 50 ticks; the command name holds spaces and a ')'.
	stat := "4242 (redis server) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 5 0 1000 1275340 30001"
	got, err := parseCPUTime([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Errorf("parseCPUTime = %v, want %v", got, want)
	}
	for _, bad := range []string{"4242 no parens S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 x 50 0"} {
		if _, err := parseCPUTime([]byte(bad)); err == nil {
			t.Errorf("parseCPUTime(%q) succeeded", bad)
		}
	}
}

func TestParseMachineBusy(t *testing.T) {
	t.Parallel()
	stat := "cpu  1000 10 300 9000 500 20 30 40 0 0\ncpu0 500 5 150 4500 250 10 15 20 0 0\n"
	got, err := parseMachineBusy([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 14 * time.Second; got != want { // 1000+10+300+20+30+40 ticks
		t.Errorf("parseMachineBusy = %v, want %v", got, want)
	}
	if _, err := parseMachineBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseMachineBusy of a file without the cpu line succeeded")
	}
}

func TestSamplerReadsThisProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc:", err)
	}
	s := startSampler(map[string]int{"self": os.Getpid()}, time.Millisecond)
	got := s.finish().Processes["self"]
	if got.Error != "" || got.PID != os.Getpid() || got.Samples < 2 || got.PeakRSS <= 0 || got.HWM < got.PeakRSS {
		t.Errorf("sampled %+v; want this process, sampled at least at start and end, 0 < RSS ≤ HWM", got)
	}
}
