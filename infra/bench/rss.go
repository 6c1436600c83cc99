package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// userHZ is the unit of the CPU times of /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture Go runs on.
const userHZ = 100

// procMem is what /proc/<pid>/status says of a process's memory, in bytes.
type procMem struct {
	// RSS is the resident set size now (VmRSS).
	RSS int64
	// HWM is the peak resident set size over the process's life (VmHWM).
	HWM int64
}

// parseStatus reads VmRSS and VmHWM from the contents of /proc/<pid>/status.
func parseStatus(data []byte) (procMem, error) {
	var m procMem
	found := 0
	for line := range bytes.Lines(data) {
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		fields := bytes.Fields(value)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return m, fmt.Errorf("parsing %s: %q", key, bytes.TrimSpace(value))
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return m, fmt.Errorf("parsing %s: %w", key, err)
		}
		*dst = kb << 10
		found++
	}
	if found != 2 {
		return m, errors.New("no VmRSS or VmHWM (a kernel thread, or a zombie)")
	}
	return m, nil
}

// parseCPUTime returns the user plus system CPU time of a process from the
// contents of /proc/<pid>/stat.
func parseCPUTime(data []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'. After it come state (field 3), ...,
	// utime (14) and stime (15).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("parsing stat: no command name")
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("parsing stat: %d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// parseMachineBusy returns the CPU time all the machine's CPUs spent busy
// (neither idle nor waiting for I/O) from the contents of /proc/stat.
func parseMachineBusy(data []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return 0, fmt.Errorf("parsing /proc/stat: first line %q", line)
	}
	var ticks int64
	// user nice system idle iowait irq softirq steal: all but idle and
	// iowait (guest time is already in user).
	for i, f := range fields[1:9] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// readMachineBusy reads the machine's busy CPU time so far.
func readMachineBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(data)
}

// readMem reads the memory figures of process pid.
func readMem(pid int) (procMem, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procMem{}, err
	}
	return parseStatus(data)
}

// readCPUTime reads the CPU time process pid has used so far.
func readCPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseCPUTime(data)
}

// procStats is what the sampler saw of one process.
type procStats struct {
	PID int `json:"pid"`
	// PeakRSS is the largest VmRSS sampled.
	PeakRSS int64 `json:"peakRssBytes"`
	// HWM is VmHWM at the end: the kernel's peak, between samples too.
	HWM int64 `json:"hwmBytes"`
	// CPU is the CPU time (user + system) used while sampled.
	CPU     ms  `json:"cpuMs"`
	Samples int `json:"samples"`
	// Error says why a figure could not be read.
	Error string `json:"error,omitempty"`
}

// Peak returns the peak resident set size: VmHWM, or the largest sample
// if VmHWM could not be read.
func (p procStats) Peak() int64 { return max(p.HWM, p.PeakRSS) }

// sampler samples the resident set size of a few processes at a fixed
// interval, and measures the CPU time they and the whole machine use.
type sampler struct {
	pids      map[string]int
	cpuStart  map[string]time.Duration
	busyStart time.Duration
	stopCh    chan struct{}
	done      chan struct{}

	mu    sync.Mutex
	stats map[string]*procStats
}

// startSampler samples pids, by name, every interval until finish.
func startSampler(pids map[string]int, every time.Duration) *sampler {
	s := &sampler{
		pids:     pids,
		cpuStart: map[string]time.Duration{},
		stopCh:   make(chan struct{}),
		done:     make(chan struct{}),
		stats:    map[string]*procStats{},
	}
	for name, pid := range pids {
		s.stats[name] = &procStats{PID: pid}
		cpu, err := readCPUTime(pid)
		if err != nil {
			s.stats[name].Error = err.Error()
		}
		s.cpuStart[name] = cpu
	}
	s.busyStart, _ = readMachineBusy() // without /proc/stat, finish reports no machine figures
	s.sample()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stopCh:
				return
			case <-tick.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, pid := range s.pids {
		st := s.stats[name]
		m, err := readMem(pid)
		if err != nil {
			st.Error = err.Error()
			continue
		}
		st.PeakRSS = max(st.PeakRSS, m.RSS)
		st.Samples++
	}
}

// sampled is what a sampler saw.
type sampled struct {
	// Processes are the sampled processes, by name.
	Processes map[string]procStats `json:"processes"`
	// MachineBusy is the CPU time the machine spent busy meanwhile, all
	// CPUs together; Others is the part the sampled processes did not use:
	// other programs on the machine, which make the figures less reliable.
	MachineBusy ms `json:"machineBusyCpuMs"`
	Others      ms `json:"othersCpuMs"`
}

// finish stops sampling and returns, by name, what was seen, with VmHWM
// and the CPU time used since startSampler. Call it while the processes
// still run.
func (s *sampler) finish() sampled {
	close(s.stopCh)
	<-s.done
	s.sample()
	out := sampled{Processes: make(map[string]procStats, len(s.stats))}
	var ours time.Duration
	for name, st := range s.stats {
		pid := s.pids[name]
		if m, err := readMem(pid); err == nil {
			st.HWM = m.HWM
		}
		if cpu, err := readCPUTime(pid); err == nil {
			st.CPU = ms(cpu - s.cpuStart[name])
			ours += time.Duration(st.CPU)
		}
		out.Processes[name] = *st
	}
	if busy, err := readMachineBusy(); err == nil && s.busyStart > 0 {
		out.MachineBusy = ms(busy - s.busyStart)
		out.Others = ms(max(0, busy-s.busyStart-ours))
	}
	return out
}
