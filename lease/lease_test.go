package lease_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/lease"
)

func TestSelfIsAlive(t *testing.T) {
	self := lease.Self()
	host, _ := os.Hostname()
	if !strings.HasPrefix(self, host+":") || lease.Gone(self) {
		t.Fatalf("Self() = %q, Gone = %v", self, lease.Gone(self))
	}
}

// A process that has exited is gone; other hosts and malformed owners never are.
func TestGone(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead := host + ":" + strconv.Itoa(cmd.Process.Pid) + ":1"
	if !lease.Gone(dead) {
		t.Fatalf("an exited process %s is not gone", dead)
	}
	for _, owner := range []string{"other-host:1:1", "garbage", "", host + ":x:1"} {
		if lease.Gone(owner) {
			t.Errorf("Gone(%q) = true", owner)
		}
	}
	// Our own pid with another start time is a recycled pid: gone.
	parts := strings.Split(lease.Self(), ":")
	if parts[2] != "" && !lease.Gone(parts[0]+":"+parts[1]+":not-"+parts[2]) {
		t.Error("a holder whose pid was reused is not gone")
	}
}
