package sse

import "github.com/tmaxmax/go-sse"

// entry is one phase event of the CONTROL stream, encoded once for every
// client.
type entry struct {
	seq uint64
	msg *sse.Message
}

// ring keeps the latest phase events, oldest first, for Last-Event-ID replay.
type ring struct {
	buf      []entry
	start, n int
}

func newRing(size int) *ring { return &ring{buf: make([]entry, size)} }

// push appends e, evicting the oldest entry when full.
func (r *ring) push(e entry) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) at(i int) entry { return r.buf[(r.start+i)%len(r.buf)] }

// last returns the newest entry.
func (r *ring) last() (entry, bool) {
	if r.n == 0 {
		return entry{}, false
	}
	return r.at(r.n - 1), true
}

// after returns the messages a client that saw seq has missed: every later
// entry, oldest first. A seq older than the ring gets all of it; a seq newer
// than the newest entry (the stream was re-created) gets the newest one, so
// that the client learns the current phase.
func (r *ring) after(seq uint64) []*sse.Message {
	newest, ok := r.last()
	if !ok {
		return nil
	}
	if seq > newest.seq {
		return []*sse.Message{newest.msg}
	}
	var out []*sse.Message
	for i := range r.n {
		if e := r.at(i); e.seq > seq {
			out = append(out, e.msg)
		}
	}
	return out
}

// reset empties the ring.
func (r *ring) reset() {
	clear(r.buf)
	r.start, r.n = 0, 0
}
