package smtp_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/modelgatetest"
	"github.com/modelgate/modelgate/smtp"
)

// TestNotifierConformance runs the notifier suite against the real SMTP
// server (aiosmtpd): its mailsink answers 451 to tempfail@ and 550 to
// reject@ recipients, so those make the receiver fail.
func TestNotifierConformance(t *testing.T) {
	s := startServer(t, serverOptions{})
	modelgatetest.TestNotifier(t, func(t *testing.T, b modelgatetest.ReceiverBehaviour, timeout time.Duration) modelgatetest.NotifierSubject {
		o := smtp.Options{Addr: s.Addr, From: "modelgate@example.com", To: []string{"ml-ops@example.com"}, Timeout: timeout}
		switch b {
		case modelgatetest.ReceiverFailsTemporarily:
			o.To = append(o.To, "tempfail@example.com")
		case modelgatetest.ReceiverFailsPermanently:
			o.To = append(o.To, "reject@example.com")
		case modelgatetest.ReceiverHangs:
			o.Addr = silentServer(t)
		case modelgatetest.ReceiverUnreachable:
			o.Addr = freeAddr(t)
		}
		seen := len(s.messages(t))
		return modelgatetest.NotifierSubject{Notifier: mustNew(t, o), Received: func(t *testing.T) []modelgatetest.Delivery {
			return deliveries(t, s.messages(t)[seen:])
		}}
	})
}

// deliveries decodes messages as a mail reader shows them: the subject, and
// the body with plain line ends.
func deliveries(t *testing.T, msgs []received) []modelgatetest.Delivery {
	t.Helper()
	out := make([]modelgatetest.Delivery, len(msgs))
	for i, m := range msgs {
		msg, body := parse(t, m.Content)
		out[i] = modelgatetest.Delivery{Title: decodeHeader(t, msg.Header.Get("Subject")), Text: strings.ReplaceAll(body, "\r\n", "\n")}
	}
	return out
}

// silentServer returns the address of a server that accepts connections
// and never greets, until t ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepting sync.WaitGroup
	var conns []net.Conn // touched by the accepting goroutine only, until it ends
	t.Cleanup(func() {
		l.Close()
		accepting.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	accepting.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	return l.Addr().String()
}
