//go:build !pedidosbench

package processor

// benchDiscardWrites is false outside benchmark builds, whatever the
// environment says.
func benchDiscardWrites(func(string) string) bool { return false }
