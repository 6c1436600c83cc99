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
func DecodeOrder(data []byte, o *Order) error {
	if err := json.Unmarshal(data, o); err != nil {
		return fmt.Errorf("%w: decoding: %w", ErrInvalidOrder, err)
	}
	return nil
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
