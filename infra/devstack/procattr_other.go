//go:build !linux

package devstack

import "syscall"

// childProcAttr returns nil: outside Linux there is no Pdeathsig, so a child
// outlives a parent that is killed without running Close.
func childProcAttr() *syscall.SysProcAttr {
	return nil
}
