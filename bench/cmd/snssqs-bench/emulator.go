package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// emulatorPackage is the standalone emulator command built and started as a
// separate process, so its CPU is measured apart from the client's.
const emulatorPackage = "github.com/snssqs/snssqs/cmd/snssqs-emulator"

// listenPrefix starts the line the emulator prints once it listens.
const listenPrefix = "snssqs-emulator listening on "

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/PID/stat; it is 100 on every Linux architecture Go supports.
const clockTicksPerSecond = 100

// emulatorProcess is a running cmd/snssqs-emulator.
type emulatorProcess struct {
	cmd     *exec.Cmd
	url     string
	waitErr chan error
}

// buildEmulator compiles the emulator command into dir and returns the
// binary's path. It runs `go build` from the current directory, which must
// be inside the bench module (its replace directive points at the library).
func buildEmulator(ctx context.Context, dir string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "snssqs-emulator")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, emulatorPackage)
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", emulatorPackage, err)
	}
	return bin, nil
}

// startEmulator starts the emulator binary on a free loopback port (it picks
// one itself with -addr 127.0.0.1:0), waits for the line announcing its
// address and for its health endpoint to answer.
func startEmulator(ctx context.Context, bin string, extraArgs []string, log io.Writer) (*emulatorProcess, error) {
	args := append([]string{"-addr", "127.0.0.1:0"}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("emulator stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &emulatorProcess{cmd: cmd, waitErr: make(chan error, 1)}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, listenPrefix); i >= 0 && !sent {
				urlCh <- strings.TrimSpace(line[i+len(listenPrefix):])
				sent = true
				continue
			}
			fmt.Fprintln(log, "emulator:", line)
		}
		// Drain so the emulator never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
		e.waitErr <- cmd.Wait()
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case e.url = <-urlCh:
	case err := <-e.waitErr:
		return nil, fmt.Errorf("emulator exited before listening: %v", err)
	case <-timeout.C:
		e.stop()
		return nil, errors.New("emulator did not print its address within 30s")
	case <-ctx.Done():
		e.stop()
		return nil, ctx.Err()
	}
	if err := waitHealthy(ctx, newAdminClient(e.url), 30*time.Second); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// cpuTime returns the emulator's user+system CPU time so far.
func (e *emulatorProcess) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read emulator stat: %w", err)
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU returns utime+stime from the text of /proc/PID/stat. The
// command name (field 2) may contain spaces and parentheses, so fields are
// counted after its closing parenthesis: utime and stime are fields 14 and 15.
func parseProcStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("malformed /proc stat: %d fields after comm", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicksPerSecond, nil
}

// stop ends the emulator: SIGTERM first (so it can flush a CPU profile),
// SIGKILL if it has not exited within 10 s.
func (e *emulatorProcess) stop() {
	if e == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-e.waitErr:
	case <-t.C:
		_ = e.cmd.Process.Kill()
		<-e.waitErr
	}
}
