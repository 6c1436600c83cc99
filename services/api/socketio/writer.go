package socketio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// RequestError is an Engine.IO request Serve refused, or the library
// refused: the caller answers it in its own error shape.
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// checkQuery refuses what no Socket.IO v4 client sends, before the library
// sees it: another protocol version (EIO), or another transport.
func checkQuery(r *http.Request) error {
	q := r.URL.Query()
	if v := q["EIO"]; len(v) != 1 || v[0] != "4" {
		return &RequestError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("EIO must be 4 (Engine.IO 4, Socket.IO v4 clients), got %q", strings.Join(v, ","))}
	}
	if v := q["transport"]; len(v) != 1 || v[0] != "polling" && v[0] != "websocket" {
		return &RequestError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("transport must be polling or websocket, got %q", strings.Join(v, ","))}
	}
	return nil
}

// errorWriter passes the library's answer through, except an error status
// and its body ({"code","message"}, Engine.IO's shape), which it keeps for
// Serve to return. The library writes an answer before the request's
// handler returns (it waits for it), so reading what was kept after is
// safe.
type errorWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *errorWriter) WriteHeader(code int) {
	if code >= http.StatusBadRequest {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes an answer that is not an error.
func (w *errorWriter) Flush() {
	if w.status == 0 {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Hijack hands the connection over for a websocket.
func (w *errorWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// err returns the error answer kept, or nil.
func (w *errorWriter) err() error {
	if w.status == 0 {
		return nil
	}
	var body struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(w.body.String())
	if json.Unmarshal(w.body.Bytes(), &body) == nil {
		msg = body.Message
	}
	if msg == "" {
		msg = http.StatusText(w.status)
	}
	return &RequestError{Status: w.status, Message: msg}
}
