package api

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// newConnGrace is how long shutdown waits for the first request on a
// connection that has sent none yet before closing it.
const newConnGrace = 500 * time.Millisecond

// unusedConns tracks the connections that have not sent a byte of a
// request yet (http.StateNew).
// http.Server.Shutdown waits up to 5 s for such a connection, in case its
// first request is on its way; browsers and Go's transport open them
// ahead of need (a preconnect, a dial that lost its race to a reused
// connection), so a shutdown would often last those 5 s for nothing.
// Shutdown closes them after newConnGrace instead: no request is cut, as
// none has begun on them.
type unusedConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track is the server's ConnState hook.
func (u *unusedConns) track(c net.Conn, state http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if state == http.StateNew {
		if u.conns == nil {
			u.conns = make(map[net.Conn]struct{})
		}
		u.conns[c] = struct{}{}
		return
	}
	delete(u.conns, c)
}

// closeAfterGrace closes, after newConnGrace or when done is closed
// (whichever is first; nothing once done is), the connections that still
// have sent no request.
func (u *unusedConns) closeAfterGrace(done <-chan struct{}) {
	t := time.NewTimer(newConnGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.conns {
		_ = c.Close() // the server sees it closed and forgets it
		delete(u.conns, c)
	}
}
