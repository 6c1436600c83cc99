package events

import (
	"regexp"
	"testing"
	"time"
)

// TestNames checks every name against what NATS accepts where it is used, and
// that no two names collide.
func TestNames(t *testing.T) {
	t.Parallel()
	subject := regexp.MustCompile(`^[a-z]+(\.[a-z]+)+$`)
	stream := regexp.MustCompile(`^[A-Z_]+$`)
	durable := regexp.MustCompile(`^[a-z][a-z-]+$`)
	bucket := regexp.MustCompile(`^[a-z_]+$`)
	command := regexp.MustCompile(`^[a-z]+(\.[a-z-]+)+$`)
	tests := []struct {
		name  string
		value string
		re    *regexp.Regexp
	}{
		{"SubjectOrdersVIP", SubjectOrdersVIP, subject},
		{"SubjectOrdersNormal", SubjectOrdersNormal, subject},
		{"SubjectPhase", SubjectPhase, subject},
		{"SubjectGenerate", SubjectGenerate, subject},
		{"SubjectCancel", SubjectCancel, subject},
		{"SubjectReset", SubjectReset, subject},
		{"SubjectPause", SubjectPause, subject},
		{"SubjectResume", SubjectResume, subject},
		{"SubjectRetryFailed", SubjectRetryFailed, command},
		{"SubjectClean", SubjectClean, subject},
		{"SubjectQuiesce", SubjectQuiesce, subject},
		{"SubjectProcessorStopped", SubjectProcessorStopped, subject},
		{"SubjectGeneratorStop", SubjectGeneratorStop, subject},
		{"StreamOrders", StreamOrders, stream},
		{"StreamControl", StreamControl, stream},
		{"StreamResults", StreamResults, stream},
		{"StreamGeneration", StreamGeneration, stream},
		{"SubjectGeneration", GenerationSubject("run"), subject},
		{"ConsumerGenerator", ConsumerGenerator, durable},
		{"SubjectResults", ResultSubject("run"), subject},
		{"ConsumerVIP", ConsumerVIP, durable},
		{"ConsumerNormal", ConsumerNormal, durable},
		{"BucketState", BucketState, bucket},
		{"KeyRun", KeyRun, bucket},
		{"KeyGeneration", KeyGeneration, bucket},
		{"KeyQueue", KeyQueue, bucket},
		{"KeyKept", KeyKept, bucket},
		{"BucketLeader", BucketLeader, bucket},
		{"KeyLeader", KeyLeader, bucket},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		if !tt.re.MatchString(tt.value) {
			t.Errorf("%s = %q does not match %s", tt.name, tt.value, tt.re)
		}
		if other, ok := seen[tt.value]; ok {
			t.Errorf("%s and %s are both %q", tt.name, other, tt.value)
		}
		seen[tt.value] = tt.name
	}
}

func TestOrderRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tier     Tier
		priority Priority
		subject  string
		consumer string
	}{
		{TierBronze, PriorityNormal, SubjectOrdersNormal, ConsumerNormal},
		{TierPrata, PriorityNormal, SubjectOrdersNormal, ConsumerNormal},
		{TierOuro, PriorityNormal, SubjectOrdersNormal, ConsumerNormal},
		{TierDiamante, PriorityVIP, SubjectOrdersVIP, ConsumerVIP},
	}
	for _, tt := range tests {
		p := tt.tier.Priority()
		if p != tt.priority {
			t.Errorf("%s.Priority() = %s, want %s", tt.tier, p, tt.priority)
		}
		if got := OrderSubject(p); got != tt.subject {
			t.Errorf("OrderSubject(%s) = %s, want %s", p, got, tt.subject)
		}
		if got := OrderConsumer(p); got != tt.consumer {
			t.Errorf("OrderConsumer(%s) = %s, want %s", p, got, tt.consumer)
		}
	}
}

func TestRetryMsgID(t *testing.T) {
	t.Parallel()
	id := "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	retry := RetryMsgID(id, time.UnixMilli(1_700_000_000_000))
	if retry == id || OrderIDOf(retry) != id || OrderIDOf(id) != id {
		t.Errorf("RetryMsgID = %q, OrderIDOf it = %q, OrderIDOf(id) = %q", retry, OrderIDOf(retry), OrderIDOf(id))
	}
}
