package devstack

import "syscall"

// childProcAttr puts a child process in its own process group, so that a
// Ctrl-C in the terminal reaches only the parent, which then stops the child
// in order; and has the kernel SIGKILL the child if the parent dies first,
// even of a SIGKILL.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
