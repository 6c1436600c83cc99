package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Tier is a customer tier. Tiers are drawn uniformly.
type Tier string

// The four tiers; DIAMANTE customers are VIP.
const (
	TierBronze   Tier = "BRONZE"
	TierPrata    Tier = "PRATA"
	TierOuro     Tier = "OURO"
	TierDiamante Tier = "DIAMANTE"
)

// Tiers lists every tier, in the order generators draw from.
var Tiers = [...]Tier{TierBronze, TierPrata, TierOuro, TierDiamante}

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool {
	switch t {
	case TierBronze, TierPrata, TierOuro, TierDiamante:
		return true
	}
	return false
}

// Priority returns the processing priority of a customer of tier t.
func (t Tier) Priority() Priority {
	if t == TierDiamante {
		return PriorityVIP
	}
	return PriorityNormal
}

// Priority decides which queue an order goes to.
type Priority string

// The two priorities: every VIP order is processed before any NORMAL one.
const (
	PriorityVIP    Priority = "VIP"
	PriorityNormal Priority = "NORMAL"
)

// Observacoes returns the note a processed order of priority p carries.
func (p Priority) Observacoes() string {
	if p == PriorityVIP {
		return "enviado com prioridade"
	}
	return "processado sem prioridade"
}

// Order statuses as stored in MongoDB.
const (
	StatusProcessed = "processado"
	StatusFailed    = "falhou"
)

// MaxValor is the largest order value the generator produces.
const MaxValor = 1000

// Order is a generated order as published on orders.vip / orders.normal.
// Its ID is the JetStream Nats-Msg-Id and the MongoDB _id.
type Order struct {
	ID        string    `json:"id"`
	RunID     string    `json:"runId"`
	Cliente   string    `json:"cliente"`
	Valor     float64   `json:"valor"`
	Tier      Tier      `json:"tier"`
	Priority  Priority  `json:"priority"`
	CreatedAt time.Time `json:"createdAt"`
}

// ErrInvalidOrder marks an order that can never be processed, whatever the
// number of attempts.
var ErrInvalidOrder = errors.New("invalid order")

// Validate reports why o cannot be processed, wrapping ErrInvalidOrder.
func (o *Order) Validate() error {
	switch {
	case o.ID == "":
		return fmt.Errorf("%w: empty id", ErrInvalidOrder)
	case o.RunID == "":
		return fmt.Errorf("%w: order %s: empty runId", ErrInvalidOrder, o.ID)
	case !o.Tier.Valid():
		return fmt.Errorf("%w: order %s: unknown tier %q", ErrInvalidOrder, o.ID, o.Tier)
	case o.Priority != o.Tier.Priority():
		return fmt.Errorf("%w: order %s: priority %q does not match tier %s", ErrInvalidOrder, o.ID, o.Priority, o.Tier)
	case math.IsNaN(o.Valor) || o.Valor < 0 || o.Valor > MaxValor:
		return fmt.Errorf("%w: order %s: valor %v out of [0, %d]", ErrInvalidOrder, o.ID, o.Valor, MaxValor)
	case o.CreatedAt.IsZero():
		return fmt.Errorf("%w: order %s: no createdAt", ErrInvalidOrder, o.ID)
	}
	return nil
}

// orderTimeLayout is the createdAt layout on the wire: UTC, milliseconds,
// the precision MongoDB keeps.
const orderTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends the JSON encoding of o to dst. It is the hot-path
// encoder; its output decodes with encoding/json into the same Order.
// String fields are escaped only when they need it, which generated orders
// never do.
func (o *Order) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, o.ID)
	dst = append(dst, `,"runId":`...)
	dst = appendString(dst, o.RunID)
	dst = append(dst, `,"cliente":`...)
	dst = appendString(dst, o.Cliente)
	dst = append(dst, `,"valor":`...)
	dst = strconv.AppendFloat(dst, o.Valor, 'f', -1, 64)
	dst = append(dst, `,"tier":`...)
	dst = appendString(dst, string(o.Tier))
	dst = append(dst, `,"priority":`...)
	dst = appendString(dst, string(o.Priority))
	dst = append(dst, `,"createdAt":"`...)
	dst = o.CreatedAt.UTC().AppendFormat(dst, orderTimeLayout)
	return append(dst, `"}`...)
}

// DecodeOrder decodes a payload of orders.vip / orders.normal into o.
// Payloads in exactly the form AppendJSON writes take a fast path; any other
// JSON goes through encoding/json, with the same result.
func DecodeOrder(data []byte, o *Order) error {
	if decodeCanonical(data, o) {
		return nil
	}
	*o = Order{}
	if err := json.Unmarshal(data, o); err != nil {
		return fmt.Errorf("%w: decoding: %w", ErrInvalidOrder, err)
	}
	return nil
}

// decodeCanonical decodes the exact form AppendJSON writes for generated
// orders: fields in order, plain ASCII strings without escapes, a value of
// at most two decimals, a createdAt in milliseconds. It reports false,
// leaving o in any state, for anything else.
func decodeCanonical(data []byte, o *Order) bool {
	r := reader{b: data}
	var tier, priority []byte
	ok := r.lit(`{"id":`) && r.str(&o.ID) &&
		r.lit(`,"runId":`) && r.str(&o.RunID) &&
		r.lit(`,"cliente":`) && r.str(&o.Cliente) &&
		r.lit(`,"valor":`) && r.cents(&o.Valor) &&
		r.lit(`,"tier":`) && r.raw(&tier) &&
		r.lit(`,"priority":`) && r.raw(&priority) &&
		r.lit(`,"createdAt":`) && r.time(&o.CreatedAt) &&
		r.lit(`}`) && r.i == len(r.b)
	if !ok {
		return false
	}
	o.Tier, o.Priority = Tier(intern(tier)), Priority(intern(priority))
	return true
}

// intern returns b as a string, without allocating when it is one of the
// tiers or priorities.
func intern(b []byte) string {
	for _, t := range Tiers {
		if string(b) == string(t) {
			return string(t)
		}
	}
	switch string(b) {
	case string(PriorityVIP):
		return string(PriorityVIP)
	case string(PriorityNormal):
		return string(PriorityNormal)
	}
	return string(b)
}

// reader walks a canonical order payload.
type reader struct {
	b []byte
	i int
}

func (r *reader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// raw reads a JSON string of printable ASCII without escapes.
func (r *reader) raw(dst *[]byte) bool {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return false
	}
	for j := r.i + 1; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			*dst = r.b[r.i+1 : j]
			r.i = j + 1
			return true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return false
		}
	}
	return false
}

func (r *reader) str(dst *string) bool {
	var b []byte
	if !r.raw(&b) {
		return false
	}
	*dst = string(b)
	return true
}

// cents reads a non-negative number with at most 7 integer digits and two
// decimals. Computed as cents/100, it is the float64 encoding/json parses:
// both are the double nearest to the decimal value.
func (r *reader) cents(dst *float64) bool {
	start, n := r.i, int64(0)
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' && r.i-start < 7 {
		n = n*10 + int64(r.b[r.i]-'0')
		r.i++
	}
	digits := r.i - start
	if digits == 0 || (digits > 1 && r.b[start] == '0') {
		return false
	}
	scale := int64(100)
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		frac := r.i
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' && r.i-frac < 2 {
			n = n*10 + int64(r.b[r.i]-'0')
			scale /= 10
			r.i++
		}
		if r.i == frac {
			return false
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E' || (r.b[r.i] >= '0' && r.b[r.i] <= '9')) {
		return false
	}
	*dst = float64(n*scale) / 100
	return true
}

// time reads a quoted UTC time in orderTimeLayout.
func (r *reader) time(dst *time.Time) bool {
	var b []byte
	if !r.raw(&b) || len(b) != len("2006-01-02T15:04:05.000Z") || b[len(b)-1] != 'Z' {
		return false
	}
	t, err := time.Parse(orderTimeLayout, string(b))
	if err != nil {
		return false
	}
	*dst = t
	return true
}

// appendString appends s as a JSON string, escaping through encoding/json
// only when s holds a byte that needs it.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
