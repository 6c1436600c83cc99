package pedidos

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// TestMain skips this package under -short (make test-short): every test
// here starts the whole stack and runs orders through it. make test runs
// them all.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("infra/pedidos: end-to-end tests skipped under -short; make test runs them")
		os.Exit(0)
	}
	os.Exit(m.Run())
}
