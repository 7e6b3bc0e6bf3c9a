package audit_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/modelgate/modelgate"
	"github.com/modelgate/modelgate/audit"
)

// Two goroutines, each with its own Log on the same file, and a third Log
// shared by two more: the flock and the mutex keep one valid chain.
func TestAppend_ConcurrentGoroutines(t *testing.T) {
	path, _ := mustTrailWith(t, 0, nil)
	shared, _ := audit.Open(path)
	shared.Key = keyA
	logs := []*audit.Log{shared, shared}
	for i := 0; i < 2; i++ {
		l, _ := audit.Open(path)
		l.Key = keyA
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(logs))
	for w, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- appendN(l, w, 25)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if r := mustCheck(t, path, keys(keyA)); r.Entries != 100 {
		t.Fatalf("report %+v, want 100 entries", r)
	}
}

func appendN(l *audit.Log, writer, n int) error {
	for i := 0; i < n; i++ {
		e := modelgate.AuditEntry{Actor: fmt.Sprint("writer-", writer), Action: "step.done", Outcome: "ok", Version: fmt.Sprint(i)}
		if _, err := l.Append(context.Background(), e); err != nil {
			return err
		}
	}
	return nil
}

// Two processes append to the same keyed trail at once.
func TestAppend_ConcurrentProcesses(t *testing.T) {
	path, _ := mustTrailWith(t, 0, nil)
	var cmds []*exec.Cmd
	for w := 0; w < 2; w++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AUDIT_TEST_APPENDER="+path, "AUDIT_TEST_WRITER="+strconv.Itoa(w))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("appender process: %v", err)
		}
	}
	if r := mustCheck(t, path, keys(keyA)); r.Entries != 100 {
		t.Fatalf("report %+v, want 100 entries", r)
	}
}

// TestHelperAppender is the body of the appender processes above.
func TestHelperAppender(t *testing.T) {
	path := os.Getenv("AUDIT_TEST_APPENDER")
	if path == "" {
		t.Skip("run by TestAppend_ConcurrentProcesses")
	}
	w, _ := strconv.Atoi(os.Getenv("AUDIT_TEST_WRITER"))
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Key = keyA
	if err := appendN(l, w, 50); err != nil {
		t.Fatal(err)
	}
}
